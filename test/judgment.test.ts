import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load.js';
import { parseFault, startSimulator, type Simulator } from '../src/sim/index.js';
import { runCli } from './support/cli.js';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/redis.js';
import { spawnCli } from './support/spawn.js';

/**
 * Judgment on the faults a real Django Channels backend shows (PROTOCOL.md section 3):
 * a missing or wrong token, a broadcast type the consumer has no handler for, a lossy
 * channel layer, re-stamped REST items, error_message frames, flags that change under a
 * run. Each fault is reported as exactly its finding, on its feature, with its exit code;
 * the healthy variants stay quiet.
 *
 * Speed 20 with 90 s OPEN / 60 s CLOSED sessions: a 4.5 s session after a 3 s close, a
 * 10 s interval is 500 ms.
 */

const SPEED = 20;
const CWD = mkdtempSync(join(tmpdir(), 'judgment-'));
const sims: Simulator[] = [];
let redis: TestRedis;
let client: Redis;

useTestRedis((r, c) => { redis = r; client = c; });
afterAll(async () => { await Promise.all(sims.map((s) => s.close())); });

async function sim(faults: string[], opts: { token?: string | null; speed?: number; symbols?: number } = {}): Promise<Simulator> {
  const s = await startSimulator({
    config: loadConfig({ cwd: CWD, env: {} }), port: 0, speed: opts.speed ?? SPEED, seed: 11, faults: faults.map(parseFault), token: opts.token ?? null,
    ...(opts.symbols ? { symbols: Array.from({ length: opts.symbols }, (_, i) => `SYM${i}`) } : {}),
    sessionOpenMs: 90_000, sessionClosedMs: 60_000, log: () => undefined,
  });
  sims.push(s);
  return s;
}

function env(prefix: string, extra: Record<string, string> = {}) {
  return { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: prefix, THOR_CUTOVER_ACTOR: 'ci', ...extra };
}

type Finding = { check: string; feature: string | null; message: string; suspects?: string[] };
type Item = { check: string; status: string; detail: string | null; summary: string };

describe('auth is not a network blip', () => {
  it('a socket closed with 4401: parity stops at once, exit 2, names the token, no reconnect storm', async () => {
    const s = await sim(['auth=close'], { token: 'sekret' });
    const before = s.stats().upgrades;
    const t0 = performance.now();
    const r = await runCli(['parity', '--url', s.url, '--speed', '10', '--duration', '30s'], { env: env(uniquePrefix('j-auth')), timeoutMs: 20_000 });
    const took = performance.now() - t0;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: authentication failed: ws:\/\/127\.0\.0\.1:\d+\/ws\/ accepted the WebSocket, then closed it with 4401 \("unauthorized"\): no token is configured$/m);
    expect(r.stderr).toMatch(/^hint: pass --token, or set THOR_CUTOVER_TOKEN/m);
    expect(r.stdout).toBe('');
    expect(took).toBeLessThan(2_000);
    expect(s.stats().upgrades - before).toBeLessThanOrEqual(3);
  });

  it('a handshake refused 403: verify exits 2 and says which token was refused and where it came from', async () => {
    const s = await sim(['auth=refuse'], { token: 'sekret' });
    const before = s.stats().upgrades;
    const r = await runCli(['verify', '--shadow', '--url', s.url, '--speed', String(SPEED), '--max-wait', '20s'], {
      env: env(uniquePrefix('j-auth2'), { THOR_CUTOVER_TOKEN: 'wrong-one' }), timeoutMs: 20_000,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: authentication failed: ws:\/\/127\.0\.0\.1:\d+\/ws\/ refused the WebSocket handshake with HTTP 403: the token from THOR_CUTOVER_TOKEN was refused$/m);
    expect(r.stderr).toMatch(/^hint: check the token in THOR_CUTOVER_TOKEN, and where the consumer reads it: backend.tokenIn is "both"/m);
    expect(r.stderr + r.stdout).not.toContain('wrong-one');
    expect(s.stats().upgrades - before).toBeLessThanOrEqual(3);
  });

  it('the right token passes the same simulator', async () => {
    const s = await sim(['auth=close'], { token: 'sekret' });
    const r = await runCli(['parity', 'global_market', '--url', s.url, '--speed', String(SPEED), '--duration', '2s', '--token', 'sekret', '--json'], { env: env(uniquePrefix('j-auth3')), timeoutMs: 20_000 });
    expect(r.stderr).not.toContain('authentication failed');
    // Our own close at the end (1000) is the only one: the server never refused us.
    expect(JSON.parse(r.stdout).connection.closeCodes).toEqual({ 1000: 1 });
  });
});

