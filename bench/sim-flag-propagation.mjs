#!/usr/bin/env node
// Flag propagation: from `thor-cutover enable` returning to the simulator showing the flag,
// against the runbook's way ("export WS_FEATURE_...=true; restart the server").
//
//   node bench/sim-flag-propagation.mjs [--runs 20] [--baseline-runs 20]
//
// Starts its own redis-server on a free port (never the shared one), a simulator process
// (the built CLI) on it, and one WS client. Each run alternates enable/disable of
// account_balance through the CLI and times, from the CLI's exit, until
//   - the heartbeat on the WS shows the new value, and
//   - GET /api/cutover/flags/ shows it (polled every 2 ms).
// Baseline: the env var set and the simulator process restarted, timed from the restart
// until the new process's flags endpoint shows the flag and until a WS client is connected
// again. A real Django/daphne restart takes seconds, so this baseline is a lower bound.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { BIN, freePort, median } from './support.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const RUNS = Number(opt('runs', '20'));
const BASELINE_RUNS = Number(opt('baseline-runs', '20'));
const FEATURE = 'account_balance';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];


async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve, reject) => {
    let log = '';
    proc.stdout.on('data', (b) => { log += b; if (log.includes('Ready to accept connections')) resolve(); });
    proc.once('exit', (c) => reject(new Error(`redis-server exited ${c}`)));
  });
  proc.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, stop: () => { proc.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); } };
}

function baseEnv(extra = {}) {
  const env = { NO_COLOR: '1' };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('THOR_CUTOVER_') && !k.startsWith('WS_FEATURE_')) env[k] = v;
  return { ...env, ...extra };
}

/** A simulator process; resolves once it prints where it listens. */
async function startSim(env, port = 0) {
  const child = spawn(process.execPath, [BIN, 'simulate', '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (b) => { err += b; });
  const m = await new Promise((resolve, reject) => {
    child.stdout.on('data', (b) => {
      out += b;
      const hit = /on (http:\/\/\S+) \((ws:\/\/\S+)\)/.exec(out);
      if (hit) resolve(hit);
    });
    child.on('close', (code) => reject(new Error(`simulate exited ${code}: ${err}`)));
  });
  return { url: m[1], wsUrl: m[2], stop: async () => { child.kill('SIGTERM'); await once(child, 'close'); } };
}

function runCli(argv, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b) => { err += b; });
    child.on('close', (code) => resolve({ code, err, at: performance.now() }));
  });
}

async function flagsEndpoint(url) {
  const res = await fetch(`${url}/api/cutover/flags/`);
  return (await res.json()).flags[FEATURE];
}

/** Poll until the endpoint shows the value; the time it first did. */
async function endpointShows(url, value) {
  for (;;) {
    try {
      if ((await flagsEndpoint(url)) === value) return performance.now();
    } catch { /* the restarted process is not listening yet */ }
    await sleep(2);
  }
}

async function main() {
  const redis = await startRedis();
  const prefix = `{bench:flags:${process.pid}}`;
  const env = baseEnv({ THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: prefix });
  try {
    // --- live: enable/disable through the store ---
    const sim = await startSim(env);
    const ws = new WebSocket(sim.wsUrl);
    ws.on('error', () => {});
    await once(ws, 'open');
    let watch = null;
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'heartbeat' && watch && m.data.flags[FEATURE] === watch.value) { watch.resolve(performance.now()); watch = null; }
    });
    const toHeartbeat = [];
    const toEndpoint = [];
    const cliMs = [];
    const fromSpawn = [];
    for (let i = 0; i < RUNS; i++) {
      const value = i % 2 === 0;
      const heartbeat = new Promise((resolve) => { watch = { value, resolve }; });
      const t0 = performance.now();
      const cli = await runCli([value ? 'enable' : 'disable', FEATURE, '--reason', 'bench'], env);
      if (cli.code !== 0) throw new Error(`thor-cutover ${value ? 'enable' : 'disable'} exited ${cli.code}: ${cli.err}`);
      cliMs.push(cli.at - t0);
      const [hb, ep] = await Promise.all([heartbeat, endpointShows(sim.url, value)]);
      // Negative: the simulator had it before the CLI process finished exiting (the change is
      // published mid-command, and node takes a while to exit).
      toHeartbeat.push(hb - cli.at);
      toEndpoint.push(Math.max(0, ep - cli.at)); // polled only after the exit: never negative
      fromSpawn.push(hb - t0);
    }
    ws.terminate();
    await sim.stop();

    // --- baseline: env var + restart the server ---
    const restartEndpoint = [];
    const restartWs = [];
    let port = await freePort();
    let current = await startSim(baseEnv({ ...env, THOR_CUTOVER_PREFIX: `${prefix}:baseline` }), port);
    for (let i = 0; i < BASELINE_RUNS; i++) {
      const value = i % 2 === 0;
      const t0 = performance.now();
      await current.stop();
      current = await startSim(baseEnv({ ...env, THOR_CUTOVER_PREFIX: `${prefix}:baseline`, WS_FEATURE_ACCOUNT_BALANCE: String(value) }), port);
      restartEndpoint.push((await endpointShows(current.url, value)) - t0);
      const c = new WebSocket(current.wsUrl);
      c.on('error', () => {});
      await once(c, 'open');
      restartWs.push(performance.now() - t0);
      c.terminate();
    }
    await current.stop();

    const f = (n) => `${n.toFixed(1)} ms`;
    console.log(`sim-flag-propagation: ${RUNS} live changes, ${BASELINE_RUNS} restarts (feature ${FEATURE})\n`);
    console.log(`live  (thor-cutover enable/disable returns -> simulator shows it)`);
    console.log(`  heartbeat on the WS      median ${f(median(toHeartbeat))}  p95 ${f(p95(toHeartbeat))}  (before the CLI exited in ${toHeartbeat.filter((x) => x < 0).length}/${RUNS} runs)`);
    console.log(`  GET /api/cutover/flags/  median ${f(median(toEndpoint))}  p95 ${f(p95(toEndpoint))}`);
    console.log(`  (the CLI itself took     median ${f(median(cliMs))} from spawn to exit; spawn -> heartbeat median ${f(median(fromSpawn))})`);
    console.log(`baseline (export WS_FEATURE_...; restart the server)`);
    console.log(`  flags endpoint shows it  median ${f(median(restartEndpoint))}  p95 ${f(p95(restartEndpoint))}`);
    console.log(`  a WS client is back      median ${f(median(restartWs))}  (every client was disconnected)`);
    const ratio = median(restartEndpoint) / Math.max(median(toEndpoint), 0.1);
    console.log(`\nratio: restart / live (flags endpoint, medians) = ${ratio.toFixed(0)}x`);
  } finally {
    redis.stop();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
