// N concurrent enable/disable changes from separate clients against one Redis: changes/s,
// and a check that no update was lost (rev == changes, audit length == changes, revs 1..N).
// Usage: node bench/change-throughput.mjs [--clients 50] [--changes 2000] [--cli 8]
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { BIN, arg, startRedis } from './support.mjs';
import { RedisFlagStore } from '../dist/store/redis.js';

const clients = Number(arg('--clients', 50));
const total = Number(arg('--changes', 2000));
const cliRuns = Number(arg('--cli', 8));
const redis = await startRedis();
const prefix = '{thor:bench}';
try {
  const stores = await Promise.all(Array.from({ length: clients }, () => RedisFlagStore.connect({ url: redis.url, prefix, oneShot: true })));
  const r = new Redis(redis.url);
  await r.hset(`${prefix}:flags`, 'account_balance', 'true');
  let next = 0;
  let changed = 0;
  const t0 = performance.now();
  await Promise.all(stores.map(async (store, c) => {
    while (next < total) {
      const i = next++;
      const out = await store.change({
        feature: 'positions', enabled: i % 2 === 0, actor: `client${c}`, reason: 'bench', forced: false,
        envFallback: false, requireOn: [{ feature: 'account_balance', envFallback: false }],
      });
      if (out.status === 'changed') changed++;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const rev = Number(await r.get(`${prefix}:rev`));
  const audit = await r.xrange(`${prefix}:audit`, '-', '+');
  const revs = audit.map(([, f]) => Number(f[f.indexOf('rev') + 1]));
  const ordered = revs.every((v, i) => v === i + 1);
  console.log(`library: ${clients} clients, ${total} change requests (${changed} changed) in ${secs.toFixed(2)} s: ${(total / secs).toFixed(0)} requests/s`);
  console.log(`no lost update: rev ${rev} == changed ${changed}: ${rev === changed}; audit entries ${audit.length}; revs 1..N in order: ${ordered}`);
  await Promise.all(stores.map((s) => s.close()));

  // The same through the CLI: separate processes, as two operators would run it.
  await r.del(`${prefix}:rev`, `${prefix}:audit`);
  await r.hset(`${prefix}:flags`, 'positions', 'false');
  // The verify gate: account_balance has passed a verify, so positions may be enabled.
  await r.lpush(`${prefix}:verify:account_balance`, JSON.stringify({ verdict: 'pass', finishedAt: new Date().toISOString(), startedAt: new Date().toISOString(), sessions: 1, shadow: false }));
  const t1 = performance.now();
  const results = await Promise.all(Array.from({ length: cliRuns }, (_, i) => new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, i % 2 ? 'disable' : 'enable', 'positions', '--json'], { env: { ...process.env, THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: prefix } });
    let out = '';
    p.stdout.on('data', (b) => { out += b; });
    p.on('close', (code) => {
      try { resolve({ code, doc: JSON.parse(out) }); } catch { resolve({ code, doc: { result: `no JSON (exit ${code})` } }); }
    });
  })));
  const cliSecs = (performance.now() - t1) / 1000;
  const cliChanged = results.filter((x) => x.doc.result === 'changed').length;
  const cliRev = Number(await r.get(`${prefix}:rev`));
  console.log(`cli: ${cliRuns} concurrent processes in ${cliSecs.toFixed(2)} s; changed ${cliChanged}, rev ${cliRev}, audit ${await r.xlen(`${prefix}:audit`)}: ${cliRev === cliChanged ? 'no lost update' : 'LOST UPDATE'}`);
  r.disconnect();
} finally {
  redis.stop();
}
