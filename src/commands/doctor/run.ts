import type { CommandContext } from '../context.js';
import type { Config } from '../../config/types.js';
import { redactUrl } from '../../config/load.js';
import { RestClient } from '../../stream/rest-poller.js';
import { checkClock } from './checks/clock.js';
import { checkConfig } from './checks/config.js';
import { checkBackendFlags } from './checks/flags.js';
import { checkRedis } from './checks/redis.js';
import { checkRest } from './checks/rest.js';
import { minWatchMs, observeWs, wsChecks } from './checks/ws.js';
import type { CheckStatus, DoctorReport } from './types.js';

export interface DoctorOptions {
  /** The whole run's bound; defaults from the config's intervals. */
  timeoutMs?: number;
  /** Divides every interval: for a rehearsal backend run with `simulate --speed N`. */
  speed: number;
}

/** For the person at the terminal: the command wires it to render.ts. */
export interface DoctorHooks {
  /** The run starts, bounded by `timeoutMs`. */
  started?(timeoutMs: number): void;
}

const MIN_DEFAULT_TIMEOUT_MS = 3_000;
const MAX_DEFAULT_TIMEOUT_MS = 120_000;
/** Handshake, first REST answers and slack for a loaded machine, on top of two intervals. */
const MARGIN_MS = 2_000;

/** Two of the longest interval (each type gets two intervals to show up), plus a margin; bounded. */
export function defaultTimeoutMs(config: Config, speed: number): number {
  const longest = Math.max(0, ...config.features.filter((f) => f.cadence === 'periodic').map((f) => f.intervalMs));
  return Math.round(Math.min(MAX_DEFAULT_TIMEOUT_MS, Math.max(MIN_DEFAULT_TIMEOUT_MS, (2 * longest) / speed + MARGIN_MS)));
}

export async function runDoctor(ctx: CommandContext, opts: DoctorOptions, hooks: DoctorHooks = {}): Promise<DoctorReport> {
  const { config, io } = ctx;
  const startedAt = Date.now();
  const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs(config, opts.speed);
  // Keep a slice of the budget for closing sockets and printing: the run as a whole stays within --timeout.
  const until = startedAt + timeoutMs - Math.min(300, timeoutMs * 0.1);

  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  io.interrupted.addEventListener('abort', onInterrupt, { once: true });
  const deadline = setTimeout(() => stop.abort(), Math.max(0, until - Date.now()));
  const rest = new RestClient({
    baseUrl: config.backend.url,
    token: config.backend.token,
    timeoutMs: Math.min(config.backend.timeoutMs, timeoutMs),
    connections: config.features.length + 1,
  });
  hooks.started?.(timeoutMs);
  try {
    const [redis, restResult, ws] = await Promise.all([
      checkRedis(config, io.env, until),
      checkRest(config, rest, stop.signal),
      // --timeout widens the watch: the user asked to look that long. By default, at least
      // two of the slowest intervals, then finished as soon as everything has been seen.
      observeWs({ config, speed: opts.speed, until, signal: stop.signal, minWatchMs: opts.timeoutMs !== undefined ? Infinity : minWatchMs(config, opts.speed) }),
    ]);
    const checks = [
      checkConfig(config, io.env),
      ...redis.checks,
      ...restResult.checks,
      ...wsChecks(config, ws, opts.speed),
      checkBackendFlags(config, io.env, redis.facts, ws, restResult.flags),
      checkClock(ws, opts.speed),
    ];
    const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
    for (const c of checks) summary[c.status] += 1;
    return {
      startedAt: new Date(startedAt).toISOString(),
      durationMs: Date.now() - startedAt,
      timeoutMs,
      watchedMs: ws.endedAt - ws.startedAt,
      speed: opts.speed,
      target: {
        config: config.file ?? 'built-in defaults',
        url: redactUrl(config.backend.url),
        wsUrl: ws.url,
        redis: redactUrl(config.redis.url),
        prefix: config.redis.prefix,
        token: config.backend.token !== null,
      },
      summary,
      checks,
      interrupted: io.interrupted.aborted,
    };
  } finally {
    clearTimeout(deadline);
    io.interrupted.removeEventListener('abort', onInterrupt);
    await rest.close();
  }
}
