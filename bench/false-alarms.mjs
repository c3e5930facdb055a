#!/usr/bin/env node
// How often does a healthy backend fail parity? The gate must not cry wolf.
//
//   node bench/false-alarms.mjs [--runs 20] [--duration 20s] [--speed 10] [--busy 2] [--symbols 4]
//
// Each run starts a clean simulator (no fault) and `thor-cutover parity --speed N` against
// it, both as their own processes, while --busy loops of pure CPU load the machine (two on
// a 2-core VM: the client, the server and the loops all compete for the cores, the way a
// shared CI runner does). A run "raised" something when parity exited non-zero or reported
// any finding. The goal is 0 of 20. The baseline of the same run is the number of runs.
import { spawn } from 'node:child_process';
import { BIN, arg } from './support.mjs';

const RUNS = Number(arg('--runs', '20'));
const DURATION = arg('--duration', '20s');
const SPEED = arg('--speed', '10');
const BUSY = Number(arg('--busy', '2'));
const SYMBOLS = arg('--symbols', '4');

function busyLoop(seconds) {
  // Bounded: each loop stops by itself, whatever happens to this script.
  return spawn(process.execPath, ['-e', `const end = Date.now() + ${seconds * 1000}; let x = 0; while (Date.now() < end) { x += Math.sqrt(x + 1); }`], { stdio: 'ignore' });
}

async function startSim() {
  const child = spawn(process.execPath, [BIN, 'simulate', '--port', '0', '--speed', SPEED, '--symbols', SYMBOLS, '--redis', 'redis://127.0.0.1:1'], {
    env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (b) => { err += b; });
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (b) => {
      out += b;
      const m = /on (http:\/\/\S+) \(ws:\/\//.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('close', (code) => reject(new Error(`simulate exited ${code}: ${err}`)));
  });
  return { url, stop: () => new Promise((r) => { child.once('close', r); child.kill('SIGTERM'); }) };
}

function parity(url) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'parity', '--url', url, '--speed', SPEED, '--duration', DURATION, '--json'], {
      env: { ...process.env, NO_COLOR: '1', THOR_CUTOVER_REDIS_URL: 'redis://127.0.0.1:1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { err += b; });
    child.on('close', (code) => {
      let findings = [];
      try { findings = JSON.parse(out).findings ?? []; } catch { findings = [{ message: `no JSON report: ${err.trim().split('\n').at(-1)}` }]; }
      resolve({ code, findings });
    });
  });
}

const durationS = Number.parseFloat(DURATION) * (DURATION.endsWith('m') ? 60 : 1);
console.log(`false alarms: ${RUNS} clean parity runs of ${DURATION} at --speed ${SPEED}, ${SYMBOLS} symbols, ${BUSY} busy loop(s)`);
let raised = 0;
for (let i = 1; i <= RUNS; i++) {
  const loops = Array.from({ length: BUSY }, () => busyLoop(durationS + 10));
  const sim = await startSim();
  const r = await parity(sim.url);
  await sim.stop();
  for (const l of loops) l.kill();
  const bad = r.code !== 0 || r.findings.length > 0;
  if (bad) raised += 1;
  console.log(`run ${String(i).padStart(2)}: exit ${r.code}${r.findings.length ? `, ${r.findings.length} finding(s): ${r.findings.map((f) => f.message).join(' | ')}` : ''}`);
}
console.log(`raised anything: ${raised} of ${RUNS} (${((raised / RUNS) * 100).toFixed(0)}%; goal 0)`);
process.exitCode = 0;
