import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load.js';
import { parseFault, startSimulator, type Simulator } from '../src/sim/index.js';
import { runCli } from './support/cli.js';
import { TestRedis, uniquePrefix, useRehearsal } from './support/redis.js';

/**
 * `gate`: the CI step that reads the sessions `verify` recorded, since the feature was last
 * enabled, and answers at once. Real verify runs against the simulator at speed 20 (4.5 s
 * sessions after a 3 s close) write the records; a fault injected at run time makes a
 * session fail.
 */

const SPEED = 20;
let CWD: string;
let redis: TestRedis;
let client: Redis;
let sim: Simulator;

useRehearsal((cwd) => startSimulator({
    config: loadConfig({ cwd, env: {} }), port: 0, speed: SPEED, seed: 7, token: null,
    sessionOpenMs: 90_000, sessionClosedMs: 60_000, log: () => undefined,
  }), (r) => ({ redis, client, sim, cwd: CWD } = r));

const env = (prefix: string) => ({ THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: prefix, THOR_CUTOVER_ACTOR: 'ci' });
const cli = (prefix: string, args: string[], timeoutMs?: number) => runCli(args, { env: env(prefix), cwd: CWD, timeoutMs });
const verify = (prefix: string, sessions: number) =>
  cli(prefix, ['verify', 'account_balance', '--url', sim.url, '--speed', String(SPEED), '--sessions', String(sessions), '--json'], 40_000);

interface GateDoc {
  schemaVersion: number; kind: string; feature: string; verdict: string; exitCode: number; reason: string;
  sessionsRequired: number; sessionsRecorded: number; since: { at: string; rev: number } | null;
  sessions: { label: string; verdict: string; runId: string; problems: string[] }[];
  failed: { label: string; runId: string; problems: string[] }[];
}

async function gate(prefix: string, args: string[] = []): Promise<{ code: number | null; doc: GateDoc; stderr: string }> {
  const r = await cli(prefix, ['gate', 'account_balance', '--json', ...args]);
  return { code: r.code, doc: JSON.parse(r.stdout) as GateDoc, stderr: r.stderr };
}

