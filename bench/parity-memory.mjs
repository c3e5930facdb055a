#!/usr/bin/env node
// Memory of the parity engine over a long stream: RSS after 1M messages and after the
// total (default 3M; --big for 10M), 500 keys. Goal: flat, under 50 MB of growth between
// the two checkpoints.
//
//   npm run build && node bench/parity-memory.mjs [--total 3000000] [--big] [--keys 500] [--series]
//
// --series: the engine also keeps the HTML report's time series (parity/verify --report).
//
// The script re-runs itself with --expose-gc so each checkpoint is measured after a full GC.
import { fork, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { barBatch, frame } from './support.mjs';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const KEYS = opt('keys', 500);
const FIRST = 1_000_000;
const TOTAL = args.includes('--big') ? 10_000_000 : opt('total', 3_000_000);
const BATCH = KEYS * 20;
const batch = (round) => barBatch(round, KEYS);
const SERIES = args.includes('--series');


async function server() {
  const batches = Array.from({ length: 8 }, (_, r) => batch(r));
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    const socket = ws._socket;
    let sent = 0;
    let r = 0;
    const send = async (upTo, mark) => {
      while (sent < upTo) {
        const ok = socket.write(batches[r++ % batches.length]);
        sent += BATCH;
        if (!ok) await once(socket, 'drain');
      }
      socket.write(frame(JSON.stringify({ type: mark, data: {} })));
    };
    // The client answers each mark once it has measured; then the stream goes on.
    ws.on('message', () => { void send(TOTAL, 'bench_mark_2'); });
    void send(FIRST, 'bench_mark_1');
  });
  process.send({ port: wss.address().port });
}

function mb(n) {
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

async function client() {
  const dist = join(fileURLToPath(new URL('..', import.meta.url)), 'dist');
  const { loadConfig } = await import(join(dist, 'config/load.js'));
  const { createEngine } = await import(join(dist, 'stream/index.js'));
  const child = fork(self, ['--server', ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = await once(child, 'message');
  // An empty folder as the working directory: the built-in features, no config file.
  const cwd = mkdtempSync(join(tmpdir(), 'bench-'));
  const config = loadConfig({ cwd, env: {}, url: 'http://127.0.0.1:9', wsUrl: `ws://127.0.0.1:${port}/ws/` });
  rmSync(cwd, { recursive: true });
  const engine = createEngine({ config, features: config.features.filter((f) => f.name === 'intraday'), rest: false, reconnect: false, sessions: { mode: 'none' }, series: SERIES });
  const measure = () => { global.gc(); global.gc(); const m = process.memoryUsage(); return { rss: m.rss, heap: m.heapUsed, at: performance.now() }; };
  const t0 = performance.now();
  const base = measure();
  const marks = [];
  const done = new Promise((resolve) => {
    engine.onEvent('unknown-type', (e) => {
      if (!e.wsType.startsWith('bench_mark')) return;
      const snap = engine.snapshot();
      const m = { ...measure(), messages: snap.overall.features[0].ws.messages };
      marks.push(m);
      if (e.wsType === 'bench_mark_1') engine.wsClient.send({ type: 'continue' });
      else resolve();
    });
  });
  await engine.start();
  await done;
  const snap = engine.snapshot();
  await engine.stop();
  child.kill();
  const [a, b] = marks;
  console.log(`parity engine${SERIES ? ' with the report\'s time series' : ''}, intraday_bar over ${KEYS} keys (${snap.overall.features[0].ws.keys} stream keys seen), ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`  start                  RSS ${mb(base.rss).padStart(9)}   heap ${mb(base.heap).padStart(9)}`);
  console.log(`  after ${a.messages.toLocaleString('en-US').padStart(10)} msgs  RSS ${mb(a.rss).padStart(9)}   heap ${mb(a.heap).padStart(9)}`);
  console.log(`  after ${b.messages.toLocaleString('en-US').padStart(10)} msgs  RSS ${mb(b.rss).padStart(9)}   heap ${mb(b.heap).padStart(9)}`);
  const growth = b.rss - a.rss;
  console.log(`  growth between the two: RSS ${mb(growth)}, heap ${mb(b.heap - a.heap)}   (goal < 50 MB: ${growth < 50 * 1024 * 1024 ? 'met' : 'NOT met'})`);
}

if (args.includes('--server')) await server();
else if (typeof global.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', self, ...args], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
} else await client();
