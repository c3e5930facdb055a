import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import type { Config } from '../src/config/types.js';
import { openStore } from '../src/store/index.js';
import { TestRedis, uniquePrefix } from './support/redis.js';
import { ROOT, runCli } from './support/cli.js';

/** Fixture folders (test/fixtures/init/<name>) copied to a temp dir per test: init writes into them. */
const FIXTURES = join(ROOT, 'test', 'fixtures', 'init');
const BASE = mkdtempSync(join(tmpdir(), 'thor-init-test-'));
afterAll(() => rmSync(BASE, { recursive: true, force: true }));

let n = 0;
function copy(name: string, from = join(FIXTURES, name)): string {
  const dir = join(BASE, `${name}-${n++}`);
  cpSync(from, dir, { recursive: true });
  return dir;
}

interface Change { path: string; from: unknown; to: unknown; source: string; kept: boolean }
interface Problem { rule: string; feature: string | null; message: string; file: string | null; line: number | null }
interface Report {
  kind: string; mode: string; out: string; written: boolean; changes: Change[]; problems: Problem[];
  questions: { feature: string | null; question: string; candidates: string[] }[];
  config: Record<string, unknown> | null; exitCode: number;
}

async function init(dir: string, args: string[] = []) {
  const r = await runCli(['init', '--json', '--path', dir, ...args], { cwd: dir });
  let report: Report;
  try { report = JSON.parse(r.stdout) as Report; } catch { throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`); }
  return { ...r, report };
}

const changes = (r: Report) => Object.fromEntries(r.changes.map((c) => [c.path, { to: c.to, source: c.source.split(' ')[0], kept: c.kept }]));

/** A Redis and a simulator configured with the config file init wrote; `common` are the CLI flags that reach them. */
async function withSimulator(dir: string, file: string, seed: number, run: (config: Config, common: string[], sim: Simulator) => Promise<void>): Promise<void> {
  const redis = await new TestRedis().start();
  const prefix = uniquePrefix('init');
  const config = loadConfig({ cwd: dir, env: {}, configPath: file, redisUrl: redis.url, prefix });
  const store = await openStore(config, { oneShot: false });
  const sim = await startSimulator({ config, port: 0, speed: 10, seed, store, env: {}, log: () => undefined });
  try {
    await run(config, ['--url', sim.url, '--speed', '10', '--config', file, '--redis', redis.url, '--prefix', prefix], sim);
  } finally {
    await sim.close();
    await store.close();
    await redis.dispose();
  }
}

describe('init: the cutover map read from the code', () => {
  it('--dry-run on a backend in the real shapes: the include()-mounted route with its view, the renamed WS type, the timer interval, each with file:line; nothing written', async () => {
    const dir = copy('renamed');
    const r = await init(dir, ['--dry-run']);
    expect(r.code).toBe(0);
    expect(r.report.written).toBe(false);
    expect(existsSync(join(dir, 'thor-cutover.config.json'))).toBe(false);
    expect(changes(r.report)).toEqual({
      'features.account_balance.wsTypes': { to: ['balances'], source: 'GlobalMarkets/services/broadcast.py:17', kept: false },
      'features.positions.restPath': { to: '/api/actandpos/positions', source: 'ActAndPos/urls.py:6', kept: false },
      'features.positions.legacy.routes': { to: ['api/actandpos/positions'], source: 'ActAndPos/urls.py:6', kept: false },
      'features.positions.legacy.views': { to: ['positions_view'], source: 'ActAndPos/views.py:8', kept: false },
      'features.account_balance.fieldMap': { to: { portfolio_value: 'portfolio_val' }, source: 'GlobalMarkets/services/broadcast.py:17', kept: false },
      // What the REST body carries, in REST names: every WS message must carry it (under its WS name).
      'features.account_balance.requiredFields': { to: ['account_id', 'cash', 'portfolio_val'], source: 'ThorTrading/views.py:7', kept: false },
      'features.positions.requiredFields': { to: ['positions'], source: 'ActAndPos/views.py:9', kept: false },
      'features.intraday.interval': { to: '5s', source: 'ThorTrading/stack_start.py:9', kept: false },
    });
    // What it cannot map is asked, not guessed.
    expect(r.report.questions.map((q) => q.question)).toEqual([expect.stringMatching(/"subscribed" that no feature carries/)]);
    const human = await runCli(['init', '--path', dir, '--dry-run', '--explain'], { cwd: dir });
    expect(human.stdout).toContain('restPath      /api/actandpos/positions  would set');
    expect(human.stdout).toContain('ActAndPos/urls.py:6: found: the one route ending in "positions"');
    expect(human.stdout).toContain('dry run: ');
  });

  it('writes the config; init --check then fails on exactly the missing handler (1011), with file:line and SARIF; adding the handler makes it pass', async () => {
    const dir = copy('renamed');
    const before = await init(dir, ['--check', '--client-driven', 'subscribe']);
    expect(before.code).toBe(1);
    expect(before.report.problems.map((p) => `${p.rule} ${p.feature ?? '-'} ${p.file}:${p.line}`).sort()).toEqual([
      'interval-mismatch intraday ThorTrading/stack_start.py:9',
      'missing-handler - GlobalMarkets/services/broadcast.py:30',
      'missing-ws-type account_balance GlobalMarkets/services/broadcast.py:17',
      'renamed-field account_balance GlobalMarkets/services/broadcast.py:17',
      'unrouted-feature positions ActAndPos/urls.py:6',
    ]);
    expect(before.report.problems.find((p) => p.rule === 'renamed-field')!.message).toMatch(/the WS payload calls "portfolio_value" what the REST body calls "portfolio_val"/);

    const written = await init(dir);
    expect(written.code).toBe(0);
    expect(written.report.written).toBe(true);
    const cfg = JSON.parse(readFileSync(join(dir, 'thor-cutover.config.json'), 'utf8'));
    expect(cfg.features.positions.restPath).toBe('/api/actandpos/positions');
    expect(cfg.features.account_balance.fieldMap).toEqual({ portfolio_value: 'portfolio_val' });

    const sarif = join(BASE, `init-${n++}.sarif`);
    const after = await init(dir, ['--check', '--client-driven', 'subscribe', '--sarif', sarif]);
    expect(after.report.problems).toEqual([expect.objectContaining({ rule: 'missing-handler', file: 'GlobalMarkets/services/broadcast.py', line: 30 })]);
    expect(after.report.problems[0]!.message).toMatch(/"positions\.update" is sent .* no consumer has a positions_update\(self, event\) method: Channels closes every socket that receives it with 1011/);
    expect(after.code).toBe(1);
    const run = JSON.parse(readFileSync(sarif, 'utf8')).runs[0];
    expect(run.results).toHaveLength(1);
    expect(run.results[0]).toMatchObject({ ruleId: 'thor-cutover/init/missing-handler', level: 'error' });
    expect(run.results[0].locations[0].physicalLocation.region.startLine).toBe(30);

    // Without --client-driven, the handler nothing sends is reported too.
    const strict = await init(dir, ['--check']);
    expect(strict.report.problems.map((p) => p.rule).sort()).toEqual(['missing-handler', 'unused-handler']);
    // The config can say so once (backend.clientDriven) instead of every CI step saying --client-driven.
    const cfgFile = join(dir, 'thor-cutover.config.json');
    writeFileSync(cfgFile, JSON.stringify({ ...cfg, backend: { clientDriven: ['subscribe'] } }, null, 2));
    const configured = await init(dir, ['--check']);
    expect(configured.report.problems.map((p) => p.rule)).toEqual(['missing-handler']);

    const consumer = join(dir, 'GlobalMarkets', 'consumers.py');
    writeFileSync(consumer, readFileSync(consumer, 'utf8') + '\n    async def positions_update(self, event):\n        await self.send_json(event["message"])\n');
    const fixed = await runCli(['init', '--path', dir, '--check', '--client-driven', 'subscribe'], { cwd: dir });
    expect(fixed.stdout).toContain('✔ the config matches the code, and every broadcast type has a handler');
    expect(fixed.code).toBe(0);
  });

  it('the config it writes drives doctor, parity and verify: against a simulator configured the same way (renamed type, include()-mounted path, 5 s timer), all pass', async () => {
    const dir = copy('renamed');
    expect((await init(dir)).report.written).toBe(true);
    await withSimulator(dir, join(dir, 'thor-cutover.config.json'), 5, async (config, common) => {
      expect(config.features.find((f) => f.name === 'positions')!.restPath).toBe('/api/actandpos/positions');
      const doctor = await runCli(['doctor', ...common, '--timeout', '5s'], { cwd: dir, timeoutMs: 30_000 });
      expect(doctor.code, doctor.stdout).toBe(0);
      const parity = await runCli(['parity', ...common, '--duration', '3s', '--jitter', '150ms', '--json'], { cwd: dir, timeoutMs: 30_000 });
      expect(parity.code, parity.stderr).toBe(0);
      const doc = JSON.parse(parity.stdout) as { ok: boolean; features: { name: string; wsTypes: string[]; expectedIntervalMs: number; rest: { ok: number; errors: number }; match: { compared: number } }[] };
      const by = Object.fromEntries(doc.features.map((f) => [f.name, f]));
      expect(by.account_balance!.wsTypes).toEqual(['balances']);
      expect(by.account_balance!.match.compared).toBeGreaterThan(0);
      // REST answered on the include()-mounted path the config now names.
      expect(by.positions!.rest).toMatchObject({ errors: 0 });
      expect(by.positions!.rest.ok).toBeGreaterThan(0);
      expect(by.intraday!.expectedIntervalMs).toBe(500); // 5 s at --speed 10
      const verify = await runCli(['verify', '--shadow', '--session-length', '30s', ...common], { cwd: dir, timeoutMs: 60_000 });
      expect(verify.code, verify.stdout).toBe(0);
    });
  }, 90_000);

  it('an existing config is merged: its own values and other keys kept (reported), --force takes the code\'s', async () => {
    const dir = copy('renamed');
    const file = join(dir, 'thor-cutover.config.json');
    writeFileSync(file, JSON.stringify({ audit: { docs: 'fail' }, features: { positions: { restPath: '/api/positions/', legacy: { patterns: ['pollPositions'] } } } }, null, 2));
    const r = await init(dir);
    expect(r.code).toBe(0);
    expect(changes(r.report)['features.positions.restPath']).toMatchObject({ kept: true });
    const merged = JSON.parse(readFileSync(file, 'utf8'));
    expect(merged.audit).toEqual({ docs: 'fail' });
    expect(merged.features.positions.restPath).toBe('/api/positions/');
    expect(merged.features.positions.legacy.patterns).toEqual(['pollPositions']);
    expect(merged.features.account_balance.wsTypes).toEqual(['balances']);
    const forced = await init(dir, ['--force']);
    expect(forced.report.written).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).features.positions.restPath).toBe('/api/actandpos/positions');
  });

  it('the sample backend: the heartbeat nothing handles (1011) and the field its serializer renames; init finds the view named positions_view and the rename', async () => {
    const dir = copy('sample', join(ROOT, 'samples', 'thor-backend'));
    const check = await init(dir, ['--check', '--config', join(dir, 'thor-cutover.config.json')]);
    expect(check.report.problems.map((p) => `${p.rule} ${p.file}:${p.line}`)).toEqual([
      'missing-handler GlobalMarkets/services/websocket_broadcast.py:44',
      'renamed-field GlobalMarkets/services/payloads.py:6',
    ]);
    expect(check.code).toBe(1);
    const dry = await init(dir, ['--dry-run', '--config', join(dir, 'thor-cutover.config.json')]);
    expect(changes(dry.report)).toEqual({
      // REST: the DRF serializer's Meta.fields; WS: the dataclass the message builder turns into a dict.
      'features.account_balance.fieldMap': { to: { portfolio_value: 'portfolio_val' }, source: 'GlobalMarkets/services/payloads.py:6', kept: false },
      'features.account_balance.requiredFields': { to: ['account_id', 'cash', 'portfolio_val', 'buying_power', 'timestamp'], source: 'ThorTrading/serializers.py:6', kept: false },
      'features.positions.legacy.views': { to: ['positions_view'], source: 'ActAndPos/views.py:9', kept: false },
    });
  });

  it('the config init writes for the sample backend drives doctor, parity and verify against a simulator configured the same way (the renamed field mapped)', async () => {
    const dir = copy('sample', join(ROOT, 'samples', 'thor-backend'));
    const file = join(dir, 'thor-cutover.config.json');
    expect((await init(dir, ['--config', file])).report.written).toBe(true);
    await withSimulator(dir, file, 7, async (config, common, sim) => {
      expect(config.features.find((f) => f.name === 'account_balance')!.fieldMap).toEqual({ portfolio_value: 'portfolio_val' });
      // The simulator's REST body spells it as the sample's serializer does.
      const body = await (await fetch(`${sim.url}/api/account/balance/`)).json() as Record<string, unknown>;
      expect(Object.keys(body)).toContain('portfolio_val');
      expect(Object.keys(body)).not.toContain('portfolio_value');
      const doctor = await runCli(['doctor', ...common, '--timeout', '5s'], { cwd: dir, timeoutMs: 30_000 });
      expect(doctor.code, doctor.stdout).toBe(0);
      const parity = await runCli(['parity', 'account_balance', ...common, '--duration', '3s', '--jitter', '150ms', '--json'], { cwd: dir, timeoutMs: 30_000 });
      expect(parity.code, parity.stderr).toBe(0);
      const doc = JSON.parse(parity.stdout) as { features: { name: string; match: { compared: number } }[] };
      expect(doc.features[0]!.match.compared).toBeGreaterThan(0);
      const verify = await runCli(['verify', 'account_balance', '--shadow', '--session-length', '30s', ...common], { cwd: dir, timeoutMs: 60_000 });
      expect(verify.code, verify.stdout).toBe(0);
    });
  }, 90_000);

  it('init --check: a REST field the WS payload never carries is reported at the payload, and only then', async () => {
    const dir = copy('renamed');
    expect((await init(dir)).report.written).toBe(true);
    const quiet = await init(dir, ['--check', '--client-driven', 'subscribe']);
    expect(quiet.report.problems.map((p) => p.rule)).toEqual(['missing-handler']);
    const views = join(dir, 'ThorTrading', 'views.py');
    writeFileSync(views, readFileSync(views, 'utf8').replace('"portfolio_val": 2}', '"portfolio_val": 2, "margin_used": 3}'));
    const lost = await init(dir, ['--check', '--client-driven', 'subscribe']);
    expect(lost.report.problems.map((p) => `${p.rule} ${p.feature ?? '-'} ${p.file}:${p.line}`).sort()).toEqual([
      'missing-field account_balance GlobalMarkets/services/broadcast.py:17',
      'missing-handler - GlobalMarkets/services/broadcast.py:30',
    ].sort());
    expect(lost.report.problems.find((p) => p.rule === 'missing-field')!.message).toMatch(/the REST body \(ThorTrading\/views\.py:7\) has "margin_used", which the WS payload .* never carries/);
  });

  it('a tree with nothing to find says so and exits 0, writing nothing; a tree that is not Django is exit 2', async () => {
    const empty = copy('empty');
    const r = await runCli(['init', '--path', empty], { cwd: empty });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing to find: no routes, WS messages or REST timers in this project; no config written');
    expect(existsSync(join(empty, 'thor-cutover.config.json'))).toBe(false);
    const notDjango = copy('not-django');
    const bad = await runCli(['init', '--path', notDjango], { cwd: notDjango });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/error: .* is not a Django project: no manage\.py, settings\.py, urls\.py or asgi\.py in it/);
    expect(bad.stderr).toMatch(/hint: give the folder that holds manage\.py/);
    const missing = await runCli(['init', '--path', join(BASE, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/error: --path .*nope: no such directory/);
    const sarifAlone = await runCli(['init', '--path', empty, '--sarif', join(BASE, 'x.sarif')]);
    expect(sarifAlone.code).toBe(2);
    expect(sarifAlone.stderr).toMatch(/--sarif goes with --check/);
  });
});