describe('gate: 3, then 0, then 1, from the sessions verify recorded', () => {
  it('inconclusive with too few sessions, pass after a passing run, fail (which and why) after a failing session; enable reads the same', async () => {
    const p = uniquePrefix('gate');
    expect((await cli(p, ['enable', 'account_balance'])).code).toBe(0);

    // Nothing recorded yet: 3, never a pass.
    let g = await gate(p, ['--sessions', '2']);
    expect(g.code).toBe(3);
    expect(g.doc).toMatchObject({ schemaVersion: 1, kind: 'gate', feature: 'account_balance', verdict: 'inconclusive', exitCode: 3, sessionsRequired: 2, sessionsRecorded: 0, since: { rev: 1 } });
    expect(g.doc.reason).toMatch(/^0 sessions of account_balance recorded since it was enabled \(\S+, rev 1\), 2 needed$/);

    // One verify run over 2 sessions, both pass: the gate opens.
    const v1 = await verify(p, 2);
    expect(v1.code).toBe(0);
    const run1 = JSON.parse(v1.stdout) as { runId: string; sessions: { label: string }[] };
    g = await gate(p, ['--sessions', '2']);
    expect(g.code).toBe(0);
    expect(g.doc.verdict).toBe('pass');
    // newest first
    expect(g.doc.sessions.map((s) => [s.label, s.verdict, s.runId])).toEqual(run1.sessions.map((s) => [s.label, 'pass', run1.runId]).reverse());
    expect((await gate(p, ['--sessions', '3'])).code).toBe(3);

    // Human output: the verdict line and one row per session.
    const tty = await cli(p, ['gate', 'account_balance', '--sessions', '2']);
    expect(tty.code).toBe(0);
    expect(tty.stdout.trim().split('\n')).toHaveLength(2);
    expect(tty.stdout).toMatch(new RegExp(`^${run1.sessions[1]!.label}\tpass\t\\S+\t${run1.runId}\t-$`, 'm'));
    expect(tty.stderr).toMatch(/^gate account_balance: pass \(exit 0\): the last 2 sessions of account_balance since it was enabled \(\S+, rev 1\) passed$/m);

    // A fault makes the next session fail: 1, naming the session and the item.
    sim.setFaults([parseFault('missing=account_balance:buying_power')]);
    const v2 = await verify(p, 1);
    sim.setFaults([]);
    expect(v2.code).toBe(1);
    const run2 = JSON.parse(v2.stdout) as { runId: string; sessions: { label: string }[] };
    const dir = mkdtempSync(join(tmpdir(), 'gate-out-'));
    g = await gate(p, ['--sessions', '2', '--junit', join(dir, 'gate.xml')]);
    expect(g.code).toBe(1);
    expect(g.doc.verdict).toBe('fail');
    expect(g.doc.sessions.map((s) => s.verdict)).toEqual(['fail', 'pass']);
    expect(g.doc.failed).toHaveLength(1);
    expect(g.doc.failed[0]).toMatchObject({ label: run2.sessions[0]!.label, runId: run2.runId });
    expect(g.doc.failed[0]!.problems).toEqual([expect.stringMatching(/^fields: required field "buying_power" missing on WS in \d+ messages > 0 allowed$/)]);
    expect(g.doc.reason).toContain(`1 session of the last 2 of account_balance failed: ${run2.sessions[0]!.label} (run ${run2.runId}): fields: required field "buying_power" missing`);

    // JUnit: one testcase per item per session, the failed item is a <failure>, and the verdict case fails too.
    const xml = readFileSync(join(dir, 'gate.xml'), 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(2 * 6 + 1);
    expect(xml.match(/<failure /g)).toHaveLength(2);
    expect(xml).toContain(`<testcase classname="gate.account_balance.${run2.runId}.session1" name="fields (${run2.sessions[0]!.label}, run ${run2.runId})"`);
    expect(xml).toMatch(/<testsuite name="thor-cutover gate account_balance" tests="13" failures="2" errors="0" skipped="2"/);

    // enable reads the sessions the same way: the newest one failed, so positions is refused.
    const refused = await cli(p, ['enable', 'positions']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`failed: ${run2.sessions[0]!.label} (fields: required field "buying_power" missing`);
    expect(refused.stderr).toContain('thor-cutover gate account_balance lists the sessions recorded');

    // A new enable starts over: earlier sessions do not count.
    expect((await cli(p, ['disable', 'account_balance'])).code).toBe(0);
    g = await gate(p);
    expect(g.code).toBe(1);
    expect(g.doc.reason).toBe('account_balance is off (Redis): the gate judges the sessions of a feature that is on');
    expect((await cli(p, ['enable', 'account_balance'])).code).toBe(0);
    g = await gate(p);
    expect(g.code).toBe(3);
    expect(g.doc).toMatchObject({ sessionsRequired: 1, sessionsRecorded: 0, since: { rev: 3 } });
  }, 90_000);
});

describe('gate: how records are read', () => {
  const now = Date.now();
  const at = (s: number) => new Date(now + s * 1000).toISOString();
  const session = (index: number, label: string, opened: number, verdict: string) => ({
    index, label, openedAt: at(opened), closedAt: at(opened + 5), verdict, messages: 10,
    items: [{ check: 'values', status: verdict, summary: `values ${verdict}`, detail: verdict === 'pass' ? null : `values ${verdict} detail` }],
  });
  const push = (p: string, runId: string, sessionResults: object[], extra: object = {}) => client.lpush(`${p}:verify:account_balance`, JSON.stringify({
    schemaVersion: 1, runId, feature: 'account_balance', verdict: 'pass', startedAt: at(0), finishedAt: at(60), sessions: sessionResults.length, shadow: false, sessionResults, ...extra,
  }));

  it('one record per session (as a monitor would write them) reads like one record of many; a session two runs saw counts once, at its worst', async () => {
    const p = uniquePrefix('gate-read');
    await client.hset(`${p}:flags`, 'account_balance', 'true'); // on, no audit entry: every record counts
    await push(p, 'm1', [session(1, 'USA 09:30-16:00', 10, 'pass')]);
    await push(p, 'm2', [session(1, 'USA 09:30-16:00', 200, 'pass')]);
    let g = await gate(p, ['--sessions', '2']);
    expect(g.code).toBe(0);
    expect(g.doc.sessions.map((s) => s.runId)).toEqual(['m2', 'm1']);
    expect(g.doc.since).toBeNull();

    // Another run saw the second session (opened 1 s apart) and judged it a fail: that session fails, once.
    await push(p, 'twin', [session(1, 'USA 09:30-16:00', 201, 'fail')], { verdict: 'fail' });
    g = await gate(p, ['--sessions', '2']);
    expect(g.code).toBe(1);
    expect(g.doc.sessionsRecorded).toBe(2);
    expect(g.doc.failed.map((s) => [s.runId, s.problems])).toEqual([['twin', ['values: values fail detail']]]);

    // Shadow records (flags off) never count; an inconclusive session is not a pass: 3.
    const q = uniquePrefix('gate-read2');
    await client.hset(`${q}:flags`, 'account_balance', 'true');
    await push(q, 's', [session(1, 'USA a', 10, 'pass')], { shadow: true });
    expect((await gate(q)).code).toBe(3);
    await push(q, 'i', [session(1, 'USA b', 30, 'inconclusive')], { verdict: 'inconclusive' });
    g = await gate(q);
    expect(g.code).toBe(3);
    expect(g.doc.reason).toBe('not judged: USA b (inconclusive: values: values inconclusive detail)');
  });

  it('usage: an unknown feature, --sessions 0, an unreachable Redis: exit 2 with a hint', async () => {
    const p = uniquePrefix('gate-usage');
    const unknown = await cli(p, ['gate', 'postions']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error: unknown feature "postions" (did you mean "positions"?)');
    const zero = await cli(p, ['gate', 'positions', '--sessions', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--sessions takes a whole number >= 1, got "0"');
    const down = await runCli(['gate', 'positions'], { env: { THOR_CUTOVER_REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^error: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: connection refused$/m);
    const help = await runCli(['gate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('3  fewer than N sessions recorded since the enable');
  });
});
