// Shared by the bench scripts: a redis-server of the bench's own and a way to time a command.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'thor-cutover.js');

export async function freePort() {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

export async function startRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let log = '';
    proc.stdout.on('data', (b) => { log += b; if (log.includes('Ready to accept')) resolve(); });
    proc.once('exit', (c) => reject(new Error(`redis-server exited ${c}`)));
  });
  proc.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => proc.kill('SIGKILL') };
}

/** Wall time of one synchronous run, in ms. */
export function timeRun(cmd, args, env = process.env) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** One unmasked text frame, as a server writes it. */
export function frame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  return Buffer.concat([n < 126 ? Buffer.from([0x81, n]) : Buffer.from([0x81, 126, n >> 8, n & 255]), payload]);
}

/** One batch of intraday bars: each of `keys` symbols `perKey` times with moving prices; the bar's minute stays. */
export function barBatch(round, keys, perKey = 20) {
  const parts = [];
  for (let i = 0; i < keys * perKey; i++) {
    const px = 4_000 + ((i * 7919 + round * 13) % 1000) / 4;
    parts.push(frame(JSON.stringify({
      type: 'intraday_bar',
      data: { symbol: `SYM${String(i % keys).padStart(4, '0')}`, timestamp: '2026-01-05T14:30:00.000Z', open: px, high: px + 1.25, low: px - 0.75, close: px + 0.25, volume: 1000 + round + (i % 977) },
    })));
  }
  return Buffer.concat(parts);
}
