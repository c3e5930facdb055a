#!/usr/bin/env node
// Parity's analysis against a bare ws client that only JSON.parses each frame, same run.
// A local ws server (its own process, so it does not share our event loop) pushes
// intraday-sized messages as fast as the socket takes them: pre-built frames written in
// 1 MB chunks, so the client side is the bottleneck being measured.
//
//   npm run build && node bench/parity-throughput.mjs [--messages 300000] [--rounds 7] [--symbols 500] [--only bare|reader|parity] [--series]
//
// Goal: parity keeps at least 2/3 of the bare client's rate, judged on CPU time per message
// and on the median of the rounds' own ratios (each round runs the clients back to back,
// which cancels most of a shared machine's slow swings). A third client, `reader`, does the
// bare client's work on parity's own frame path (src/stream/frame-reader.ts): parity / reader
// is what the analysis engine alone costs. --only bare|reader|parity runs one kind, for profilers.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const MESSAGES = opt('messages', 300_000);
const ROUNDS = opt('rounds', 7);
const SYMBOLS = opt('symbols', 500);
// --only bare|reader|parity: one client kind (for profilers; no ratio is printed).
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
// --series: parity keeps the HTML report's time series too (parity/verify --report).
const SERIES = args.includes('--series');

/** Pre-serialised frames: intraday_bar payloads over SYMBOLS symbols, a new minute every SYMBOLS*60 frames. */
export function frames(n, symbols) {
  const out = new Array(n);
  const t0 = Date.UTC(2026, 0, 5, 14, 30);
  for (let i = 0; i < n; i++) {
    const sym = `SYM${String(i % symbols).padStart(4, '0')}`;
    const minute = Math.floor(i / (symbols * 60));
    const px = 4_000 + ((i * 7919) % 1000) / 4;
    out[i] = JSON.stringify({
      type: 'intraday_bar',
      data: { symbol: sym, timestamp: new Date(t0 + minute * 60_000).toISOString(), open: px, high: px + 1.25, low: px - 0.75, close: px + 0.25, volume: 1000 + (i % 977) },
    });
  }
  return out;
}

/** One unmasked server text frame (RFC 6455 5.2). */
function frameBytes(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 255]) : null;
  if (!head) throw new Error('message too large for the bench');
  return Buffer.concat([head, payload]);
}

async function server() {
  // Frames are built once and written to the socket in large chunks, so the server costs
  // next to nothing and the client's reading is what is measured.
  const stream = Buffer.concat([...frames(MESSAGES, SYMBOLS), JSON.stringify({ type: 'bench_done', data: {} })].map(frameBytes));
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    const socket = ws._socket;
    let off = 0;
    const CHUNK = 1 << 20;
    const pump = () => {
      while (off < stream.length) {
        const end = Math.min(stream.length, off + CHUNK);
        const ok = socket.write(stream.subarray(off, end));
        off = end;
        if (!ok) { socket.once('drain', pump); return; }
      }
    };
    pump();
  });
  process.send({ port: wss.address().port });
}

/**
 * The bare clients' work per message: JSON.parse, counted from the first message to
 * bench_done; resolves with the count, wall time and CPU time.
 */
function counting(ws, resolve) {
  let n = 0;
  let t0 = 0;
  let c0 = null;
  return (text) => {
    const m = JSON.parse(text);
    if (n === 0) { t0 = performance.now(); c0 = process.cpuUsage(); }
    if (m.type === 'bench_done') {
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      ws.terminate();
      resolve({ n, ms, cpuMs: (cpu.user + cpu.system) / 1000 });
      return;
    }
    n++;
  };
}

async function bare(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('error', (e) => { throw e; });
  return new Promise((resolve) => {
    const onText = counting(ws, resolve);
    ws.on('message', (data) => onText(String(data)));
  });
}

/** The bare client's work on parity's own frame path: the engine's cost alone is parity / this. */
async function reader(url, dist) {
  const { attachTextFrameReader } = await import(join(dist, 'stream/frame-reader.js'));
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, allowSynchronousEvents: true });
  ws.on('error', (e) => { throw e; });
  return new Promise((resolve) => {
    const onText = counting(ws, resolve);
    ws.on('open', () => attachTextFrameReader(ws, (buf, start, end) => onText(buf.toString('utf8', start, end))));
  });
}

