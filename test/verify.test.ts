import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { main } from '../src/cli.js';
import { loadConfig } from '../src/config/load.js';
import { ACCOUNT_ID, parseFault, startSimulator, type Simulator } from '../src/sim/index.js';
import { captureIO, runCli } from './support/cli.js';
import { TestRedis, uniquePrefix } from './support/redis.js';
import { spawnCli } from './support/spawn.js';
import { waitFor } from './support/wait.js';
import { getJson } from './sim-support.js';

/**
 * `thor-cutover verify` as a user (or a CI job) runs it, against the simulator at rehearsal
 * speed with short market sessions: 90 s OPEN / 60 s CLOSED at speed 20 is a 4.5 s session
 * after a 3 s close (long enough for the CLI to connect before the first one opens), and
 * a 10 s interval is 500 ms.
 */

const SPEED = 20;
const CWD = mkdtempSync(join(tmpdir(), 'verify-cli-'));
const CHECK_IDS = ['interval', 'fields', 'values', 'errors', 'connection', 'scoping'];

let redis: TestRedis;
let client: Redis;
const sims: Simulator[] = [];

beforeAll(async () => {
  redis = await new TestRedis().start();
  client = redis.client();
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
  client?.disconnect();
  await redis?.dispose();
});

async function sim(faults: string[] = [], token: string | null = null, sessions = { open: 90_000, closed: 60_000 }): Promise<Simulator> {
  const s = await startSimulator({
    config: loadConfig({ cwd: CWD, env: {} }), port: 0, speed: SPEED, seed: 7, faults: faults.map(parseFault), token,
    sessionOpenMs: sessions.open, sessionClosedMs: sessions.closed, log: () => undefined,
  });
  sims.push(s);
  return s;
}

function env(prefix: string, redisUrl = redis.url) {
  return { THOR_CUTOVER_REDIS_URL: redisUrl, THOR_CUTOVER_PREFIX: prefix, THOR_CUTOVER_ACTOR: 'ci' };
}

function verifyArgs(s: Simulator, extra: string[]): string[] {
  return ['verify', '--url', s.url, '--speed', String(SPEED), ...extra];
}

async function flagsOn(prefix: string, ...features: string[]) {
  for (const f of features) await client.hset(`${prefix}:flags`, f, 'true');
}

type Item = { check: string; status: string; detail: string | null; summary: string };
type Report = {
  schemaVersion: number; kind: string; verdict: string; exitCode: number; sessionsCompleted: number; startedAt: string; stopReason: string;
  features: { feature: string; verdict: string; items: Item[] }[];
  sessions: { index: number; label: string; openedAt: string; verdict: string; features: { feature: string; verdict: string; items: Item[] }[] }[];
  ignoredSessions: { label: string; reason: string }[];
  problems: { feature: string | null; check: string; message: string }[];
  records: { feature: string; written: boolean }[];
};

function statuses(r: Report, feature: string): Record<string, string> {
  const f = r.features.find((x) => x.feature === feature)!;
  return Object.fromEntries(f.items.map((i) => [i.check, i.status]));
}

async function records(prefix: string, feature: string, c: Redis = client): Promise<Record<string, any>[]> {
  return (await c.lrange(`${prefix}:verify:${feature}`, 0, -1)).map((s) => JSON.parse(s));
}

/** Enough XML checking to catch what breaks a CI parser: nesting, quoting, entities. */
function checkXml(xml: string): { name: string; attrs: Record<string, string>; parent: string | null }[] {
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
  const body = xml.replace(/^<\?xml[^>]*\?>\n/, '');
  const stack: string[] = [];
  const elements: { name: string; attrs: Record<string, string>; parent: string | null }[] = [];
  const tag = /<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const text = body.slice(last, m.index);
    expect(text).not.toMatch(/[<>]/);
    expect(text.replace(/&(amp|lt|gt|quot|apos);/g, '')).not.toContain('&');
    last = tag.lastIndex;
    const [, close, name, attrText, selfClose] = m;
    if (close) { expect(stack.pop()).toBe(name); continue; }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w-]+)="([^"]*)"/g)) {
      expect(a[2]!.replace(/&(amp|lt|gt|quot|apos);/g, '')).not.toContain('&');
      attrs[a[1]!] = a[2]!;
    }
    elements.push({ name: name!, attrs, parent: stack.at(-1) ?? null });
    if (!selfClose) stack.push(name!);
  }
  expect(stack).toEqual([]);
  expect(body.slice(last).trim()).toBe('');
  return elements;
}

