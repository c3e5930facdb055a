#!/usr/bin/env node
// How much the simulator's WS fan-out sustains on this machine.
//
//   node bench/sim-fanout.mjs [--window 3] [--max-clients 800] [--max-speed 64] [--symbols-list 4,50,500,2000]
//
// The simulator runs as its own process (the built CLI, `thor-cutover simulate`), so its CPU
// is measured apart from the clients' (this process). Three sweeps:
//   1. intraday messages/s vs --symbols (1 client, speed 1): the per-tick cost grows with the book;
//   2. connected clients at 500 symbols / 1 s (500 msgs/s each): where delivery stops keeping up;
//   3. messages/s per client at 500 symbols and 10 clients, raising --speed.
// "Keeps up": the server sent >= 95% of the intraday bars due in the window, give or take one
// slice of the book at the window's edges (it kept its schedule, by GET /_sim/stats), every client received >= 95% of what was sent, and the p95
// ping->pong round trip stayed under 500 ms (a queue would show there).
// Ratios are against the first row of each sweep (the baseline of the same run).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { BIN } from './support.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const WINDOW_S = Number(opt('window', '3'));
const MAX_CLIENTS = Number(opt('max-clients', '800'));
const MAX_SPEED = Number(opt('max-speed', '64'));
const SYMBOLS_LIST = opt('symbols-list', '4,50,500,2000').split(',').map(Number);
const KEEP_UP = 0.95;
const RTT_LIMIT_MS = 500;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100; // /proc stat units

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS; // utime + stime
}

async function startSim(extra) {
  const child = spawn(process.execPath, [BIN, 'simulate', '--port', '0', '--seed', '1', '--redis', 'redis://127.0.0.1:1', ...extra], {
    env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (b) => { err += b; });
  const [httpUrl, url] = await new Promise((resolve, reject) => {
    child.stdout.on('data', (b) => {
      out += b;
      const m = /on (http:\/\/\S+) \((ws:\/\/\S+)\)/.exec(out);
      if (m) resolve([m[1], m[2]]);
    });
    child.on('close', (code) => reject(new Error(`simulate exited ${code}: ${err}`)));
  });
  return {
    url: httpUrl,
    wsUrl: url,
    pid: child.pid,
    stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('close', r)); },
  };
}

const INTRADAY = Buffer.from('{"type":"intraday_bar"');
function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const c = { ws, bars: 0, rtts: [] };
    ws.on('error', reject);
    ws.on('open', () => resolve(c));
    ws.on('message', (data) => {
      // Count without parsing: the client side must not be what limits the measurement.
      if (data.length > INTRADAY.length && data.compare(INTRADAY, 0, INTRADAY.length, 0, INTRADAY.length) === 0) c.bars += 1;
      else if (data[9] === 0x70 /* p */) {
        const m = JSON.parse(data.toString());
        if (m.type === 'pong') c.rtts.push(performance.now() - m.timestamp);
      }
    });
  });
}

/** Count what every client receives over the window, with a ping every 100 ms from each of a few clients. */
async function sentBars(sim) {
  const res = await fetch(`${sim.url}/_sim/stats`);
  return (await res.json()).messages.intraday_bar ?? 0;
}

/** The simulator sends a big book in slices of about 50 symbols (src/sim/server.ts). */
const sliceOf = (symbols) => Math.ceil(symbols / Math.min(10, Math.ceil(symbols / 50)));

async function measure(sim, clients, expectedPerClientPerS, slice) {
  await sleep(300); // let a new client's first full interval arrive
  const sent0 = await sentBars(sim);
  const tA = performance.now();
  for (const c of clients) { c.bars = 0; c.rtts = []; }
  const cpu0 = cpuSeconds(sim.pid);
  const t0 = performance.now();
  const pingers = clients.slice(0, 5);
  const ping = setInterval(() => {
    for (const c of pingers) c.ws.send(JSON.stringify({ type: 'ping', timestamp: performance.now() }));
  }, 100);
  await sleep(WINDOW_S * 1000);
  clearInterval(ping);
  const sent = (await sentBars(sim)) - sent0;
  const secs = (performance.now() - t0) / 1000;
  const cpu = (cpuSeconds(sim.pid) - cpu0) / secs;
  // A window edge can cut a slice in two: one slice either way is not a missed beat.
  const due = (expectedPerClientPerS * (performance.now() - tA)) / 1000;
  const onSchedule = Math.min(1, (sent + slice) / due);
  const perClient = clients.map((c) => c.bars / secs);
  const minRatio = Math.min(...clients.map((c) => c.bars)) / Math.max(sent, 1);
  const rtts = pingers.flatMap((c) => c.rtts).sort((a, b) => a - b);
  const p95 = rtts.length ? rtts[Math.floor(rtts.length * 0.95)] : Infinity;
  const total = perClient.reduce((a, b) => a + b, 0);
  return { perClient: Math.min(...perClient), total, minRatio, onSchedule, p95, cpu, ok: onSchedule >= KEEP_UP && minRatio >= KEEP_UP && p95 < RTT_LIMIT_MS };
}

