import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { ROOT, runCli } from './support/cli.js';
import { TestRedis, uniquePrefix, useRehearsal } from './support/redis.js';
import { spawnCli } from './support/spawn.js';

/**
 * `--metrics`: a parity run against the simulator (speed 20) serves /metrics; the test
 * scrapes it over real HTTP, parses the text exposition format strictly, and checks the
 * numbers against the run's own --json report (scraped during --metrics-hold, when they
 * are final).
 */

const SPEED = 20;
let CWD: string;
let redis: TestRedis;
let client: Redis;
let sim: Simulator;

useRehearsal((cwd) => startSimulator({ config: loadConfig({ cwd, env: {} }), port: 0, speed: SPEED, seed: 3, token: null, log: () => undefined }), (r) => ({ redis, client, sim, cwd: CWD } = r));

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Family { name: string; type: string; help: string; samples: Sample[] }

/**
 * The Prometheus text format (version 0.0.4), strictly: HELP and TYPE before a family's
 * samples, names and labels by the spec's grammar, escaped label values, numeric values;
 * histogram buckets cumulative, ending in +Inf equal to _count.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${NAME})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*",?)*)\\})? (\\S+)$`);
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    if (m) { families.set(m[1]!, { name: m[1]!, type: '', help: m[2]!, samples: [] }); continue; }
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m) { expect(families.get(m[1]!), `HELP before TYPE for ${m[1]}`).toBeDefined(); families.get(m[1]!)!.type = m[2]!; continue; }
    expect(line.startsWith('#'), `unknown comment: ${line}`).toBe(false);
    m = sampleRe.exec(line);
    expect(m, `not a sample line: ${line}`).not.toBeNull();
    const [, name, labelText, raw] = m!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    expect(Number.isNaN(value) && raw !== 'NaN', `value of ${line}`).toBe(false);
    const labels: Record<string, string> = {};
    for (const l of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    const family = families.get(name!) ?? families.get(name!.replace(/_(bucket|sum|count)$/, ''));
    expect(family, `sample before its HELP/TYPE: ${line}`).toBeDefined();
    expect(family!.type).not.toBe('');
    if (family!.name !== name) expect(family!.type).toBe('histogram');
    family!.samples.push({ name: name!, labels, value });
  }
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of f.samples.filter((x) => x.name.endsWith('_bucket'))) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
      expect(les).toEqual([...les].sort((a, b) => a - b));
      expect(les.at(-1)).toBe(Infinity);
      const counts = buckets.map((b) => b.value);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      const count = f.samples.find((x) => x.name === `${f.name}_count` && JSON.stringify(x.labels) === key);
      expect(count?.value).toBe(counts.at(-1));
    }
  }
  return families;
}

function value(f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = f.get(name) ?? f.get(name.replace(/_(bucket|sum|count)$/, ''));
  return family?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function scrape(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('--metrics on parity', () => {
  it('serves /metrics while it runs and, held, the final numbers; they parse and match the --json report', async () => {
    const p = uniquePrefix('metrics');
    await client.hset(`${p}:flags`, 'account_balance', 'true');
    await client.lpush(`${p}:verify:account_balance`, JSON.stringify({ verdict: 'fail', finishedAt: new Date().toISOString(), sessions: 1 }));
    const run = spawnCli([
      'parity', 'account_balance', 'positions', '--url', sim.url, '--speed', String(SPEED), '--duration', '3s', '--json',
      '--metrics', '0', '--metrics-hold', '5s',
    ], { env: { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: p }, cwd: CWD });

    await run.waitStderr(/metrics: serving (\S+)/);
    const url = /metrics: serving (\S+)/.exec(run.stderr())![1]!;
    // A bare port binds 127.0.0.1, never every interface.
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const live = await scrape(url);
    expect(live.status).toBe(200);
    expect(live.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    parseExposition(live.body);
    expect((await scrape(url.replace('/metrics', '/'))).status).toBe(404);

    await run.waitStderr(/metrics: holding the final numbers/, 15_000);
    const final = await scrape(url);
    const r = await run.done;
    const report = JSON.parse(r.stdout) as {
      exitCode: number; findings: { message: string }[];
      features: { name: string; ws: { messages: number }; rest: { polls: number; errors: number }; match: { compared: number; mismatched: number; unmatchedByReason: Record<string, number> }; interval: { count: number; late: number; missedBeats: number; histogram: { boundsMs: number[]; cumulative: number[]; sumMs: number } } }[];
      connection: { reconnects: number; url: string }; sessionsCompleted: number;
    };
    expect(r.code, report.findings.map((x) => x.message).join('\n')).toBe(0);
    const m = parseExposition(final.body);
    expect(m.get('thor_cutover_ws_messages_total')!.type).toBe('counter');
    expect(m.get('thor_cutover_ws_interarrival_seconds')!.type).toBe('histogram');
    for (const f of report.features) {
      const feature = { feature: f.name };
      expect(f.ws.messages).toBeGreaterThan(0);
      expect(value(m, 'thor_cutover_ws_messages_total', feature)).toBe(f.ws.messages);
      expect(value(m, 'thor_cutover_rest_polls_total', feature)).toBe(f.rest.polls);
      expect(value(m, 'thor_cutover_rest_errors_total', feature)).toBe(f.rest.errors);
      expect(value(m, 'thor_cutover_compared_total', feature)).toBe(f.match.compared);
      expect(value(m, 'thor_cutover_mismatches_total', feature)).toBe(f.match.mismatched);
      for (const [reason, n] of Object.entries(f.match.unmatchedByReason)) expect(value(m, 'thor_cutover_skipped_states_total', { ...feature, reason })).toBe(n);
      expect(value(m, 'thor_cutover_ws_late_total', feature)).toBe(f.interval.late);
      expect(value(m, 'thor_cutover_ws_missed_beats_total', feature)).toBe(f.interval.missedBeats);
      // The histogram is the engine's own: same count, same buckets, in seconds.
      expect(value(m, 'thor_cutover_ws_interarrival_seconds_count', feature)).toBe(f.interval.count);
      expect(value(m, 'thor_cutover_ws_interarrival_seconds_sum', feature)).toBeCloseTo(f.interval.histogram.sumMs / 1000, 6);
      f.interval.histogram.boundsMs.forEach((b, i) => {
        expect(value(m, 'thor_cutover_ws_interarrival_seconds_bucket', { ...feature, le: String(b / 1000) })).toBe(f.interval.histogram.cumulative[i]);
      });
      expect(value(m, 'thor_cutover_ws_expected_interval_seconds', feature)).toBe(10 / SPEED);
    }
    expect(value(m, 'thor_cutover_ws_reconnects_total')).toBe(report.connection.reconnects);
    expect(value(m, 'thor_cutover_sessions_completed_total')).toBe(report.sessionsCompleted);
    expect(value(m, 'thor_cutover_run_info', { command: 'parity', url: report.connection.url })).toBe(1);
    // From the store: the effective flag and the last recorded verdict.
    expect(value(m, 'thor_cutover_store_up')).toBe(1);
    expect(value(m, 'thor_cutover_flag_enabled', { feature: 'account_balance', source: 'redis' })).toBe(1);
    expect(value(m, 'thor_cutover_flag_enabled', { feature: 'positions', source: 'default' })).toBe(0);
    expect(value(m, 'thor_cutover_verify_last_verdict', { feature: 'account_balance', verdict: 'fail' })).toBe(1);
    expect(value(m, 'thor_cutover_verify_last_verdict', { feature: 'account_balance', verdict: 'pass' })).toBe(0);
    // The simulator's heartbeat carries the flags as it sees them (its own in-process store: all off).
    expect(value(m, 'thor_cutover_backend_flag_enabled', { feature: 'positions' })).toBe(0);
    // The sample Grafana dashboard asks only for metrics that exist.
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'samples', 'grafana', 'thor-cutover.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const used = new Set(dashboard.panels.flatMap((x) => x.targets.flatMap((t) => [...t.expr.matchAll(/thor_cutover_[a-z_]+/g)].map((n) => n[0].replace(/_(bucket|sum|count)$/, '')))));
    expect(used.size).toBeGreaterThanOrEqual(15);
    for (const name of used) expect(m.has(name), name).toBe(true);
  }, 40_000);

  it('verify serves them too: run info, session counters, the stream numbers', async () => {
    const p = uniquePrefix('metrics-verify');
    const args = ['verify', 'account_balance', '--shadow', '--url', sim.url, '--speed', String(SPEED), '--session-length', '40s', '--sessions', '1', '--json', '--metrics', '127.0.0.1:0', '--metrics-hold', '5s'];
    const env = { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: p };
    const run = spawnCli(args, { env, cwd: CWD });
    await run.waitStderr(/metrics: holding the final numbers/, 20_000);
    const url = /metrics: serving (\S+)/.exec(run.stderr())![1]!;
    const m = parseExposition((await scrape(url)).body);
    const r = await run.done;
    const report = JSON.parse(r.stdout) as { sessionsCompleted: number; connection: { messages: number; reconnects: number }; wsUrl: string };
    expect(value(m, 'thor_cutover_run_info', { command: 'verify', url: report.wsUrl })).toBe(1);
    expect(value(m, 'thor_cutover_sessions_completed_total')).toBe(report.sessionsCompleted);
    expect(value(m, 'thor_cutover_ws_reconnects_total')).toBe(report.connection.reconnects);
    // Fixed windows are back to back: as the first closes, the next is open.
    expect(value(m, 'thor_cutover_session_open')).toBe(1);
    expect(value(m, 'thor_cutover_ws_messages_total', { feature: 'account_balance' })).toBeGreaterThan(0);
  }, 40_000);

  it('bad --metrics values and a port in use: exit 2 with a hint, before anything runs', async () => {
    const bad = await runCli(['parity', '--url', sim.url, '--metrics', 'localhost:http']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: --metrics takes host:port or a port, such as 127.0.0.1:9464, got "localhost:http"');
    const busy = createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await runCli(['parity', '--url', sim.url, '--speed', String(SPEED), '--duration', '1s', '--metrics', `127.0.0.1:${port}`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error: --metrics 127.0.0.1:${port}: the port is in use`);
      expect(r.stderr).toContain('hint: pick another port, or 0 for any free one');
    } finally {
      busy.close();
    }
  });
});