describe('verify: the checklist against the simulator', () => {
  it('a clean stream passes over 2 sessions: checklist on stdout, JSON and JUnit files, records, and the gate opens', async () => {
    const s = await sim([], 'tok-123');
    const p = uniquePrefix('v-clean');
    expect((await runCli(['enable', 'account_balance'], { env: env(p) })).code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'verify-out-'));
    const r = await runCli(verifyArgs(s, ['account_balance', '--sessions', '2', '--token', 'tok-123', '--json', join(dir, 'v.json'), '--junit', join(dir, 'v.xml')]), { env: env(p), timeoutMs: 40_000 });
    expect(r.stderr).toContain('verify: watching account_balance');
    expect(r.code).toBe(0);
    // The runbook's checklist, ticked, with numbers.
    for (const line of [
      /^ {4}\[x\] a\) interval: p95 \d+ ms <= \d+ ms limit \(expected 500 ms\), 0 missed beats \(max 0\), \d+ msgs$/m,
      /^ {4}\[x\] b\) fields: 5 required fields in all \d+ messages, no type changes$/m,
      /^ {4}\[x\] c\) values: (\d+) of \1 REST polls agree \(0\.0% mismatched, max 0\.0%\)/m,
      /^ {4}\[x\] d\) errors: 0 error_messages, 0 bad frames, 0 REST errors/m,
      /^ {4}\[x\] e\) connection: 0 reconnects \(max 0\), longest gap 0 ms/m,
      /^ {4}\[x\] f\) scoping: 0 messages to a socket without the token$/m,
    ]) expect(r.stdout).toMatch(line);
    expect(r.stdout).toMatch(/^session 1 · USA \S+ · PASS$/m);
    expect(r.stdout).toMatch(/^session 2 · USA \S+ · PASS$/m);
    expect(r.stdout).toMatch(/^verdict: PASS \(exit 0\)$/m);
    expect(r.stdout).not.toContain('[ ]');

    const j = JSON.parse(readFileSync(join(dir, 'v.json'), 'utf8')) as Report;
    expect(j).toMatchObject({ schemaVersion: 1, kind: 'verify', verdict: 'pass', exitCode: 0, sessionsCompleted: 2, stopReason: 'sessions' });
    expect(statuses(j, 'account_balance')).toEqual({ interval: 'pass', fields: 'pass', values: 'pass', errors: 'pass', connection: 'pass', scoping: 'pass' });
    expect(j.sessions.map((x) => x.index)).toEqual([1, 2]);

    const [rec] = await records(p, 'account_balance');
    expect(rec).toMatchObject({ verdict: 'pass', sessions: 2, shadow: false, actor: 'ci', feature: 'account_balance', startedAt: j.startedAt });
    expect(rec!.sessionResults).toHaveLength(2);
    expect(rec!.sessionResults[0].items.find((i: Item) => i.check === 'interval').numbers.messages).toBeGreaterThanOrEqual(3);

    // JUnit: well-formed, one testcase per item per session (+ the sessions case), none failed.
    const els = checkXml(readFileSync(join(dir, 'v.xml'), 'utf8'));
    const cases = els.filter((e) => e.name === 'testcase');
    expect(cases).toHaveLength(6 * 2 + 1);
    for (const sess of [1, 2]) {
      for (const id of CHECK_IDS) expect(cases.filter((c) => c.attrs.classname === `verify.account_balance.session${sess}` && c.attrs.name!.includes(`) ${id}:`))).toHaveLength(1);
    }
    expect(els.filter((e) => e.name === 'failure' || e.name === 'error')).toEqual([]);
    expect(els.find((e) => e.name === 'testsuite')!.attrs).toMatchObject({ tests: '13', failures: '0', errors: '0' });

    // status shows it; the gate now lets positions through.
    const st = JSON.parse((await runCli(['status', '--json'], { env: env(p) })).stdout);
    expect(st.features[0].lastVerify).toMatchObject({ verdict: 'pass', sessions: 2, shadow: false });
    expect((await runCli(['enable', 'positions'], { env: env(p) })).code).toBe(0);
  }, 60_000);

  it('each fault fails exactly its item: missing field -> fields, slow -> interval, drift -> values', async () => {
    const s = await sim(['missing=account_balance:buying_power', 'slow=positions:2', 'drift=global_market:3']);
    const p = uniquePrefix('v-faults');
    await flagsOn(p, 'account_balance', 'positions', 'global_market');
    const dir = mkdtempSync(join(tmpdir(), 'verify-out-'));
    const r = await runCli(verifyArgs(s, ['account_balance', 'positions', 'global_market', '--json', '--junit', join(dir, 'v.xml')]), { env: env(p), timeoutMs: 40_000 });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as Report;
    expect(j.verdict).toBe('fail');
    const skip = { scoping: 'skipped' };
    expect(statuses(j, 'account_balance')).toEqual({ interval: 'pass', fields: 'fail', values: 'pass', errors: 'pass', connection: 'pass', ...skip });
    expect(statuses(j, 'positions')).toEqual({ interval: 'fail', fields: 'pass', values: 'pass', errors: 'pass', connection: 'pass', ...skip });
    expect(statuses(j, 'global_market')).toEqual({ interval: 'pass', fields: 'pass', values: 'fail', errors: 'pass', connection: 'pass', ...skip });
    // Each failure names the feature, the check, the measured value, the limit and the session.
    const msgs = j.problems.map((x) => x.message);
    expect(msgs).toHaveLength(3);
    expect(msgs).toContainEqual(expect.stringMatching(/^account_balance fields: required field "buying_power" missing on WS in \d+ messages > 0 allowed, session 1 \(USA \S+\)$/));
    expect(msgs).toContainEqual(expect.stringMatching(/^positions interval: p95 [\d.]+ m?s > \d+ ms limit, session 1 \(USA \S+\)$/));
    expect(msgs).toContainEqual(expect.stringMatching(/^global_market values: \d+ of \d+ REST polls mismatched \(\d+\.\d%\) > 0\.0% allowed; first: .*session 1 \(USA \S+\)$/));
    // The JUnit file says the same, testcase by testcase.
    const els = checkXml(readFileSync(join(dir, 'v.xml'), 'utf8'));
    // A failure is the child of the testcase right before it.
    const failed = els.filter((e) => e.name === 'failure').map((e) => `${els[els.indexOf(e) - 1]!.attrs.classname} ${e.attrs.type}`);
    expect(els.filter((e) => e.name === 'failure')).toHaveLength(3);
    expect(failed.sort()).toEqual(['verify.account_balance.session1 fail', 'verify.global_market.session1 fail', 'verify.positions.session1 fail']);
    expect(els.filter((e) => e.name === 'testcase')).toHaveLength(3 * (6 + 1));
    expect((await records(p, 'positions'))[0]).toMatchObject({ verdict: 'fail', sessions: 1 });
  }, 60_000);

  it('error messages fail errors only; disconnects fail connection only', async () => {
    const [errSim, discSim] = [await sim(['error=20']), await sim(['disconnect=60'])];
    const p1 = uniquePrefix('v-err');
    const p2 = uniquePrefix('v-disc');
    await flagsOn(p1, 'account_balance');
    await flagsOn(p2, 'account_balance');
    const [e, d] = await Promise.all([
      runCli(verifyArgs(errSim, ['account_balance', '--json']), { env: env(p1), timeoutMs: 40_000 }),
      runCli(verifyArgs(discSim, ['account_balance', '--json']), { env: env(p2), timeoutMs: 40_000 }),
    ]);
    expect(e.code).toBe(1);
    const ej = JSON.parse(e.stdout) as Report;
    expect(statuses(ej, 'account_balance')).toEqual({ interval: 'pass', fields: 'pass', values: 'pass', errors: 'fail', connection: 'pass', scoping: 'skipped' });
    expect(ej.problems[0]!.message).toMatch(/^account_balance errors: \d+ error_messages?, 0 bad frames, 0 REST errors > 0 allowed; first error_message "simulated backend error/);
    expect(d.code).toBe(1);
    const dj = JSON.parse(d.stdout) as Report;
    expect(statuses(dj, 'account_balance')).toEqual({ interval: 'pass', fields: 'pass', values: 'pass', errors: 'pass', connection: 'fail', scoping: 'skipped' });
    expect(dj.problems[0]!.message).toMatch(/^account_balance connection: \d+ reconnects? > 0 allowed/);
  }, 60_000);

  it('a session under way at start is not counted; a feature that sends nothing is never a pass', async () => {
    // Shorter sessions: this run sits through the partial one first.
    const s = await sim([`drop=account_balance:${ACCOUNT_ID}`], null, { open: 60_000, closed: 30_000 });
    // Wait until the USA session is open, then start: that session is partial. (The 60 s
    // CLOSED period is 3 s at speed 20; 10 s is the bound.)
    await waitFor(async () => {
      const markets = (await getJson(`${s.url}/api/market/status/`)).body as { country: string; status: string }[];
      return markets.find((m) => m.country === 'USA')?.status === 'OPEN';
    }, 10_000, 'the USA session open on the simulator', 25);
    const p = uniquePrefix('v-partial');
    await flagsOn(p, 'account_balance', 'positions');
    const r = await runCli(verifyArgs(s, ['account_balance', 'positions', '--json']), { env: env(p), timeoutMs: 40_000 });
    const j = JSON.parse(r.stdout) as Report;
    expect(j.ignoredSessions[0]).toMatchObject({ reason: 'under way when verify connected, not counted' });
    expect(j.ignoredSessions[0]!.label).toContain('(partial)');
    expect(j.sessions).toHaveLength(1);
    expect(Date.parse(j.sessions[0]!.openedAt)).toBeGreaterThan(Date.parse(j.startedAt));
    // positions streams and passes; account_balance sends nothing: not a pass, and the run is not either.
    expect(j.features.find((f) => f.feature === 'positions')!.verdict).toBe('pass');
    const ab = j.features.find((f) => f.feature === 'account_balance')!;
    // Nothing to measure, check or compare: inconclusive (exit 3), never a pass and never a guess.
    expect(ab.verdict).toBe('inconclusive');
    expect(statuses(j, 'account_balance')).toEqual({ interval: 'inconclusive', fields: 'inconclusive', values: 'inconclusive', errors: 'pass', connection: 'pass', scoping: 'skipped' });
    expect(r.code).toBe(3);
    expect((await records(p, 'account_balance'))[0]!.verdict).not.toBe('pass');
  }, 60_000);
});