const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
function table(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  console.log(head.map((h, i) => h.padStart(w[i])).join('  '));
  for (const r of rows) console.log(r.map((c, i) => String(c).padStart(w[i])).join('  '));
}

async function closeAll(clients) {
  for (const c of clients) c.ws.terminate();
}

async function main() {
  console.log(`sim-fanout: window ${WINDOW_S}s, keep-up = >= ${KEEP_UP * 100}% of due bars on every client and p95 ping RTT < ${RTT_LIMIT_MS} ms\n`);

  // 1. symbols sweep
  console.log('1. intraday messages/s vs --symbols (1 client, speed 1, interval 1 s)');
  const rows1 = [];
  let base1;
  for (const n of SYMBOLS_LIST) {
    const sim = await startSim(['--symbols', String(n)]);
    const clients = [await connect(sim.wsUrl)];
    const r = await measure(sim, clients, n, sliceOf(n));
    base1 ??= r;
    rows1.push([n, fmt(r.perClient), `${fmt(r.perClient / base1.perClient, 1)}x`, `${fmt(r.onSchedule * 100, 1)}%`, `${fmt(r.cpu * 100, 1)}%`, fmt(r.p95, 1), r.ok ? 'yes' : 'NO']);
    await closeAll(clients);
    await sim.stop();
  }
  table(['symbols', 'bars/s', 'vs 4 symbols', 'on schedule', 'sim CPU', 'p95 RTT ms', 'keeps up'], rows1);

  // 2. clients ramp at 500 symbols / 1 s
  console.log('\n2. connected clients at 500 symbols / 1 s (500 intraday msgs/s per client)');
  const rows2 = [];
  let base2;
  let maxOk = 0;
  {
    const sim = await startSim(['--symbols', '500']);
    const clients = [];
    for (const n of [1, 10, 50, 100, 200, 400, 800].filter((x) => x <= MAX_CLIENTS)) {
      while (clients.length < n) clients.push(await connect(sim.wsUrl));
      const r = await measure(sim, clients, 500, sliceOf(500));
      base2 ??= r;
      if (r.ok) maxOk = n;
      rows2.push([n, fmt(r.total), `${fmt(r.total / base2.total, 1)}x`, `${fmt(r.onSchedule * 100, 1)}%`, `${fmt(r.minRatio * 100, 1)}%`, `${fmt(r.cpu * 100, 1)}%`, fmt(r.p95, 1), r.ok ? 'yes' : 'NO']);
      if (!r.ok) break;
    }
    await closeAll(clients);
    await sim.stop();
  }
  table(['clients', 'frames/s delivered', 'vs 1 client', 'on schedule', 'worst client', 'sim CPU', 'p95 RTT ms', 'keeps up'], rows2);

  // 3. rate ramp at 500 symbols, 10 clients
  console.log('\n3. messages/s per client at 500 symbols, 10 clients (raising --speed)');
  const rows3 = [];
  let base3;
  let maxRate = 0;
  for (const speed of [1, 2, 4, 8, 16, 32, 64].filter((s) => s <= MAX_SPEED)) {
    const sim = await startSim(['--symbols', '500', '--speed', String(speed)]);
    const clients = [];
    for (let i = 0; i < 10; i++) clients.push(await connect(sim.wsUrl));
    const r = await measure(sim, clients, 500 * speed, sliceOf(500));
    base3 ??= r;
    if (r.ok) maxRate = 500 * speed;
    rows3.push([speed, fmt(500 * speed), fmt(r.perClient), `${fmt(r.perClient / base3.perClient, 1)}x`, `${fmt(r.onSchedule * 100, 1)}%`, `${fmt(r.minRatio * 100, 1)}%`, `${fmt(r.cpu * 100, 1)}%`, fmt(r.p95, 1), r.ok ? 'yes' : 'NO']);
    await closeAll(clients);
    await sim.stop();
    if (!r.ok) break;
  }
  table(['speed', 'due msgs/s', 'got msgs/s/client', 'vs speed 1', 'on schedule', 'worst client', 'sim CPU', 'p95 RTT ms', 'keeps up'], rows3);

  console.log(`\nsummary: 500-symbol book at 1 s: ${rows1.find((r) => r[0] === 500)?.[6] === 'yes' ? 'sustained' : 'NOT sustained'};`
    + ` keeps up with ${maxOk}${maxOk === Math.min(MAX_CLIENTS, 800) ? '+ (the largest tried)' : ''} clients x 500 msgs/s (${fmt(maxOk * 500)} frames/s);`
    + ` 10 clients keep up to ${fmt(maxRate)} msgs/s each${maxRate === 500 * MAX_SPEED ? ' (the largest tried)' : ''}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
