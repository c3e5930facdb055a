import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { loadConfig } from '../src/config/load.js';
import { parseFault, startSimulator, type Simulator } from '../src/sim/index.js';
import { captureIO, runCli } from './support/cli.js';

/** `thor-cutover parity` as a user runs it, against the simulator. */

const CWD = mkdtempSync(join(tmpdir(), 'parity-cli-'));
const sims: Simulator[] = [];

async function sim(faults: string[] = [], speed = 20, token: string | null = null, sessions?: { open: number; closed: number }): Promise<Simulator> {
  const s = await startSimulator({
    config: loadConfig({ cwd: CWD, env: {} }), port: 0, speed, seed: 5, faults: faults.map(parseFault), token, log: () => undefined,
    ...(sessions ? { sessionOpenMs: sessions.open, sessionClosedMs: sessions.closed } : {}),
  });
  sims.push(s);
  return s;
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

let clean: Simulator;
let drift: Simulator;
beforeAll(async () => {
  clean = await sim([], 10);
  drift = await sim(['drift=positions:2']);
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

describe('thor-cutover parity', () => {
  it.concurrent('a clean backend: exit 0, one JSON document with every feature agreeing', async () => {
    const r = await runCli(['parity', '--url', clean.url, '--speed', '10', '--duration', '3s', '--jitter', '150ms', '--json'], { cwd: CWD, timeoutMs: 20_000 });
    expect(r.stderr).not.toMatch(/\x1b\[/);
    const doc = JSON.parse(r.stdout) as { schemaVersion: number; kind: string; ok: boolean; findings: unknown[]; features: { name: string; ws: { messages: number }; match: { compared: number; mismatched: number } }[]; stoppedBy: string };
    expect(doc.findings).toEqual([]);
    expect(r.code).toBe(0);
    expect(doc).toMatchObject({ schemaVersion: 1, kind: 'parity', ok: true, stoppedBy: 'duration' });
    expect(doc.features.map((f) => f.name)).toEqual(['account_balance', 'positions', 'intraday', 'global_market']);
    for (const f of doc.features) {
      expect(f.ws.messages, f.name).toBeGreaterThan(0);
      expect(f.match.compared, f.name).toBeGreaterThan(0);
      expect(f.match.mismatched, f.name).toBe(0);
    }
  });

  it.concurrent('drift: exit 1, the mismatch named with feature, key, both values and skew; events as NDJSON', async () => {
    const events = join(CWD, 'drift.ndjson');
    const r = await runCli(['parity', 'positions', '--url', drift.url, '--speed', '20', '--duration', '3s', '--events', events], { cwd: CWD, timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^positions\t✖ 1 problem\t/m);
    expect(r.stdout).toContain('problems (1):');
    expect(r.stdout).toMatch(/✖ positions: \d+ of \d+ REST polls mismatched \([\d.]+% > 0\.0% allowed\); first: SIM-0001: positions\[0\]\.quantity REST (\d+), WS \d+, nearest WS \d+ ms away/);
    expect(r.stdout).toMatch(/first mismatches:\n {2}positions SIM-0001 \(version [^)]+\) at [\d:.]+, nearest WS \d+ ms away\n {4}positions\[0\]\.quantity {2}REST \d+ {2}WS \d+/);
    expect(r.stdout).toMatch(/✖ 1 problem found/);
    expect(r.stderr).toContain(`events written to ${events}`);
    const lines = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; feature?: string; key?: string; time: string });
    const mm = lines.filter((l) => l.type === 'mismatch');
    expect(mm.length).toBeGreaterThan(0);
    expect(mm[0]).toMatchObject({ feature: 'positions', key: 'SIM-0001' });
    expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it.concurrent('--max-mismatch-rate allows that share of mismatched polls', async () => {
    const r = await runCli(['parity', 'positions', '--url', drift.url, '--speed', '20', '--duration', '2s', '--max-mismatch-rate', '100%', '--json'], { cwd: CWD, timeoutMs: 20_000 });
    const doc = JSON.parse(r.stdout) as { ok: boolean; features: { match: { mismatched: number } }[] };
    expect(doc.features[0]!.match.mismatched).toBeGreaterThan(0);
    expect(doc.ok).toBe(true);
    expect(r.code).toBe(0);
  });

  it.concurrent('a backend that is not there: exit 2 with a hint, nothing on stdout', async () => {
    const port = await closedPort();
    const r = await runCli(['parity', '--url', `http://127.0.0.1:${port}`, '--duration', '5s'], { cwd: CWD, timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: cannot reach the backend: WebSocket ws:\/\/127\.0\.0\.1:\d+\/ws\/: .*ECONNREFUSED/m);
    expect(r.stderr).toMatch(/^hint: is the backend running\?/m);
  });

  it.concurrent('Ctrl-C prints the summary, then exits 130', async () => {
    const r = await runCli(['parity', 'intraday', '--url', clean.url, '--speed', '10', '--events', '-'], { cwd: CWD, timeoutMs: 20_000, interruptOn: '"type":"ws-open"' });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/parity · 1 feature · [\d.ms]+ · stopped by interrupted/);
    expect(r.stdout).toMatch(/\(interrupted\)\n$/);
  });

  it.concurrent('no data is never agreement: account features without the token fail as "no data"', async () => {
    // Speed 10 (100 ms beats), as the clean backend: intraday is this test's healthy control,
    // and at 50 ms beats the in-process simulator, sharing a busy worker with the other
    // concurrent runs, can itself fall three beats behind (a real gap the rule rightly reports).
    const guarded = await sim([], 10, 'tok3n');
    const r = await runCli(['parity', 'account_balance', 'intraday', '--url', guarded.url, '--speed', '10', '--duration', '2s'], { cwd: CWD, timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^account_balance\t✖ no data\t0\t/m);
    expect(r.stdout).toMatch(/^intraday\t✔ ok\t/m);
    expect(r.stdout).toContain('✖ account_balance: no data: no account_balance message arrived on WS');
    expect(r.stdout).toMatch(/account_balance: REST \/api\/account\/balance\/: \d+ of \d+ polls failed \(\d+ http-error\); last: HTTP 401/);
  });

  it.concurrent('--sessions N stops after N complete market sessions and lists them', async () => {
    const short = await sim([], 20, null, { open: 20_000, closed: 10_000 });
    const r = await runCli(['parity', 'global_market', '--url', short.url, '--speed', '20', '--sessions', '2', '--duration', '15s', '--json'], { cwd: CWD, timeoutMs: 25_000 });
    const doc = JSON.parse(r.stdout) as { stoppedBy: string; sessionsCompleted: number; sessions: { label: string; partial: boolean; closedAt: string | null; features: { messages: number }[] }[] };
    expect(doc.stoppedBy).toBe('sessions');
    expect(doc.sessionsCompleted).toBe(2);
    const complete = doc.sessions.filter((x) => x.closedAt && !x.partial);
    expect(complete).toHaveLength(2);
    for (const x of complete) {
      expect(x.label).toMatch(/^USA \d\d:\d\d-\d\d:\d\d$/);
      expect(x.features[0]!.messages).toBeGreaterThan(0);
    }
  });

  it.concurrent('usage errors exit 2 with a did-you-mean', async () => {
    const r = await runCli(['parity', 'positons', '--duration', '1s'], { cwd: CWD });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown feature "positons" (did you mean "positions"?)');
    const bad = await runCli(['parity', '--max-mismatch-rate', '2'], { cwd: CWD });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-mismatch-rate takes a fraction from 0 to 1');
  });

  it('on a terminal: a live table on stderr, redrawn in place; the summary on stdout', async () => {
    const { io, seen } = captureIO({ stdoutIsTTY: true, stderrIsTTY: true, cwd: CWD });
    const code = await main(['parity', 'global_market', '--url', clean.url, '--speed', '10', '--duration', '2500ms', '--jitter', '150ms'], io);
    expect(code).toBe(0);
    const { stdout: out, stderr: err } = seen;
    // Drawn at least twice: the second draw moves the cursor up over the first.
    expect(err).toMatch(/parity · [\d.ms]+ · speed 10 · WS connected/);
    expect(err).toMatch(/\x1b\[\d+A\x1b\[0J/);
    expect(err).toContain('global_market');
    expect(out).toMatch(/│ global_market +│ ✔ ok/);
    expect(out).toContain('✔ no problems: every feature streamed and agreed with REST');
  }, 15_000);
});