async function parity(url, dist) {
  const { loadConfig } = await import(join(dist, 'config/load.js'));
  const { createEngine } = await import(join(dist, 'stream/index.js'));
  // An empty folder as the working directory: the built-in features, no config file.
  const cwd = mkdtempSync(join(tmpdir(), 'bench-'));
  const config = loadConfig({ cwd, env: {}, url: 'http://127.0.0.1:9', wsUrl: url });
  rmSync(cwd, { recursive: true });
  const intraday = config.features.filter((f) => f.name === 'intraday');
  const engine = createEngine({ config, features: intraday, rest: false, reconnect: false, sessions: { mode: 'none' }, series: SERIES });
  let t0 = 0;
  let c0 = null;
  const done = new Promise((resolve) => {
    engine.onEvent('unknown-type', (e) => { if (e.wsType === 'bench_done') resolve({ end: performance.now(), cpu: process.cpuUsage(c0) }); });
  });
  const first = new Promise((resolve) => engine.onEvent('ws-open', () => resolve()));
  engine.start();
  await first;
  // The first message marks the start, as for the bare client.
  engine.wsClient.once('message', () => { t0 = performance.now(); c0 = process.cpuUsage(); });
  const { end, cpu } = await done;
  const snap = engine.snapshot();
  await engine.stop();
  const f = snap.overall.features[0];
  return { n: f.ws.messages, ms: end - t0, cpuMs: (cpu.user + cpu.system) / 1000, keys: f.ws.keys };
}

async function main() {
  const dist = join(fileURLToPath(new URL('..', import.meta.url)), 'dist');
  const clients = { bare, reader, parity };
  const kinds = Object.keys(clients);
  const results = { bare: [], reader: [], parity: [] };
  const cpuRates = { bare: [], reader: [], parity: [] };
  for (let r = 0; r < ROUNDS; r++) {
    // Each round runs every client back to back, in a rotating order.
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + r) % kinds.length];
      if (ONLY && kind !== ONLY) continue;
      const child = fork(fileURLToPath(import.meta.url), ['--server', ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const [{ port }] = await once(child, 'message');
      const url = `ws://127.0.0.1:${port}/ws/`;
      const res = await clients[kind](url, dist);
      child.kill();
      await once(child, 'exit');
      const rate = (res.n / res.ms) * 1000;
      const cpuRate = (res.n / res.cpuMs) * 1000;
      results[kind].push(rate);
      cpuRates[kind].push(cpuRate);
      console.log(`round ${r + 1} ${kind.padEnd(6)} ${res.n} msgs in ${res.ms.toFixed(0)} ms wall, ${res.cpuMs.toFixed(0)} ms CPU = ${Math.round(rate).toLocaleString('en-US')} msgs/s, ${Math.round(cpuRate).toLocaleString('en-US')} msgs per CPU-s`);
    }
  }
  if (ONLY) return;
  const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(11);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // A round's own ratio cancels the slow swings of a shared machine; the median of those
  // is what the goal is judged on. Wall-clock rates swing with whatever else runs on the
  // machine; CPU time per message is what the client itself costs.
  const paired = (of, to) => median(cpuRates[of].map((x, i) => x / cpuRates[to][i]));
  const goal = paired('parity', 'bare');
  console.log(`\nmedians over ${ROUNDS} rounds, ${MESSAGES.toLocaleString('en-US')} intraday_bar messages over ${SYMBOLS} symbols:`);
  console.log(`                                     wall msgs/s   msgs per CPU-second`);
  console.log(`  bare: ws + JSON.parse              ${fmt(median(results.bare))}   ${fmt(median(cpuRates.bare))}`);
  console.log(`  reader: parity's frame path + JSON.parse ${fmt(median(results.reader)).trimStart().padStart(5)}   ${fmt(median(cpuRates.reader))}`);
  console.log(`  parity: frame path + engine${SERIES ? '+series' : '       '} ${fmt(median(results.parity))}   ${fmt(median(cpuRates.parity))}`);
  console.log(`  median round ratio parity / bare                ${goal.toFixed(2).padStart(7)}   (goal >= 0.67 on CPU: ${goal >= 2 / 3 ? 'met' : 'NOT met'})`);
  console.log(`  median round ratio parity / reader              ${paired('parity', 'reader').toFixed(2).padStart(7)}   (the engine's own cost, for information)`);
}

// Imported (bench/parity-memory.mjs uses frames()): do nothing.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (args.includes('--server')) await server();
  else await main();
}