describe('a broadcast type the consumer has no handler for (close 1011)', () => {
  it('verify fails within one session on e) connection, naming the type; the other items do not fail', async () => {
    const s = await sim(['nohandler=account_balance']);
    const p = uniquePrefix('j-nohandler');
    await client.hset(`${p}:flags`, 'account_balance', 'true');
    const t0 = performance.now();
    const r = await runCli(['verify', 'account_balance', '--url', s.url, '--speed', String(SPEED), '--sessions', '2', '--max-wait', '60s', '--json'], { env: env(p), timeoutMs: 70_000 });
    expect(r.code).toBe(1);
    expect(performance.now() - t0).toBeLessThan(30_000);
    const j = JSON.parse(r.stdout) as { verdict: string; stopReason: string; sessions: { index: number; features: { items: Item[] }[] }[]; problems: { check: string; status: string; message: string }[] };
    expect(j).toMatchObject({ verdict: 'fail', stopReason: 'failed' });
    expect(j.sessions).toHaveLength(1);
    const items = Object.fromEntries(j.sessions[0]!.features[0]!.items.map((i) => [i.check, i]));
    expect(items.connection!.status).toBe('fail');
    expect(items.connection!.detail).toMatch(/the server closed the socket \d+ times \(1011 internal error x\d+\).*each time account_balance was due, and account_balance never arrived: the consumer may have no handler for account_balance: Channels calls a method named after the type \(account_balance\(\)\)/);
    for (const id of ['interval', 'fields', 'values', 'errors', 'scoping']) expect(items[id]!.status).not.toBe('fail');
    // No account_balance arrived, so a) to c) cannot be judged: inconclusive, not failed.
    expect(j.problems.filter((x) => x.status === 'fail').map((x) => x.check)).toEqual(['connection']);
    expect(r.stderr).not.toContain('check the country');
  }, 80_000);

  it('doctor fails the WebSocket and the type, with the handler as the likely cause and no --token hint', async () => {
    const s = await sim(['nohandler=account_balance']);
    const r = await runCli(['doctor', '--url', s.url, '--speed', String(SPEED), '--json'], { env: env(uniquePrefix('j-doc')), timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    const checks = new Map<string, { status: string; measured: string; hint: string | null }>((JSON.parse(r.stdout).checks as { id: string; status: string; measured: string; hint: string | null }[]).map((c) => [c.id, c]));
    expect(checks.get('ws.handshake')).toMatchObject({ status: 'fail', measured: expect.stringMatching(/closed the socket \d+ times \(1011 internal error x\d+\).*a close\/reconnect loop/) });
    expect(checks.get('ws.handshake')!.hint).toMatch(/no handler for account_balance/);
    expect(checks.get('ws.type.account_balance')).toMatchObject({ status: 'fail', measured: expect.stringMatching(/closed the socket each time it was due \(1011 x\d+\)/) });
    expect(checks.get('ws.type.positions')!.status).not.toBe('fail');
    expect(r.stdout).not.toContain('pass --token');
  }, 40_000);

  it('parity: repeated closes are a reconnects finding whose suspect is the type', async () => {
    const s = await sim(['nohandler=account_balance']);
    const r = await runCli(['parity', '--url', s.url, '--speed', String(SPEED), '--duration', '5s', '--json'], { env: env(uniquePrefix('j-par')), timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.stdout).findings as Finding[];
    const rec = findings.find((f) => f.check === 'reconnects')!;
    expect(rec.suspects).toEqual(['account_balance']);
    expect(rec.message).toMatch(/1011 internal error/);
  }, 40_000);
});

describe('doctor and error_message frames', () => {
  it('an error_message fails doctor (exit 1); --timeout widens the watch', async () => {
    const s = await sim(['error=60s']); // one every 3 s real
    const r = await runCli(['doctor', '--url', s.url, '--speed', String(SPEED), '--timeout', '5s', '--json'], { env: env(uniquePrefix('j-err')), timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { watchedMs: number; checks: { id: string; status: string; measured: string }[] };
    expect(doc.watchedMs).toBeGreaterThanOrEqual(4_000);
    const failed = doc.checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => c.id)).toEqual(['ws.errors']);
    expect(failed[0]!.measured).toMatch(/^\d+ error_messages? in [\d.]+s; first: "simulated backend error #1/);
  }, 40_000);
});

describe('skipped states are not disagreements', () => {
  // 50 symbols at 10 bars a second: about 7,500 states in 15 s, so 0.5% is some 37 lost.
  it('a lossy channel layer at 0.5% passes, with its skipped states counted', async () => {
    const s = await sim(['lossy=intraday:0.005'], { speed: 10, symbols: 50 });
    const r = await runCli(['parity', 'intraday', '--url', s.url, '--speed', '10', '--duration', '15s', '--json'], { env: env(uniquePrefix('j-lossy')), timeoutMs: 40_000 });
    const j = JSON.parse(r.stdout) as { findings: Finding[]; features: { name: string; match: { skipped: number; mismatched: number; decided: number } }[] };
    expect(j.findings).toEqual([]);
    expect(r.code).toBe(0);
    const m = j.features[0]!.match;
    expect(m.skipped).toBeGreaterThanOrEqual(1);
    expect(m.mismatched).toBe(0);
  }, 40_000);

  // REST polls at the bars' own pace, so it sees a little over half the states; 15 s keeps
  // the lost ones well clear of what 1% explains.
  it('a channel layer that loses 3% fails as skipped states on that feature alone', async () => {
    const s = await sim(['lossy=intraday:0.03'], { speed: 10, symbols: 50 });
    const r = await runCli(['parity', 'intraday', 'positions', '--url', s.url, '--speed', '10', '--duration', '15s', '--json'], { env: env(uniquePrefix('j-lossy2')), timeoutMs: 40_000 });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { findings: Finding[] };
    expect(j.findings.map((f) => `${f.feature}:${f.check}`)).toEqual(['intraday:skipped']);
    expect(j.findings[0]!.message).toMatch(/^intraday: WS skipped \d+ of \d+ states REST showed \([\d.]+%, more than 1\.0% explains\)/);
  }, 40_000);

  it('REST items re-stamped at read time agree (counted as re-stamped); a drift on the same feature is a mismatch', async () => {
    const ok = await sim(['restamp=account_balance']);
    const a = await runCli(['parity', 'account_balance', '--url', ok.url, '--speed', String(SPEED), '--duration', '4s', '--json'], { env: env(uniquePrefix('j-stamp')), timeoutMs: 30_000 });
    const ja = JSON.parse(a.stdout) as { findings: Finding[]; features: { match: { restamped: number; agreed: number } }[] };
    expect(ja.findings).toEqual([]);
    expect(a.code).toBe(0);
    expect(ja.features[0]!.match.restamped).toBeGreaterThan(0);
    const bad = await sim(['drift=account_balance:2']);
    const b = await runCli(['parity', 'account_balance', '--url', bad.url, '--speed', String(SPEED), '--duration', '4s', '--json'], { env: env(uniquePrefix('j-stamp2')), timeoutMs: 30_000 });
    expect(b.code).toBe(1);
    expect((JSON.parse(b.stdout) as { findings: Finding[] }).findings.map((f) => f.check)).toEqual(['mismatch']);
  }, 40_000);

  it('a dropped key is named: verify says which key WS never carried', async () => {
    const s = await sim(['drop=intraday:NQ']);
    const p = uniquePrefix('j-drop');
    const r = await runCli(['verify', 'intraday', '--shadow', '--url', s.url, '--speed', String(SPEED), '--session-length', '60s', '--json'], { env: env(p), timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { problems: { check: string; message: string }[] };
    expect(j.problems.map((x) => x.check)).toEqual(['values']);
    expect(j.problems[0]!.message).toMatch(/REST items? for keys WS never carried \(NQ\)/);
  }, 40_000);
});

describe('flags that change under a run', () => {
  it('a disable during the session fails that session\'s precondition, naming who and why', async () => {
    const s = await sim([]);
    const p = uniquePrefix('j-flag');
    await client.hset(`${p}:flags`, 'account_balance', 'true');
    const live = spawnCli(['verify', 'account_balance', '--url', s.url, '--speed', String(SPEED), '--session-length', '60s'], { env: env(p), killAfterMs: 30_000 });
    // Window 1 (3 s) opens and the flag follower starts before verify says "watching": the
    // disable sent now lands in that window, with nothing else to wait for.
    await live.waitStderr(/verify: watching/, 15_000);
    expect((await runCli(['disable', 'account_balance', '--reason', 'rollback: balances lag'], { env: env(p) })).code).toBe(0);
    const r = await live.done;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {4}\[ \] precondition: the flag was not on for the whole session: account_balance off at [\d:.]+ UTC: turned off in Redis by ci: "rollback: balances lag" \(rev \d+\)$/m);
    expect(r.stdout).toMatch(/^verdict: FAIL \(exit 1\)$/m);
  }, 40_000);
});
