import { WebSocket } from 'ws';
import type { Config } from '../config/types.js';
import type { FlagWatcher } from '../store/watch.js';
import { FaultSet } from './faults.js';
import type { MarketState, RehearsalClock } from './market.js';
import type { Random } from './random.js';
import type { Served } from './served.js';
import type { SimulatorStats } from './types.js';

/**
 * A client that stops reading would make the process hold every message for it: past this
 * much unsent data it is cut off, as a real server's channel layer does with a full queue.
 */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const MAX_CATCH_UP = 10;

export interface SimClient {
  ws: WebSocket;
  authed: boolean;
}

export interface CoreOptions {
  config: Config;
  log: (line: string) => void;
  token: string | null;
  speed: number;
  clock: RehearsalClock;
  state: MarketState;
  faultRnd: Random;
  served: Served[];
}

/**
 * What the simulator's parts share: the schedule (drift-free timers), the clients and the
 * broadcast to them, the active faults and the numbers. HTTP, the WS upgrade and the fault
 * timers each take it.
 */
export class SimCore {
  faults = new FaultSet([]);
  readonly clients = new Set<SimClient>();
  readonly timers = new Set<NodeJS.Timeout>();
  readonly faultTimers = new Set<NodeJS.Timeout>();
  readonly stats: SimulatorStats = { clients: 0, messages: {}, frames: 0, slowClientsDropped: 0, upgrades: 0, tick: 0 };
  readonly activeJobs: string[];
  lastFrame = '';
  stopped = false;
  watcher: FlagWatcher | null = null;

  constructor(readonly o: CoreOptions) {
    this.activeJobs = o.served.flatMap((s) => s.cfg.legacy.jobs);
  }

  /** Rehearsal time to real time (at least 1 ms). */
  realMs(rehearsalMs: number): number {
    return Math.max(1, rehearsalMs / this.o.speed);
  }

  iso(): string {
    return new Date(Math.floor(this.o.clock.now())).toISOString();
  }

  /**
   * setInterval drifts: each repeat is timed from when the last callback ran, so a job of a few
   * ms per period (a big book at high --speed) falls behind its schedule. This runs fn as many
   * times as the monotonic clock says are due, with a bounded catch-up so a stall never
   * turns into a burst that stalls again.
   */
  every(ms: number, fn: () => void, set = this.timers): NodeJS.Timeout {
    const start = performance.now();
    let done = 0;
    const t = setInterval(() => {
      // The small slack absorbs a timer that fires a hair before the period by this clock.
      const due = Math.floor((performance.now() - start) / ms + 0.02);
      if (due - done > MAX_CATCH_UP) done = due - MAX_CATCH_UP;
      while (done < due && !this.stopped) { done += 1; fn(); }
    }, ms);
    set.add(t);
    return t;
  }

  /**
   * One serialization per message, the same bytes to every client, and one write per client
   * per batch: ws writes each frame with its own cork/uncork, so a slice of 50 bars would be
   * 50 syscalls per client. Corking the socket around the batch (cork nests) makes it one.
   */
  send(type: string, texts: string[], scoped: boolean): void {
    if (!texts.length) return;
    const stats = this.stats;
    stats.messages[type] = (stats.messages[type] ?? 0) + texts.length;
    this.lastFrame = texts[texts.length - 1]!;
    const frames = texts.map((t) => Buffer.from(t));
    for (const c of this.clients) {
      if (scoped && !c.authed) continue;
      const ws = c.ws;
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        stats.slowClientsDropped += 1;
        this.o.log(`a client stopped reading (${Math.round(ws.bufferedAmount / 1024)} KiB unsent): disconnected`);
        ws.terminate();
        continue;
      }
      const socket = (ws as unknown as { _socket?: { cork?(): void; uncork?(): void } })._socket;
      socket?.cork?.();
      for (const bytes of frames) ws.send(bytes, { binary: false });
      socket?.uncork?.();
      stats.frames += frames.length;
    }
  }

  /**
   * A consumer with no handler for a type (fault nohandler): Channels raises when the group
   * message arrives and the socket is closed with 1011; the frame never reaches the client.
   * The close is deferred a turn, as the raise happens when the consumer reads the message:
   * other types broadcast in the same job run still arrive first.
   */
  private closeUnhandled(s: Served): void {
    setImmediate(() => {
      for (const c of this.clients) {
        if ((s.scoped && !c.authed) || c.ws.readyState !== WebSocket.OPEN) continue;
        c.ws.close(1011);
      }
    });
  }

  /** The WS messages of these payloads under the active faults (a dropped key sends nothing). */
  emit(s: Served, payloads: readonly object[]): void {
    if (this.clients.size === 0) return;
    const faults = this.faults;
    if (faults.noHandler(s.cfg.name)) { if (payloads.length) this.closeUnhandled(s); return; }
    const touched = faults.touchesWs(s.cfg.name);
    const loss = faults.lossFraction(s.cfg.name);
    const texts: string[] = [];
    for (const payload of payloads) {
      // A full channel layer drops the group message for a consumer (lossy): it never goes out.
      if (loss > 0 && this.o.faultRnd() < loss) continue;
      const data = touched ? faults.applyWs(s.cfg, payload) : payload;
      if (data) texts.push(JSON.stringify({ type: s.type, data }));
    }
    this.send(s.type, texts, s.scoped);
  }

  emitAll(s: Served): void {
    this.emit(s, s.items());
  }

  /** PROTOCOL.md section 3: timestamp, tick, active_jobs, and the flags as this backend sees them. */
  heartbeat(): void {
    if (this.clients.size === 0) return;
    const data = { timestamp: this.iso(), tick: this.stats.tick, active_jobs: this.activeJobs, flags: this.watcher?.view().flags ?? {} };
    this.send('heartbeat', [JSON.stringify({ type: 'heartbeat', data })], false);
  }
}
