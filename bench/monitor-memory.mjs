#!/usr/bin/env node
// Memory of `thor-cutover monitor` (the built CLI, a process of its own) over a long stream:
// its RSS after 1M messages and after the total (default 3M; --big for 10M), 500 keys,
// with a window closing (and recorded in Redis) every --window seconds. Goal: flat, under
// 50 MB of growth between the two checkpoints (the same bound as parity).
//
//   npm run build && node bench/monitor-memory.mjs [--total 3000000] [--big] [--keys 500] [--window 5]
//
// The message count is read from the monitor's own /metrics (--metrics), the RSS from
// /proc/<pid>/status: nothing is added to the process being measured.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { BIN, barBatch, startRedis } from './support.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const KEYS = opt('keys', 500);
const FIRST = 1_000_000;
const TOTAL = args.includes('--big') ? 10_000_000 : opt('total', 3_000_000);
const WINDOW_S = opt('window', 5);
const BATCH = KEYS * 20;
const batch = (round) => barBatch(round, KEYS);


const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

// The backend: the stream on /ws/ (as fast as the monitor reads it), REST answering [] for intraday.
const batches = Array.from({ length: 8 }, (_, r) => batch(r));
const http = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'));
const wss = new WebSocketServer({ server: http, path: '/ws/', perMessageDeflate: false });
wss.on('connection', (ws) => {
  const socket = ws._socket;
  let sent = 0;
  let r = 0;
  const pump = async () => {
    while (sent < TOTAL + BATCH && socket.writable) {
      const ok = socket.write(batches[r++ % batches.length]);
      sent += BATCH;
      if (!ok) await once(socket, 'drain');
    }
  };
  void pump();
});
http.listen(0, '127.0.0.1');
await once(http, 'listening');
const url = `http://127.0.0.1:${http.address().port}`;

const redis = await startRedis();
const prefix = `{thor:bench:${process.pid}}`;
const cwd = mkdtempSync(join(tmpdir(), 'bench-'));
const child = spawn(process.execPath, [BIN, 'monitor', 'intraday', '--shadow', '--session-length', `${WINDOW_S}s`, '--url', url, '--metrics', '127.0.0.1:0', '--jitter', '5s'], {
  cwd, env: { ...process.env, THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: prefix, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
});
let err = '';
child.stderr.on('data', (b) => { err += b; });
child.stdout.resume();
const t0 = performance.now();
while (!/metrics: serving (\S+)/.test(err)) {
  if (child.exitCode !== null) throw new Error(`monitor exited ${child.exitCode}: ${err}`);
  await new Promise((r) => setTimeout(r, 50));
}
const metricsUrl = /metrics: serving (\S+)/.exec(err)[1];
const base = rssKb(child.pid);

async function messages() {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^thor_cutover_ws_messages_total\{feature="intraday"\} (\d+)/m.exec(text)?.[1] ?? 0);
}
async function until(n) {
  for (;;) {
    const m = await messages();
    if (m >= n) return { messages: m, rss: rssKb(child.pid), at: performance.now() };
    if (child.exitCode !== null) throw new Error(`monitor exited ${child.exitCode}: ${err}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const a = await until(FIRST);
const b = await until(TOTAL);
child.kill('SIGTERM');
await once(child, 'exit');
const recorded = (err.match(/^monitor: recorded window/gm) ?? []).length;
wss.close();
http.close();
redis.stop();
rmSync(cwd, { recursive: true });

console.log(`monitor (the CLI), intraday_bar over ${KEYS} keys, a ${WINDOW_S} s window recorded in Redis as each ends (${recorded} recorded), ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`  start                  RSS ${mb(base).padStart(9)}`);
console.log(`  after ${a.messages.toLocaleString('en-US').padStart(10)} msgs  RSS ${mb(a.rss).padStart(9)}`);
console.log(`  after ${b.messages.toLocaleString('en-US').padStart(10)} msgs  RSS ${mb(b.rss).padStart(9)}`);
const growth = b.rss - a.rss;
console.log(`  growth between the two: RSS ${mb(growth)}   (goal < 50 MB: ${growth < 50 * 1024 ? 'met' : 'NOT met'})`);
