import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { main } from '../src/cli.js';
import { parseFault, startSimulator, type Simulator } from '../src/sim/index.js';
import { openStore } from '../src/store/index.js';
import type { FlagStore } from '../src/store/types.js';
import { captureIO, runCli } from './support/cli.js';
import { TestRedis, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';
import { defaultConfig } from './sim-support.js';

/**
 * doctor through the built CLI, against a simulator in this process (speed 20: 0.5 s
 * intervals, a heartbeat every 1.5 s) whose flags live in a redis-server of the test's own.
 */
const SPEED = 20;
const TOKEN = 'doctor-secret';

let redis: TestRedis;
let prefix: string;
let simStore: FlagStore;
let sim: Simulator;

beforeAll(async () => {
  // A healthy flag store keeps what it holds: AOF on (test/store-health.test.ts has the rest).
  redis = await new TestRedis({ persistence: 'aof' }).start();
  prefix = uniquePrefix('doctor');
  const config = defaultConfig({ redisUrl: redis.url, prefix });
  simStore = await openStore(config, { oneShot: false });
  sim = await startSimulator({ config, port: 0, speed: SPEED, store: simStore, token: TOKEN, env: {} });
});

afterAll(async () => {
  await sim?.close();
  await simStore?.close();
  await redis?.dispose();
});

interface Row { status: string; id: string; title: string; measured: string; hint: string }

/** The plain (piped) output: one tab-separated row per check. */
function rows(stdout: string): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const line of stdout.trim().split('\n')) {
    const [status, id, title, measured, hint] = line.split('\t');
    out.set(id!, { status: status!, id: id!, title: title!, measured: measured!, hint: hint ?? '' });
  }
  return out;
}

const failing = (r: Map<string, Row>) => [...r.values()].filter((c) => c.status === 'fail').map((c) => c.id).sort();

function doctor(args: string[], opts: { token?: boolean; redisUrl?: string; prefix?: string; timeout?: string } = {}) {
  const argv = [
    'doctor', '--url', sim.url, '--redis', opts.redisUrl ?? redis.url, '--prefix', opts.prefix ?? prefix,
    '--speed', String(SPEED), '--timeout', opts.timeout ?? '5s',
    ...(opts.token === false ? [] : ['--token', TOKEN]), ...args,
  ];
  return runCli(argv, { cwd: '/', timeoutMs: 20_000 });
}