describe('verify: preconditions, limits, interruptions', () => {
  it('a flag that is off fails the precondition: exit 1 with the command that turns it on; --shadow wants it off', async () => {
    const p = uniquePrefix('v-pre');
    const r = await runCli(['verify', 'positions', '--url', 'http://127.0.0.1:9'], { env: env(p) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: positions is off \(positions from the default\): verify checks a feature after its flag is on$/m);
    expect(r.stderr).toContain('hint: thor-cutover enable positions');
    await flagsOn(p, 'account_balance');
    const sh = await runCli(['verify', '--shadow', '--url', 'http://127.0.0.1:9'], { env: env(p) });
    expect(sh.code).toBe(1);
    expect(sh.stderr).toContain('--shadow verifies features while their flags are off, and account_balance is on (account_balance from Redis)');
    expect(await client.exists(`${p}:verify:positions`)).toBe(0);
  });

  it('a backend that cannot be reached: exit 2 (could not run), nothing recorded', async () => {
    const p = uniquePrefix('v-noconn');
    await flagsOn(p, 'account_balance');
    const r = await runCli(['verify', 'account_balance', '--url', 'http://127.0.0.1:9'], { env: env(p) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot connect to the WebSocket at ws:\/\/127\.0\.0\.1:9\/ws\/: /m);
    expect(r.stderr).toContain('hint: is the backend running?');
    expect(await client.exists(`${p}:verify:account_balance`)).toBe(0);
  });

  it('store unreachable: exit 2 before anything runs', async () => {
    const r = await runCli(['verify', 'account_balance', '--url', 'http://127.0.0.1:9'], { env: env(uniquePrefix('v-nostore'), 'redis://127.0.0.1:9') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot reach Redis/m);
  });

  it('fixed windows with --session-length; --max-wait before N windows is inconclusive (exit 3)', async () => {
    const s = await sim();
    const p = uniquePrefix('v-wait');
    await flagsOn(p, 'account_balance');
    // 60 s windows at speed 20 are 3 s: one is complete when the 4.5 s bound is reached.
    const r = await runCli(verifyArgs(s, ['--session-length', '60s', '--sessions', '3', '--max-wait', '4.5s', '--json']), { env: env(p), timeoutMs: 30_000 });
    expect(r.code).toBe(3);
    const j = JSON.parse(r.stdout) as Report;
    expect(j).toMatchObject({ verdict: 'inconclusive', stopReason: 'max-wait', sessionsCompleted: 1 });
    expect(j.sessions[0]).toMatchObject({ label: 'window 1', verdict: 'pass' });
    expect(j.problems.map((x) => x.message)).toEqual(['sessions: 1 of 3 windows complete (--max-wait 4.5s reached)']);
    expect((await records(p, 'account_balance'))[0]).toMatchObject({ verdict: 'inconclusive', sessions: 1 });
  }, 30_000);

  it('--shadow with the flag off, on a TTY: a progress line on stderr while it waits; stdout keeps the checklist', async () => {
    const s = await sim();
    const p = uniquePrefix('v-tty');
    const { io, seen } = captureIO({ stderrIsTTY: true, cwd: CWD, env: { ...env(p), NO_COLOR: '1' } });
    const code = await main([...verifyArgs(s, ['account_balance', '--shadow', '--session-length', '50s'])], io);
    expect(code).toBe(0);
    const { stdout, stderr } = seen;
    expect((await records(p, 'account_balance'))[0]).toMatchObject({ verdict: 'pass', shadow: true, sessionMode: 'fixed' });
    expect(stderr).toMatch(/\r\x1b\[2Ksession 1\/1 open · \d+(\.\d+)?s · [\d,]+ msgs · 0 mismatches/);
    expect(stdout).not.toContain('\r');
    expect(stdout).toMatch(/^verdict: PASS \(exit 0\)$/m);
  }, 30_000);

  it('Ctrl-C prints what was seen, verdict inconclusive, exit 130, and records it', async () => {
    const s = await sim();
    const p = uniquePrefix('v-int');
    await flagsOn(p, 'account_balance');
    const live = spawnCli(verifyArgs(s, ['account_balance', '--sessions', '2']), { env: env(p), killAfterMs: 30_000 });
    await live.waitStderr(/verify: watching/, 15_000);
    // Interrupted once the stream reaches it (only verify connects to this simulator), not after a guessed pause.
    await waitFor(() => s.stats().frames > 0, 10_000, 'frames sent to verify');
    const r = await live.interrupt(10_000);
    expect(r.code).toBe(130);
    expect(r.stdout).toMatch(/^verdict: INCONCLUSIVE \(interrupted\) \(exit 130\)$/m);
    expect(r.stdout).toContain('sessions: 0 of 2 USA market sessions complete (interrupted)');
    expect((await records(p, 'account_balance'))[0]).toMatchObject({ verdict: 'inconclusive', stopReason: 'interrupted' });
  }, 30_000);

  it('Redis going away mid-run does not lose the verdict: written once it is back, or said so (exit code kept); back empty, it fails the precondition', async () => {
    const s = await sim();
    const back = await new TestRedis().start();
    const gone = await new TestRedis().start();
    try {
      const p = uniquePrefix('v-redis');
      for (const r of [back, gone]) { const c = r.client(); await c.hset(`${p}:flags`, 'account_balance', 'true'); c.disconnect(); }
      const a = spawnCli(verifyArgs(s, ['account_balance']), { env: env(p, back.url), killAfterMs: 45_000 });
      const b = spawnCli(verifyArgs(s, ['account_balance', '--record-timeout', '2s']), { env: env(p, gone.url), killAfterMs: 45_000 });
      await Promise.all([a.waitStderr(/verify: watching/, 15_000), b.waitStderr(/verify: watching/, 15_000)]);
      await Promise.all([back.stop(), gone.stop()]);
      await new Promise((res) => setTimeout(res, 1_500));
      await back.start(); // same port, empty: nothing persisted
      const [ra, rb] = await Promise.all([a.done, b.done]);
      // The store came back without the flag: the backend falls back to REST with no
      // event, and verify says so (PROTOCOL.md section 3, "Flags that vanish").
      expect(ra.code).toBe(1);
      expect(ra.stdout).toMatch(/^verdict: FAIL \(exit 1\)$/m);
      expect(ra.stdout).toMatch(/account_balance precondition: the flag was not on for the whole session: account_balance off at [\d:.]+ UTC: the flags hash no longer has account_balance \(the store was restarted empty, flushed, or evicted the key\?\)/);
      const c = back.client();
      try {
        const list = (await c.lrange(`${p}:verify:account_balance`, 0, -1)).map((x) => JSON.parse(x));
        expect(list).toHaveLength(1);
        expect(list[0]).toMatchObject({ verdict: 'fail', sessions: 1 });
      } finally { c.disconnect(); }
      expect(rb.code).toBe(0);
      expect(rb.stdout).toMatch(/^verdict: PASS \(exit 0\)$/m);
      expect(rb.stderr).toMatch(/warning: the verdict for account_balance could not be recorded in Redis \(.+\); it is only in this output/);
    } finally {
      await Promise.all([back.dispose(), gone.dispose()]);
    }
  }, 60_000);
});
