import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Config, FeatureConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { MemoryFlagStore } from '../store/memory.js';
import type { FlagStore } from '../store/types.js';
import { checkFaults, FaultSet, formatFault, toFault, type FaultSpec } from './faults.js';
import { FlagWatcher, type FlagsView } from '../store/watch.js';
import { DEFAULT_SYMBOLS, MarketState, RehearsalClock } from './market.js';
import { streamFor, type Random } from './random.js';

export interface SimulatorOptions {
  config: Config;
  host?: string;
  /** 0 = a free port (tests). */
  port?: number;
  /** Divides every interval, session length and fault period. */
  speed?: number;
  seed?: number;
  symbols?: string[];
  /** Rehearsal (un-sped) length of an OPEN session of each market. */
  sessionOpenMs?: number;
  sessionClosedMs?: number;
  faults?: FaultSpec[];
  /** Flags source; an in-process store when absent. The caller keeps ownership (close() leaves it open). */
  store?: FlagStore;
  /** Account-scoped WS features only reach sockets that presented it; account REST endpoints answer 401 without it. */
  token?: string | null;
  /** Where env-var flags are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface SimulatorStats {
  clients: number;
  /** Messages built (serialized once each), by WS type. */
  messages: Record<string, number>;
  /** Frames written to sockets (a message to N clients counts N). */
  frames: number;
  /** Clients terminated for not reading (send buffer over the limit). */
  slowClientsDropped: number;
  /** WebSocket handshakes asked for (accepted or not): how hard clients retry. */
  upgrades: number;
  tick: number;
}

export interface Simulator {
  url: string;
  wsUrl: string;
  port: number;
  store: FlagStore;
  /** The seed in use (given or drawn), so a run can be repeated. */
  seed: number;
  setFaults(faults: FaultSpec[]): void;
  faults(): FaultSpec[];
  /** The flags as this backend currently sees them. */
  flags(): FlagsView;
  stats(): SimulatorStats;
  close(): Promise<void>;
}

export const DEFAULT_SESSION_OPEN_MS = 5 * 60_000;
export const DEFAULT_SESSION_CLOSED_MS = 60_000;
/** PROTOCOL.md section 3: a heartbeat every 30 ticks of the scheduler; one tick is a rehearsal second. */
const TICK_MS = 1_000;
const HEARTBEAT_TICKS = 30;
/**
 * A client that stops reading would make the process hold every message for it: past this
 * much unsent data it is cut off, as a real server's channel layer does with a full queue.
 */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const CONTROL_PATH = '/_sim/faults';
const SLICE_SYMBOLS = 50;
const MAX_CATCH_UP = 10;
const STATS_PATH = '/_sim/stats';
const MAX_SLICES = 10;
const MAX_CONTROL_BODY = 64 * 1024;

interface Client {
  ws: WebSocket;
  authed: boolean;
}

/** How each protocol feature is produced from the market state. */
interface Served {
  cfg: FeatureConfig;
  type: string;
  scoped: boolean;
  /** The job runs in this many slices per interval (a big book's bars are spread over it). */
  slices: number;
  /** One job run over slice `i`: move that part of the state (what REST serves from now on); its WS payloads. */
  step(i: number): readonly object[];
  /** The whole current state as WS payloads (one per message). */
  items(): readonly object[];
  /** The current state as the REST payload, before any wrapping. */
  rest(): unknown;
  slow?: NodeJS.Timeout;
}

const trimSlash = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);

function renameFields(item: object, fieldMap: Record<string, string>): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) out[fieldMap[k] ?? k] = v;
  return out;
}

