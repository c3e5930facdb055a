// `thor-cutover status` wall time against `node -e 0`, measured in the same run.
// Goal: under 3x (issue 2), at or under 2x (issue 18). Usage: node bench/status-startup.mjs [--runs 15]
import { BIN, arg, median, startRedis, timeRun } from './support.mjs';

const runs = Number(arg('--runs', 15));
const redis = await startRedis();
const env = { ...process.env, THOR_CUTOVER_REDIS_URL: redis.url, NO_COLOR: '1' };
try {
  timeRun(process.execPath, [BIN, 'status'], env); // warm the file cache
  const base = [];
  const status = [];
  for (let i = 0; i < runs; i++) {
    base.push(timeRun(process.execPath, ['-e', '0'], env));
    status.push(timeRun(process.execPath, [BIN, 'status'], env));
  }
  const b = median(base);
  const s = median(status);
  console.log(`node -e 0          median ${b.toFixed(1)} ms (${runs} runs)`);
  console.log(`thor-cutover status median ${s.toFixed(1)} ms (${runs} runs)`);
  console.log(`ratio ${(s / b).toFixed(2)}x (goal <= 2x: ${s / b <= 2 ? "met" : "NOT met"})`);
} finally {
  redis.stop();
}
