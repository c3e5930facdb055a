import { createServer, type Server } from 'node:http';
import { UsageError } from '../errors.js';
import { MemoryFlagStore } from '../store/memory.js';
import { FlagWatcher } from '../store/watch.js';
import { SimCore } from './core.js';
import { applyFaultTimers } from './fault-timers.js';
import { checkFaults, FaultSet, formatFault, type FaultSpec } from './faults.js';
import { SimHttp } from './http.js';
import { DEFAULT_SYMBOLS, MarketState, RehearsalClock } from './market.js';
import { streamFor } from './random.js';
import { servedFeatures } from './served.js';
import type { Simulator, SimulatorOptions } from './types.js';
import { attachWebSocket } from './ws.js';

export type { Simulator, SimulatorOptions, SimulatorStats } from './types.js';

export const DEFAULT_SESSION_OPEN_MS = 5 * 60_000;
export const DEFAULT_SESSION_CLOSED_MS = 60_000;
/** PROTOCOL.md section 3: a heartbeat every 30 ticks of the scheduler; one tick is a rehearsal second. */
const TICK_MS = 1_000;
const HEARTBEAT_TICKS = 30;

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Listens, or says in one line why not (a port in use, a port that needs privileges, an address not of this machine). */
function listen(server: Server, host: string, port: number | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const listenPort = port ?? 0;
    if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65535) {
      reject(new UsageError(`--port takes a port number from 0 to 65535, got ${listenPort}`));
      return;
    }
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new UsageError(`port ${port} on ${host} is already in use`, 'pick another with --port', 'E_PORT_IN_USE'));
      else if (err.code === 'EACCES') reject(new UsageError(`not allowed to listen on ${host}:${port}`, 'ports below 1024 need privileges: pick another with --port', 'E_PORT_DENIED'));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new UsageError(`cannot listen on ${host}: no such address on this machine`, 'use --host 127.0.0.1 (or 0.0.0.0 for every interface)', 'E_HOST'));
      else reject(err);
    });
    server.listen(port ?? 0, host, () => resolve());
  });
}

/** The jobs (each feature on its interval, in slices), the scheduler's tick and heartbeat, and the market transitions as events. */
function startSchedule(core: SimCore): () => void {
  const { state } = core.o;
  for (const s of core.o.served) {
    let slice = 0;
    core.every(core.realMs(s.cfg.intervalMs) / s.slices, () => {
      const items = s.step(slice);
      slice = (slice + 1) % s.slices;
      if (!s.slow) core.emit(s, items);
    });
  }
  core.every(core.realMs(TICK_MS), () => {
    core.stats.tick += 1;
    if (core.stats.tick % HEARTBEAT_TICKS === 0) core.heartbeat();
  });
  // Transitions are events: broadcast the moment they happen, not at the next 10 s job run.
  const market = core.o.served.find((s) => s.cfg.name === 'global_market');
  let transitionTimer: NodeJS.Timeout | undefined;
  const scheduleTransition = () => {
    transitionTimer = setTimeout(() => {
      const changed = state.stepMarkets(true);
      // Every market, not only the one that moved: they all carry the new state's timestamp,
      // so WS and REST stay equal item for item.
      if (changed.length && market) core.emitAll(market);
      if (!core.stopped) scheduleTransition();
    }, core.realMs(state.msToNextTransition()) + 1);
  };
  scheduleTransition();
  return () => clearTimeout(transitionTimer);
}

function checkOptions(opts: SimulatorOptions): { speed: number; sessionOpenMs: number; sessionClosedMs: number } {
  const speed = opts.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed)) throw new UsageError(`speed must be a number above zero, got ${speed}`);
  const sessionOpenMs = opts.sessionOpenMs ?? DEFAULT_SESSION_OPEN_MS;
  const sessionClosedMs = opts.sessionClosedMs ?? DEFAULT_SESSION_CLOSED_MS;
  if (!(sessionOpenMs > 0) || !(sessionClosedMs > 0)) throw new UsageError('session lengths must be above zero');
  return { speed, sessionOpenMs, sessionClosedMs };
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const { config } = opts;
  const log = opts.log ?? (() => {});
  const { speed, sessionOpenMs, sessionClosedMs } = checkOptions(opts);
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const symbols = opts.symbols?.length ? opts.symbols : DEFAULT_SYMBOLS;
  const ownStore = !opts.store;
  const store = opts.store ?? new MemoryFlagStore();
  const clock = new RehearsalClock(speed);
  const state = new MarketState({ seed, symbols, sessionOpenMs, sessionClosedMs, clock });
  const served = servedFeatures(config, state, symbols, log);
  const core = new SimCore({ config, log, token: opts.token || null, speed, clock, state, faultRnd: streamFor(seed, 'faults'), served });
  const watcher = new FlagWatcher(store, served.map((s) => s.cfg), opts.env ?? process.env, (view) => {
    log(`flags: ${Object.entries(view.flags).map(([k, v]) => `${k}=${v ? 'on' : 'off'}`).join(' ')} (rev ${view.rev}, ${view.mode})`);
    // Out of turn, so a flag change shows on the stream within a second, not at the next 30th tick.
    core.heartbeat();
  }, log);
  core.watcher = watcher;
  const setFaults = (list: FaultSpec[]) => {
    checkFaults(list, served.map((s) => s.cfg));
    core.faults = new FaultSet(list);
    if (!core.stopped) applyFaultTimers(core);
    log(list.length ? `faults: ${list.map(formatFault).join(' ')}` : 'faults: none');
  };
  const http = new SimHttp(core, setFaults);
  const server = createServer(http.listener);
  const wss = attachWebSocket(server, core);

  const initial = opts.faults ?? [];
  checkFaults(initial, served.map((s) => s.cfg));
  await watcher.start();
  const host = opts.host ?? '127.0.0.1';
  await listen(server, host, opts.port).catch(async (err) => {
    await watcher.stop();
    if (ownStore) await store.close();
    throw err;
  });
  const port = (server.address() as { port: number }).port;
  const stopTransitions = startSchedule(core);
  setFaults(initial);

  const base = `${urlHost(host)}:${port}`;
  return {
    url: `http://${base}`,
    wsUrl: `ws://${base}${config.backend.wsPath}`,
    port,
    store,
    seed,
    setFaults,
    faults: () => core.faults.list,
    flags: () => watcher.view(),
    stats: () => ({ ...core.stats, messages: { ...core.stats.messages } }),
    close: async () => {
      if (core.stopped) return;
      core.stopped = true;
      for (const t of core.timers) clearInterval(t);
      for (const t of core.faultTimers) clearInterval(t);
      stopTransitions();
      await watcher.stop();
      for (const c of core.clients) c.ws.terminate();
      core.clients.clear();
      wss.close();
      for (const res of http.stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownStore) await store.close();
    },
  };
}
