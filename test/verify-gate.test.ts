import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { TestRedis, uniquePrefix, useTestRedis } from './support/redis.js';
import { runCli } from './support/cli.js';

/**
 * The enable gate: `enable` of a feature needs a passing verify of the feature before it in
 * the order, covering the required sessions, started after that feature was last enabled.
 * Records are written here as `verify` writes them; test/verify.test.ts has the real run.
 */

let redis: TestRedis;
let client: Redis;
useTestRedis((r, c) => { redis = r; client = c; });

function cli(prefix: string, args: string[], opts: { cwd?: string } = {}) {
  return runCli(args, { cwd: opts.cwd, env: { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: prefix, THOR_CUTOVER_ACTOR: 'tester' } });
}

async function record(prefix: string, feature: string, r: { verdict: string; sessions?: number; shadow?: boolean; startedAt?: string }) {
  const now = new Date().toISOString();
  await client.lpush(`${prefix}:verify:${feature}`, JSON.stringify({
    verdict: r.verdict, startedAt: r.startedAt ?? now, finishedAt: now, sessions: r.sessions ?? 1, shadow: r.shadow ?? false, runId: 'test',
  }));
}

function configDir(config: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'thor-gate-'));
  writeFileSync(join(dir, 'thor-cutover.config.json'), JSON.stringify(config));
  return dir;
}

async function lastAudit(prefix: string): Promise<Record<string, string>> {
  const [entry] = await client.xrevrange(`${prefix}:audit`, '+', '-', 'COUNT', 1);
  const f = entry![1];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < f.length; i += 2) out[f[i]!] = f[i + 1]!;
  return out;
}

describe('enable: the verify gate', () => {
  it('refuses the next feature while the previous one was never verified: exit 1, the command to run, nothing written', async () => {
    const p = uniquePrefix('gate');
    expect((await cli(p, ['enable', 'account_balance'])).code).toBe(0);
    const r = await cli(p, ['enable', 'positions']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: enable positions refused: account_balance \(before positions in the cutover order\) has no passing verify covering 1 session since it was enabled \(.*rev 1\); it was never verified$/m);
    expect(r.stderr).toContain('hint: thor-cutover verify account_balance --sessions 1, or pass --force');
    expect(await client.hget(`${p}:flags`, 'positions')).toBeNull();
    expect(await client.get(`${p}:rev`)).toBe('1');
    // for scripts: the same refusal as a JSON result with a stable code
    const j = await cli(p, ['enable', 'positions', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ kind: 'change', result: 'refused', refusal: { code: 'E_VERIFY_GATE' } });
  });

  it('a failing, a shadow, or a too-short verify does not open it; a passing one since the enable does', async () => {
    const p = uniquePrefix('gate-kinds');
    const dir = configDir({ verify: { requiredSessions: 2 } });
    expect((await cli(p, ['enable', 'account_balance'], { cwd: dir })).code).toBe(0);

    await record(p, 'account_balance', { verdict: 'fail', sessions: 2 });
    let r = await cli(p, ['enable', 'positions'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('covering 2 sessions');
    expect(r.stderr).toContain('its last verify: fail over 2 sessions');

    await record(p, 'account_balance', { verdict: 'pass', sessions: 2, shadow: true });
    expect((await cli(p, ['enable', 'positions'], { cwd: dir })).code).toBe(1);
    await record(p, 'account_balance', { verdict: 'pass', sessions: 1 });
    r = await cli(p, ['enable', 'positions'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('hint: thor-cutover verify account_balance --sessions 2');

    await record(p, 'account_balance', { verdict: 'pass', sessions: 2 });
    r = await cli(p, ['enable', 'positions'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(await lastAudit(p)).toMatchObject({ feature: 'positions', to: 'true', forced: 'false' });
  });

  it('a pass from before the last enable does not count: re-enabling needs a new verify', async () => {
    const p = uniquePrefix('gate-stale');
    const before = new Date(Date.now() - 60_000).toISOString();
    expect((await cli(p, ['enable', 'account_balance'])).code).toBe(0);
    await record(p, 'account_balance', { verdict: 'pass', startedAt: before });
    const r = await cli(p, ['enable', 'positions']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('its last verify: pass over 1 session');
  });

  it('--force goes through, says so, and is recorded as forced', async () => {
    const p = uniquePrefix('gate-force');
    expect((await cli(p, ['enable', 'account_balance'])).code).toBe(0);
    const r = await cli(p, ['enable', 'positions', '--force', '--reason', 'verified by hand']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: forced past the verify gate: account_balance (before positions in the cutover order) has no passing verify');
    expect(await lastAudit(p)).toMatchObject({ feature: 'positions', to: 'true', forced: 'true', reason: 'verified by hand' });
  });

  it('the first feature has no gate; a config with verify.gate false turns it off; the order guard still speaks first', async () => {
    const p = uniquePrefix('gate-off');
    const order = await cli(p, ['enable', 'positions']);
    expect(order.code).toBe(1);
    expect(order.stderr).toContain('account_balance comes earlier in the cutover order and is still off');
    expect((await cli(p, ['enable', 'account_balance'])).code).toBe(0);
    const dir = configDir({ verify: { gate: false } });
    expect((await cli(p, ['enable', 'positions'], { cwd: dir })).code).toBe(0);
  });

  it('a bad verify section in the config is a config error (exit 2) naming the field', async () => {
    const dir = configDir({ verify: { requiredSessions: 0, gates: true } });
    const r = await cli(uniquePrefix('gate-cfg'), ['enable', 'positions'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('location: verify.requiredSessions, expected: number >= 1');
    expect(r.stderr).toContain('location: verify.gates');
  });
});