/** restItemsPath `results` -> {"results": body}; empty -> the body itself. */
function wrap(path: string, body: unknown): unknown {
  return path ? path.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), body) : body;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const { config } = opts;
  const log = opts.log ?? (() => {});
  const speed = opts.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed)) throw new UsageError(`speed must be a number above zero, got ${speed}`);
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const symbols = opts.symbols?.length ? opts.symbols : DEFAULT_SYMBOLS;
  const sessionOpenMs = opts.sessionOpenMs ?? DEFAULT_SESSION_OPEN_MS;
  const sessionClosedMs = opts.sessionClosedMs ?? DEFAULT_SESSION_CLOSED_MS;
  if (!(sessionOpenMs > 0) || !(sessionClosedMs > 0)) throw new UsageError('session lengths must be above zero');
  const token = opts.token || null;
  const realMs = (rehearsalMs: number) => Math.max(1, rehearsalMs / speed);

  const ownStore = !opts.store;
  const store = opts.store ?? new MemoryFlagStore();
  const clock = new RehearsalClock(speed);
  const state = new MarketState({ seed, symbols, sessionOpenMs, sessionClosedMs, clock });
  const faultRnd: Random = streamFor(seed, 'faults');

  const byName = new Map(config.features.map((f) => [f.name, f]));
  const served: Served[] = [];
  const serve = (name: string, s: Omit<Served, 'cfg' | 'type' | 'scoped' | 'slices'> & { slices?: number }) => {
    const cfg = byName.get(name);
    if (!cfg) return;
    served.push({ cfg, type: cfg.wsTypes[0] ?? name, scoped: cfg.accountScoped, slices: 1, ...s });
  };
  serve('account_balance', { step: () => [state.stepAccount()], items: () => [state.account], rest: () => state.account });
  serve('positions', { step: () => [state.stepPositions()], items: () => [state.positions], rest: () => state.positions });
  // A 500-symbol book sent in one burst would hold the event loop for the whole fan-out
  // (pings, REST and other sockets wait); slices of ~50 symbols spread it over the interval.
  // Each symbol still gets exactly one bar per interval.
  const slices = Math.min(MAX_SLICES, Math.ceil(symbols.length / SLICE_SYMBOLS));
  const sliceSize = Math.ceil(symbols.length / slices);
  serve('intraday', {
    slices,
    step: (i) => state.stepBars(i * sliceSize, Math.min(symbols.length, (i + 1) * sliceSize)),
    items: () => state.bars,
    rest: () => state.bars,
  });
  serve('global_market', { step: () => { state.stepMarkets(); return state.marketStatus; }, items: () => state.marketStatus, rest: () => state.marketStatus });
  for (const f of config.features) {
    if (!served.some((s) => s.cfg === f)) log(`feature ${f.name} is not one the simulator knows how to produce: not served`);
  }
  const servedByName = new Map(served.map((s) => [s.cfg.name, s]));
  const activeJobs = served.flatMap((s) => s.cfg.legacy.jobs);

  let faults = new FaultSet([]);
  const clients = new Set<Client>();
  const timers = new Set<NodeJS.Timeout>();
  const faultTimers = new Set<NodeJS.Timeout>();
  const stats: SimulatorStats = { clients: 0, messages: {}, frames: 0, slowClientsDropped: 0, upgrades: 0, tick: 0 };
  let lastFrame = '';
  let stopped = false;

  /**
   * setInterval drifts: each repeat is timed from when the last callback ran, so a job of a few
   * ms per period (a big book at high --speed) falls behind its schedule. This runs fn as many
   * times as the monotonic clock says are due, with a bounded catch-up so a stall never
   * turns into a burst that stalls again.
   */
  const every = (ms: number, fn: () => void, set = timers): NodeJS.Timeout => {
    const start = performance.now();
    let done = 0;
    const t = setInterval(() => {
      // The small slack absorbs a timer that fires a hair before the period by this clock.
      const due = Math.floor((performance.now() - start) / ms + 0.02);
      if (due - done > MAX_CATCH_UP) done = due - MAX_CATCH_UP;
      while (done < due && !stopped) { done += 1; fn(); }
    }, ms);
    set.add(t);
    return t;
  };

  /**
   * One serialization per message, the same bytes to every client, and one write per client
   * per batch: ws writes each frame with its own cork/uncork, so a slice of 50 bars would be
   * 50 syscalls per client. Corking the socket around the batch (cork nests) makes it one.
   */
  const send = (type: string, texts: string[], scoped: boolean) => {
    if (!texts.length) return;
    stats.messages[type] = (stats.messages[type] ?? 0) + texts.length;
    lastFrame = texts[texts.length - 1]!;
    const frames = texts.map((t) => Buffer.from(t));
    for (const c of clients) {
      if (scoped && !c.authed) continue;
      const ws = c.ws;
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        stats.slowClientsDropped += 1;
        log(`a client stopped reading (${Math.round(ws.bufferedAmount / 1024)} KiB unsent): disconnected`);
        ws.terminate();
        continue;
      }
      const socket = (ws as unknown as { _socket?: { cork?(): void; uncork?(): void } })._socket;
      socket?.cork?.();
      for (const bytes of frames) ws.send(bytes, { binary: false });
      socket?.uncork?.();
      stats.frames += frames.length;
    }
  };

  /**
   * A consumer with no handler for a type (fault nohandler): Channels raises when the group
   * message arrives and the socket is closed with 1011; the frame never reaches the client.
   * The close is deferred a turn, as the raise happens when the consumer reads the message:
   * other types broadcast in the same job run still arrive first.
   */
  const closeUnhandled = (s: Served) => {
    setImmediate(() => {
      for (const c of clients) {
        if ((s.scoped && !c.authed) || c.ws.readyState !== WebSocket.OPEN) continue;
        c.ws.close(1011);
      }
    });
  };

  /** The WS messages of these payloads under the active faults (a dropped key sends nothing). */
  const emit = (s: Served, payloads: readonly object[]) => {
    if (clients.size === 0) return;
    if (faults.noHandler(s.cfg.name)) { if (payloads.length) closeUnhandled(s); return; }
    const touched = faults.touchesWs(s.cfg.name);
    const loss = faults.lossFraction(s.cfg.name);
    const texts: string[] = [];
    for (const payload of payloads) {
      // A full channel layer drops the group message for a consumer (lossy): it never goes out.
      if (loss > 0 && faultRnd() < loss) continue;
      const data = touched ? faults.applyWs(s.cfg, payload) : payload;
      if (data) texts.push(JSON.stringify({ type: s.type, data }));
    }
    send(s.type, texts, s.scoped);
  };
  const emitAll = (s: Served) => emit(s, s.items());

  const iso = () => new Date(Math.floor(clock.now())).toISOString();
  const heartbeat = () => {
    if (clients.size === 0) return;
    const data = { timestamp: iso(), tick: stats.tick, active_jobs: activeJobs, flags: watcher.view().flags };
    send('heartbeat', [JSON.stringify({ type: 'heartbeat', data })], false);
  };

  const watcher = new FlagWatcher(store, served.map((s) => s.cfg), opts.env ?? process.env, (view) => {
    log(`flags: ${Object.entries(view.flags).map(([k, v]) => `${k}=${v ? 'on' : 'off'}`).join(' ')} (rev ${view.rev}, ${view.mode})`);
    // Out of turn, so a flag change shows on the stream within a second, not at the next 30th tick.
    heartbeat();
  }, log);

  /** Jobs always run (REST stays fresh); a slowed feature's WS side runs on a timer of its own. */
  const applyTimers = () => {
    for (const f of faultTimers) clearInterval(f);
    faultTimers.clear();
    for (const s of served) {
      if (s.slow) { clearInterval(s.slow); timers.delete(s.slow); s.slow = undefined; }
      const factor = faults.slowFactor(s.cfg.name);
      if (factor !== undefined) s.slow = every(realMs(s.cfg.intervalMs * factor), () => emitAll(s));
    }
    const error = faults.periodic('error');
    if (error !== undefined) {
      let n = 0;
      every(realMs(error * 1000), () => {
        if (clients.size === 0) return;
        n += 1;
        send('error_message', [JSON.stringify({ type: 'error_message', data: { message: `simulated backend error #${n} (fault error=${error}s)`, code: 'SIM_FAULT' } })], false);
      }, faultTimers);
    }
    const disconnect = faults.periodic('disconnect');
    if (disconnect !== undefined) {
      every(realMs(disconnect * 1000), () => {
        if (clients.size) log(`fault: closing ${clients.size} WS connection(s)`);
        // 1012 "service restart": what a backend deploy looks like to the client.
        for (const c of clients) c.ws.close(1012, 'simulated disconnect');
      }, faultTimers);
    }
    const badframes = faults.periodic('badframes');
    if (badframes !== undefined) {
      let n = 0;
      every(realMs(badframes * 1000), () => {
        n += 1;
        const text = n % 2 === 1 || !lastFrame ? 'simulated garbage: not JSON' : lastFrame.slice(0, Math.max(1, Math.floor(lastFrame.length / 2)));
        for (const c of clients) if (c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
      }, faultTimers);
    }
  };

  const setFaults = (list: FaultSpec[]) => {
    checkFaults(list, served.map((s) => s.cfg));
    faults = new FaultSet(list);
    if (!stopped) applyTimers();
    log(list.length ? `faults: ${list.map(formatFault).join(' ')}` : 'faults: none');
  };

  // --- HTTP -----------------------------------------------------------------------------
  const stalled = new Set<ServerResponse>();
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const bearer = (req: IncomingMessage): string | null => {
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
    return m ? m[1]! : null;
  };
  const restRoutes = new Map(served.map((s) => [trimSlash(s.cfg.restPath), s]));
  const healthPath = trimSlash(config.backend.healthPath);
  const flagsPath = trimSlash(config.backend.flagsPath);

  const readBody = (req: IncomingMessage): Promise<string> => new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_CONTROL_BODY) { reject(new UsageError('body too large')); req.destroy(); return; }
      chunks.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = trimSlash(url.pathname);
    const method = req.method ?? 'GET';
    if (path === CONTROL_PATH) {
      if (method === 'GET') return json(res, 200, { faults: faults.list, specs: faults.list.map(formatFault) });
      if (method !== 'POST') return json(res, 405, { detail: 'GET or POST' }, { allow: 'GET, POST' });
      try {
        const body = JSON.parse(await readBody(req)) as { faults?: unknown };
        if (!Array.isArray(body.faults)) throw new UsageError('body must be {"faults": ["drift=positions:5", ...]}');
        setFaults(body.faults.map(toFault));
        return json(res, 200, { faults: faults.list, specs: faults.list.map(formatFault) });
      } catch (err) {
        return json(res, 400, { detail: (err as Error).message });
      }
    }
    if (method !== 'GET' && method !== 'HEAD') return json(res, 405, { detail: 'method not allowed' }, { allow: 'GET' });
    if (path === healthPath) return json(res, 200, { ok: true });
    if (path === STATS_PATH) return json(res, 200, { ...stats, messages: stats.messages });
    if (path === flagsPath) return json(res, 200, watcher.view());
    const s = restRoutes.get(path);
    if (!s) return json(res, 404, { detail: 'not found' });
    if (s.scoped && token && bearer(req) !== token) {
      return json(res, 401, { detail: 'Authentication credentials were not provided or are wrong.' }, { 'www-authenticate': 'Bearer' });
    }
    if (faults.stalled(s.cfg.name)) {
      // Never answered: the client's own timeout is what the fault tests. Closed on shutdown.
      stalled.add(res);
      res.on('close', () => stalled.delete(res));
      return;
    }
    const fraction = faults.rest500Fraction(s.cfg.name);
    if (fraction > 0 && faultRnd() < fraction) return json(res, 500, { detail: 'simulated server error (fault rest500)' });
    let raw = s.rest();
    // restamp: the REST view stamps each item when it is read, not when the state was made.
    if (faults.restamped(s.cfg.name)) {
      const now = iso();
      raw = Array.isArray(raw) ? raw.map((i: object) => ({ ...i, timestamp: now })) : { ...(raw as object), timestamp: now };
    }
    const fieldMap = s.cfg.fieldMap;
    const mapped = Object.keys(fieldMap).length === 0 ? raw
      : Array.isArray(raw) ? raw.map((i: object) => renameFields(i, fieldMap)) : renameFields(raw as object, fieldMap);
    return json(res, 200, wrap(s.cfg.restItemsPath, mapped));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      log(`http: ${err.message}`);
      if (!res.headersSent) json(res, 500, { detail: 'simulator error' });
    });
  });

  // --- WebSocket ------------------------------------------------------------------------
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const wsPath = trimSlash(config.backend.wsPath);
  const refuse = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://sim');
    stats.upgrades += 1;
    if (trimSlash(url.pathname) !== wsPath || stopped) return refuse(socket, 404, 'Not Found');
    const presented = url.searchParams.get('token') ?? bearer(req);
    const rightToken = token !== null && presented === token;
    // Fault auth: what real consumers do with a bad or missing token (PROTOCOL.md section 3).
    if (faults.auth === 'refuse' && !rightToken) return refuse(socket, 403, 'Forbidden');
    // A wrong token is refused outright; no token still gets the public features.
    if (token && presented !== null && presented !== token) return refuse(socket, 401, 'Unauthorized');
    const authed = !token || presented === token;
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (faults.auth === 'close' && !rightToken) {
        ws.on('error', () => ws.terminate());
        ws.close(4401, 'unauthorized');
        return;
      }
      const client: Client = { ws, authed };
      clients.add(client);
      stats.clients = clients.size;
      ws.on('error', () => ws.terminate());
      ws.on('close', () => { clients.delete(client); stats.clients = clients.size; });
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (isBinary) return;
        let msg: { type?: unknown; timestamp?: unknown };
        try { msg = JSON.parse(data.toString()); } catch { return; }
        if (msg && msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong', timestamp: msg.timestamp }));
      });
    });
  });

  // --- start ----------------------------------------------------------------------------
  const initial = opts.faults ?? [];
  checkFaults(initial, served.map((s) => s.cfg));
  await watcher.start();
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const listenPort = opts.port ?? 0;
    if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65535) {
      reject(new UsageError(`--port takes a port number from 0 to 65535, got ${listenPort}`));
      return;
    }
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new UsageError(`port ${opts.port} on ${host} is already in use`, 'pick another with --port', 'E_PORT_IN_USE'));
      else if (err.code === 'EACCES') reject(new UsageError(`not allowed to listen on ${host}:${opts.port}`, 'ports below 1024 need privileges: pick another with --port', 'E_PORT_DENIED'));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new UsageError(`cannot listen on ${host}: no such address on this machine`, 'use --host 127.0.0.1 (or 0.0.0.0 for every interface)', 'E_HOST'));
      else reject(err);
    });
    server.listen(opts.port ?? 0, host, () => resolve());
  }).catch(async (err) => {
    await watcher.stop();
    if (ownStore) await store.close();
    throw err;
  });
  const port = (server.address() as { port: number }).port;

  for (const s of served) {
    let slice = 0;
    every(realMs(s.cfg.intervalMs) / s.slices, () => {
      const items = s.step(slice);
      slice = (slice + 1) % s.slices;
      if (!s.slow) emit(s, items);
    });
  }
  every(realMs(TICK_MS), () => {
    stats.tick += 1;
    if (stats.tick % HEARTBEAT_TICKS === 0) heartbeat();
  });
  // Transitions are events: broadcast the moment they happen, not at the next 10 s job run.
  let transitionTimer: NodeJS.Timeout | undefined;
  const scheduleTransition = () => {
    transitionTimer = setTimeout(() => {
      const changed = state.stepMarkets(true);
      const market = servedByName.get('global_market');
      // Every market, not only the one that moved: they all carry the new state's timestamp,
      // so WS and REST stay equal item for item.
      if (changed.length && market) emitAll(market);
      if (!stopped) scheduleTransition();
    }, realMs(state.msToNextTransition()) + 1);
  };
  scheduleTransition();
  setFaults(initial);

  const base = `${urlHost(host)}:${port}`;
  return {
    url: `http://${base}`,
    wsUrl: `ws://${base}${config.backend.wsPath}`,
    port,
    store,
    seed,
    setFaults,
    faults: () => faults.list,
    flags: () => watcher.view(),
    stats: () => ({ ...stats, messages: { ...stats.messages } }),
    close: async () => {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      for (const t of faultTimers) clearInterval(t);
      clearTimeout(transitionTimer);
      await watcher.stop();
      for (const c of clients) c.ws.terminate();
      clients.clear();
      wss.close();
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownStore) await store.close();
    },
  };
}
