import type { CommandContext } from '../context.js';
import { StoreUnavailableError } from '../../errors.js';
import { memoryStore, openStore } from '../../store/index.js';
import type { FlagStore } from '../../store/types.js';
import { parseFault, type FaultSpec } from '../../sim/faults.js';
import { startSimulator } from '../../sim/server.js';
import { untilAborted } from '../../abort.js';

export interface SimulateOptions {
  host: string;
  port: number;
  speed: number;
  seed?: number;
  symbols?: string[];
  sessionOpen: number;
  sessionClosed: number;
  fault: string[];
  token?: string;
}
/** What the simulator tells as it goes (render.ts prints it). */
export interface SimulateEvents {
  /** No reachable Redis: the in-process store is used instead, and why. */
  fallback(why: string): void;
  started(info: SimulateStarted): void;
  /** One line of the simulator's own log. */
  log(line: string): void;
}

export interface SimulateStarted {
  url: string;
  wsUrl: string;
  speed: number;
  seed: number;
  store: string;
  faults: FaultSpec[];
}

export interface SimulateReport extends SimulateStarted {
  ranMs: number;
  messages: number;
  frames: number;
  clients: number;
}

/** A long-running client retries a refused connection until its timeout; a one-shot probe learns "nothing listens there" at once. */
async function simulatorStore(ctx: CommandContext, events: SimulateEvents): Promise<FlagStore> {
  try {
    await (await openStore(ctx.config, { oneShot: true })).close();
    return await openStore(ctx.config, { oneShot: false });
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    events.fallback(err.message);
    return memoryStore();
  }
}

/** Serves the rehearsal backend until Ctrl-C; stopping is how it ends (a clean shutdown, exit 0). */
export async function runSimulate(ctx: CommandContext, opts: SimulateOptions, events: SimulateEvents): Promise<SimulateReport> {
  const { config, io } = ctx;
  const faults = opts.fault.map(parseFault);
  const store = await simulatorStore(ctx, events);
  const started = performance.now();
  try {
    const sim = await startSimulator({
      config, host: opts.host, port: opts.port, speed: opts.speed, seed: opts.seed, symbols: opts.symbols,
      sessionOpenMs: opts.sessionOpen, sessionClosedMs: opts.sessionClosed, faults, store,
      token: config.backend.token, env: io.env, log: events.log,
    });
    const info: SimulateStarted = { url: sim.url, wsUrl: sim.wsUrl, speed: opts.speed, seed: sim.seed, store: store.description, faults };
    events.started(info);
    await untilAborted(io.interrupted);
    const stats = sim.stats();
    await sim.close();
    const messages = Object.values(stats.messages).reduce((a, b) => a + b, 0);
    return { ...info, ranMs: performance.now() - started, messages, frames: stats.frames, clients: stats.clients };
  } finally {
    await store.close();
  }
}
