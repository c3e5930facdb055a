#!/usr/bin/env node
// What the gate costs over the engine it reuses: verify against parity over the same stream.
// Two clean market sessions of the simulator at --speed 60 with a 500-symbol intraday book;
// each tool runs in its own process against a fresh simulator with the same seed (the same
// stream), one after the other so neither starves the other on a small machine. Reported:
// CPU seconds (user + system) per 1,000 WS messages and peak RSS, and verify/parity ratios.
//
//   npm run build && node bench/verify-cost.mjs [--speed 60] [--symbols 500] [--sessions 2] [--rounds 2]
//
// Goal: verify costs no more than parity (ratios about 1.0: it is the same engine plus a
// checklist at the end).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, arg, freePort, median, startRedis } from './support.mjs';

const SPEED = Number(arg('--speed', '60'));
const SYMBOLS = Number(arg('--symbols', '500'));
const SESSIONS = Number(arg('--sessions', '2'));
const ROUNDS = Number(arg('--rounds', '2'));
const SEED = 4242;

const dir = mkdtempSync(join(tmpdir(), 'verify-cost-'));
// Each measured CLI writes its own resource usage when it exits: no polling, nothing missed.
const hook = join(dir, 'rusage.mjs');
writeFileSync(hook, `import { writeFileSync } from 'node:fs';
process.on('exit', () => {
  const u = process.resourceUsage();
  writeFileSync(process.env.RUSAGE_FILE, JSON.stringify({ cpuUs: u.userCPUTime + u.systemCPUTime, maxRssKb: u.maxRSS }));
});
`);

async function simulator() {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'simulate', '--port', String(port), '--speed', String(SPEED), '--symbols', String(SYMBOLS), '--seed', String(SEED),
    '--redis', 'memory://bench'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (b) => { log += b; });
  proc.stderr.on('data', (b) => { log += b; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${url}/healthz`)).ok) break; } catch { /* not listening yet */ }
    if (i > 200 || proc.exitCode !== null) throw new Error(`simulator did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, stats: async () => (await fetch(`${url}/_sim/stats`)).json(), stop: async () => { proc.kill('SIGINT'); await once(proc, 'exit'); } };
}

async function measure(tool, env) {
  const sim = await simulator();
  const usage = join(dir, `${tool}-${Date.now()}.json`);
  const args = tool === 'verify'
    ? ['verify', '--shadow', '--sessions', String(SESSIONS), '--speed', String(SPEED), '--url', sim.url, '--json', '--record-timeout', '1s']
    : ['parity', '--sessions', String(SESSIONS), '--speed', String(SPEED), '--url', sim.url, '--json'];
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', hook, BIN, ...args], {
    env: { ...process.env, ...env, RUSAGE_FILE: usage, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => { out += b; });
  child.stderr.on('data', (b) => { err += b; });
  const [code] = await once(child, 'exit');
  const wallMs = performance.now() - t0;
  const stats = await sim.stats();
  await sim.stop();
  // The verdict does not matter here (at --speed 60 a 1 s beat is 17 ms and may read as late); only a crash does.
  if (code === null || code === 2 || code > 3) throw new Error(`${tool} exited ${code}: ${err}`);
  const report = JSON.parse(out);
  const messages = report.connection.messages;
  const u = JSON.parse(readFileSync(usage, 'utf8'));
  return { tool, code, wallMs, messages, cpuS: u.cpuUs / 1e6, cpuPer1k: (u.cpuUs / 1e6) / (messages / 1000), rssMb: u.maxRssKb / 1024, dropped: stats.slowClientsDropped };
}

const redis = await startRedis();
const env = { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: `{bench:${process.pid}}` };
const runs = { parity: [], verify: [] };
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const tool of ['parity', 'verify']) {
      const m = await measure(tool, env);
      runs[tool].push(m);
      console.log(`${tool.padEnd(6)} exit ${m.code}  ${m.messages.toLocaleString('en-US').padStart(9)} msgs in ${(m.wallMs / 1000).toFixed(1)} s  `
        + `cpu ${m.cpuS.toFixed(2)} s = ${m.cpuPer1k.toFixed(4)} cpu-s/1k msgs  peak RSS ${m.rssMb.toFixed(1)} MB${m.dropped ? `  (simulator dropped ${m.dropped} slow client(s))` : ''}`);
    }
  }
} finally {
  redis.stop();
}
const p = { cpu: median(runs.parity.map((m) => m.cpuPer1k)), rss: median(runs.parity.map((m) => m.rssMb)) };
const v = { cpu: median(runs.verify.map((m) => m.cpuPer1k)), rss: median(runs.verify.map((m) => m.rssMb)) };
console.log(`\n${SESSIONS} sessions at --speed ${SPEED}, ${SYMBOLS} symbols, ${ROUNDS} round(s), medians:`);
console.log(`  CPU s per 1,000 msgs: parity ${p.cpu.toFixed(4)}  verify ${v.cpu.toFixed(4)}  ratio verify/parity ${(v.cpu / p.cpu).toFixed(2)}`);
console.log(`  peak RSS (MB):        parity ${p.rss.toFixed(1)}  verify ${v.rss.toFixed(1)}  ratio verify/parity ${(v.rss / p.rss).toFixed(2)}`);