async function listen(server: Server | WebSocketServer): Promise<number> {
  if (server instanceof WebSocketServer) {
    await once(server, 'listening');
    return (server.address() as { port: number }).port;
  }
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

describe('doctor against a healthy backend', () => {
  it('passes every check and exits 0 (clock skipped: rehearsal timestamps run 20x)', async () => {
    const r = await doctor([]);
    expect(r.stderr).toMatch(/21 passed · 0 failed · 1 skipped/);
    expect(r.code).toBe(0);
    const checks = rows(r.stdout);
    const ids = [...checks.keys()];
    expect(ids).toEqual([
      'config', 'redis.reachable', 'redis.layout', 'redis.env', 'redis.persistence', 'redis.eviction', 'redis.reset',
      'rest.account_balance', 'rest.positions', 'rest.intraday', 'rest.global_market',
      'ws.handshake', 'ws.type.account_balance', 'ws.type.positions', 'ws.type.intraday', 'ws.type.global_market',
      'ws.errors', 'ws.other', 'ws.heartbeat', 'ws.ping', 'flags.backend', 'clock',
    ]);
    for (const c of checks.values()) expect(c.status, `${c.id}: ${c.measured}`).toBe(c.id === 'clock' ? 'skip' : 'pass');
    expect(checks.get('config')!.measured).toContain('built-in defaults');
    expect(checks.get('redis.reachable')!.measured).toMatch(/PONG in \d/);
    expect(checks.get('redis.layout')!.measured).toContain(`${prefix} ·`);
    expect(checks.get('ws.handshake')!.measured).toMatch(/^101 Switching Protocols in \d/);
    expect(checks.get('ws.handshake')!.measured).not.toContain(TOKEN);
    expect(checks.get('ws.heartbeat')!.measured).toContain('active_jobs: AccountBalanceJob');
    expect(checks.get('ws.ping')!.measured).toMatch(/\{"type":"ping"\} \d+ms/);
    expect(checks.get('flags.backend')!.measured).toBe('heartbeat = Redis (SHADOW, on: none)');
  });

  it('--json: one document with schemaVersion and every check', async () => {
    const r = await doctor(['--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, kind: 'doctor', ok: true, speed: SPEED, timeoutMs: 5_000, summary: { fail: 0 } });
    expect(doc.checks).toHaveLength(22);
    expect(doc.checks[0]).toEqual(expect.objectContaining({ id: 'config', section: 'config', status: 'pass', hint: null }));
    expect(JSON.stringify(doc)).not.toContain(TOKEN);
  });
});

describe('each broken thing fails exactly its check, with its hint', () => {
  it('a REST path the backend does not serve: 404, the path tried and the config key that moves it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-cfg-'));
    const file = join(dir, 'thor-cutover.config.json');
    writeFileSync(file, JSON.stringify({ features: { positions: { restPath: '/api/v1/positions/' } } }));
    const r = await doctor(['--config', file]);
    expect(r.code).toBe(1);
    const checks = rows(r.stdout);
    expect(failing(checks)).toEqual(['rest.positions']);
    const c = checks.get('rest.positions')!;
    expect(c.measured).toBe(`404 Not Found at GET ${sim.url}/api/v1/positions/: "not found"`);
    expect(c.hint).toContain('features.positions.restPath');
    expect(checks.get('config')!.measured).toContain(file);
  });

  it('no token against a backend that needs one: 401 on the account endpoints, explained as a token problem', async () => {
    const r = await doctor([], { token: false });
    expect(r.code).toBe(1);
    const checks = rows(r.stdout);
    expect(failing(checks)).toEqual(['rest.account_balance', 'rest.positions']);
    for (const id of ['rest.account_balance', 'rest.positions']) {
      expect(checks.get(id)!.measured).toMatch(/^401 Unauthorized at GET /);
      expect(checks.get(id)!.hint).toContain('pass --token');
    }
    // Account-scoped types go only to sockets with a token: not a failure, not a pass either.
    expect(checks.get('ws.type.account_balance')!.status).toBe('skip');
    expect(checks.get('ws.type.positions')!.measured).toContain('pass --token');
  });

  it('a message type that never arrives: named, with what to look at', async () => {
    sim.setFaults([parseFault('drop=global_market:1'), parseFault('drop=global_market:2')]);
    try {
      const r = await doctor([], { timeout: '3s' });
      expect(r.code).toBe(1);
      const checks = rows(r.stdout);
      expect(failing(checks)).toEqual(['ws.type.global_market']);
      const c = checks.get('ws.type.global_market')!;
      expect(c.measured).toMatch(/^no "market_status" in [\d.]+s \(expected every 500ms\)$/);
      expect(c.hint).toContain('features.global_market.wsTypes');
      expect(c.hint).toContain('Check job is executing');
    } finally {
      sim.setFaults([]);
    }
  });

  it('a backend whose heartbeat flags disagree with Redis: since when, and the likely cause', async () => {
    // The same Redis, another prefix: a flag turned on five minutes ago that the backend never hears about.
    const other = uniquePrefix('doctor-other');
    const at = new Date(Date.now() - 5 * 60_000).toISOString();
    const c = redis.client();
    try {
      await c.hset(`${other}:flags`, 'account_balance', 'true');
      await c.set(`${other}:rev`, '1');
      await c.xadd(`${other}:audit`, '*', 'feature', 'account_balance', 'from', 'false', 'to', 'true', 'actor', 'alice',
        'reason', 'week 1', 'rev', '1', 'at', at, 'forced', 'false');
    } finally {
      c.disconnect();
    }
    const r = await doctor([], { prefix: other });
    expect(r.code).toBe(1);
    const checks = rows(r.stdout);
    expect(failing(checks)).toEqual(['flags.backend']);
    const f = checks.get('flags.backend')!;
    expect(f.measured).toContain('heartbeat disagrees with Redis: account_balance: backend off, Redis on (redis),');
    expect(f.measured).toContain(`since ${at} (5m ago, rev 1 by alice)`);
    expect(f.hint).toContain(`nobody subscribes to ${other}:events`);
    expect(checks.get('redis.layout')!.measured).toContain('events: 0 subscribers');
  });

  it('a backend that takes a flag from its own env var: the cause named, with the fix', async () => {
    const envPrefix = uniquePrefix('doctor-env');
    const config = defaultConfig({ redisUrl: redis.url, prefix: envPrefix });
    const store = await openStore(config, { oneShot: false });
    const envSim = await startSimulator({ config, port: 0, speed: SPEED, store, env: { WS_FEATURE_POSITIONS: 'true' } });
    try {
      const r = await runCli(['doctor', '--url', envSim.url, '--redis', redis.url, '--prefix', envPrefix, '--speed', String(SPEED), '--timeout', '5s'],
        { cwd: '/', timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      const checks = rows(r.stdout);
      expect(failing(checks)).toEqual(['flags.backend']);
      const f = checks.get('flags.backend')!;
      expect(f.measured).toBe('heartbeat disagrees with Redis: positions: backend on, Redis off (default), the hash has no field for it');
      expect(f.hint).toContain('falls back to its own WS_FEATURE_POSITIONS');
      expect(f.hint).toContain('thor-cutover enable|disable positions');
    } finally {
      await envSim.close();
      await store.close();
    }
  });

  it('Redis down: the Redis check fails, what needs Redis is skipped, the rest still runs', async () => {
    const dead = await new TestRedis().start();
    await dead.stop();
    try {
      const r = await doctor([], { redisUrl: dead.url });
      expect(r.code).toBe(1);
      const checks = rows(r.stdout);
      expect(failing(checks)).toEqual(['redis.reachable']);
      expect(checks.get('redis.reachable')!.measured).toBe(`cannot reach Redis at ${dead.url}: connection refused`);
      expect(checks.get('redis.reachable')!.hint).toContain('redis-server running');
      for (const id of ['redis.layout', 'redis.env', 'flags.backend']) expect(checks.get(id)!.status).toBe('skip');
      expect(checks.get('ws.heartbeat')!.status).toBe('pass');
    } finally {
      await dead.dispose();
    }
  });

  it('a server that accepts TCP and never answers the handshake: a WS timeout, within --timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => { sockets.add(s); s.on('error', () => {}); });
    const port = await listen(silent);
    try {
      const began = Date.now();
      const r = await doctor(['--ws-url', `ws://127.0.0.1:${port}/ws/`], { timeout: '2s' });
      const tookMs = Date.now() - began;
      expect(r.code).toBe(1);
      const checks = rows(r.stdout);
      expect(failing(checks)).toEqual(['ws.handshake']);
      const c = checks.get('ws.handshake')!;
      expect(c.measured).toMatch(new RegExp(`^no answer to the WebSocket handshake within [\\d.]+s from ws://127.0.0.1:${port}/ws/`));
      expect(c.hint).toContain('Upgrade');
      for (const id of ['ws.type.intraday', 'ws.heartbeat', 'ws.ping']) expect(checks.get(id)!.status).toBe('skip');
      // Without a heartbeat the flags come from the backend's flags endpoint.
      expect(checks.get('flags.backend')!.measured).toMatch(/^GET \/api\/cutover\/flags\/ = Redis/);
      // Bounded: node start-up + 2 s, with room for a loaded machine.
      expect(tookMs).toBeLessThan(8_000);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe('what a close code, a stray type and a skewed clock look like', () => {
  it('a socket closed by the server with 4401 is explained as a token problem', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => ws.close(4401, 'bad token'));
    const port = await listen(wss);
    try {
      const r = await doctor(['--ws-url', `ws://127.0.0.1:${port}/ws/`], { timeout: '2s' });
      expect(r.code).toBe(1);
      const checks = rows(r.stdout);
      expect(failing(checks)).toEqual(['ws.handshake']);
      const c = checks.get('ws.handshake')!;
      expect(c.measured).toMatch(/^101 Switching Protocols in \d+ms · .*, then closed by the server after \d+ms: 4401 unauthorized .*\("bad token"\)$/);
      expect(c.hint).toContain('--token');
    } finally {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    }
  });

  /** Doctor at --speed 1 against a server that sends two stray types and one heartbeat with this timestamp. */
  async function withHeartbeat(timestamp: unknown) {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => {
      ws.on('message', (raw) => {
        const msg = JSON.parse(raw.toString()) as { type: string; timestamp: number };
        if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong', timestamp: msg.timestamp }));
      });
      ws.send(JSON.stringify({ type: 'vwap_bar', data: { symbol: 'ES' } }));
      ws.send(JSON.stringify({ type: 'quote_tick', data: { symbol: 'ES' } }));
      ws.send(JSON.stringify({ type: 'heartbeat', data: { timestamp, tick: 30, active_jobs: ['IntradayJob'], flags: {} } }));
    });
    const port = await listen(wss);
    try {
      // --speed 1: only then are the backend's timestamps comparable with this clock.
      return await runCli(['doctor', '--url', sim.url, '--ws-url', `ws://127.0.0.1:${port}/ws/`, '--redis', redis.url,
        '--prefix', prefix, '--token', TOKEN, '--timeout', '1500ms'], { cwd: '/', timeoutMs: 20_000 });
    } finally {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    }
  }

  it('an hour of clock skew fails the clock check; a type no feature claims is a warning', async () => {
    const r = await withHeartbeat(new Date(Date.now() - 3_600_000).toISOString());
    const checks = rows(r.stdout);
    const clock = checks.get('clock')!;
    expect(clock.status).toBe('fail');
    expect(clock.measured).toMatch(/^backend behind by (59m59s|1h00m) \(heartbeat timestamp/);
    expect(clock.hint).toContain('sync both clocks');
    const other = checks.get('ws.other')!;
    expect(other.status).toBe('warn');
    expect(other.measured).toBe('no feature claims vwap_bar ×1 · known extras: quote_tick');
    // 1.5 s is shorter than two 10 s intervals: no type can be judged missing yet.
    expect(checks.get('ws.type.account_balance')!.status).toBe('warn');
    expect(checks.get('ws.type.account_balance')!.hint).toContain('raise --timeout');
    expect(r.code).toBe(1);
  });

  it('a timestamp that is no clock reading (epoch 0) is called that, not decades of skew', async () => {
    const r = await withHeartbeat('1970-01-01T00:00:00Z');
    const clock = rows(r.stdout).get('clock')!;
    expect(clock.status).toBe('fail');
    expect(clock.measured).toMatch(/^heartbeat timestamp reads 19\d\d-\d\d-\d\dT[\d:.]+Z, [\d,]+ days behind this clock: not a clock reading, no skew measured$/);
    expect(clock.hint).toContain('fix the sender');
    expect(clock.hint).not.toContain('sync both clocks');
  });
});

describe('output and usage', () => {
  it('on a terminal: a glyph per check and the hint under a failure', async () => {
    const { io, seen } = captureIO({ stdoutIsTTY: true });
    const code = await main(['doctor', '--url', sim.url, '--redis', redis.url, '--prefix', prefix, '--speed', String(SPEED), '--timeout', '4s'], io);
    expect(code).toBe(1);
    const { stdout, stderr } = seen;
    const lines = stdout.split('\n');
    expect(lines[0]).toContain(`thor-cutover doctor · ${sim.url}`);
    expect(lines).toContainEqual(expect.stringMatching(/^✔ WebSocket +101 Switching Protocols in /));
    const fail = lines.findIndex((l) => /^✖ REST account_balance +401 Unauthorized/.test(l));
    expect(fail).toBeGreaterThan(0);
    expect(lines[fail + 1]).toMatch(/^ +hint: no token was sent/);
    expect(lines).toContainEqual(expect.stringMatching(/^- WS positions +not checked/));
    expect(stdout).toMatch(/\d+ passed · 2 failed · \d+ skipped in /);
    expect(stderr).toBe('');
  });

  it('on a terminal stderr: one line says how long the run may take (the bound --timeout sets)', async () => {
    const { io, seen } = captureIO({ stderrIsTTY: true });
    await main(['doctor', '--url', sim.url, '--redis', redis.url, '--prefix', prefix, '--speed', String(SPEED), '--timeout', '2s'], io);
    expect(seen.stderr.split('\n')[0]).toBe('doctor: checking for up to 2s (sooner once every message type, a heartbeat and a pong have arrived)');
  });

  it('Ctrl-C: stops watching at once, prints what it has, exits 130', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((sock) => { sockets.add(sock); sock.on('error', () => {}); });
    const port = await listen(silent);
    const ctrlC = new AbortController();
    const { io, seen } = captureIO({ env: {}, interrupted: ctrlC.signal });
    try {
      const began = Date.now();
      const running = main(['doctor', '--url', sim.url, '--ws-url', `ws://127.0.0.1:${port}/ws/`, '--redis', redis.url, '--prefix', prefix, '--timeout', '30s'], io);
      // Once the handshake is pending on the silent server, interrupt.
      await waitFor(() => sockets.size > 0, 10_000, 'the handshake on the silent server');
      ctrlC.abort();
      expect(await running).toBe(130);
      expect(Date.now() - began).toBeLessThan(10_000);
      expect(rows(seen.stdout).get('ws.handshake')!.status).toBe('fail');
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
    }
  });

  it('exit 2 when it cannot run: a bad --speed, an invalid config', async () => {
    const speed = await runCli(['doctor', '--speed', '0'], { cwd: '/' });
    expect(speed.code).toBe(2);
    expect(speed.stderr).toContain('--speed takes a number above zero, got "0"');
    const dir = mkdtempSync(join(tmpdir(), 'doctor-bad-'));
    const file = join(dir, 'thor-cutover.config.json');
    writeFileSync(file, JSON.stringify({ backend: { timeout: 'soon' } }));
    const bad = await runCli(['doctor', '--config', file], { cwd: '/' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('location: backend.timeout');
    expect(bad.stdout).toBe('');
  });
});
