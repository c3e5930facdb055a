import { isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { attachTextFrameReader } from './frame-reader.js';
import {
  type WsState, type BackoffOptions, type WsClientOptions, AUTH_CLOSE_CODES, AUTH_HANDSHAKE_STATUSES, type WsAuthFailure, type WsMessage, type BadFrame, type RttStats, type WsClientStats, type WsClientEvents, DEFAULT_BACKOFF, backoffDelay,
} from './ws-types.js';

export * from './ws-types.js';

/**
 * One WebSocket connection to the backend that stays up: pings, measures round trips,
 * notices a silent or dead socket, and reconnects with capped exponential backoff. It
 * parses frames and hands out `{type, data}` messages; everything it cannot use (binary,
 * not UTF-8, not JSON, no `type`) is counted and sampled, never thrown.
 */

/** The handshake URL with `?token=` when the config puts the token in the query. */
export function wsConnectUrl(url: string, token: string | null | undefined, tokenIn: 'query' | 'header' | 'both'): string {
  if (!token || tokenIn === 'header') return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.href;
}

export function redactToken(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/g, '$1***');
}

function newRtt(): RttStats & { sum: number } {
  return { count: 0, lastMs: null, minMs: null, maxMs: null, meanMs: null, sum: 0 };
}

function addRtt(r: RttStats & { sum: number }, ms: number): void {
  r.count += 1;
  r.sum += ms;
  r.lastMs = ms;
  r.minMs = r.minMs === null ? ms : Math.min(r.minMs, ms);
  r.maxMs = r.maxMs === null ? ms : Math.max(r.maxMs, ms);
  r.meanMs = r.sum / r.count;
}

export class WsClient extends EventEmitter<WsClientEvents> {
  private readonly opts: Required<Omit<WsClientOptions, 'backoff' | 'token'>> & { token: string | null; backoff: BackoffOptions };
  /** Set when the server refused our credentials: no more attempts. */
  private authFailure: WsAuthFailure | null = null;
  private openedAt: number | null = null;
  private ws: WebSocket | null = null;
  private stateValue: WsState = 'idle';
  private stopped = false;
  private attempt = 0;
  private firstAttemptAt: number | null = null;
  private attemptStartedAt = 0;
  private disconnectedAt: number | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private staleTimer: NodeJS.Timeout | null = null;
  private wsPingSentAt: number | null = null;
  private readonly protocolPings = new Map<number, number>();
  private lastDataAt = 0;
  private readonly s: WsClientStats & { rtt: { ws: RttStats & { sum: number }; protocol: RttStats & { sum: number } } };

  constructor(options: WsClientOptions) {
    super();
    this.opts = {
      url: options.url,
      token: options.token ?? null,
      tokenIn: options.tokenIn ?? 'both',
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
      pingIntervalMs: options.pingIntervalMs ?? 5_000,
      pongTimeoutMs: options.pongTimeoutMs ?? 5_000,
      staleAfterMs: options.staleAfterMs ?? 30_000,
      reconnect: options.reconnect ?? true,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      keepBadFrames: options.keepBadFrames ?? 5,
      stableAfterMs: options.stableAfterMs ?? options.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs,
      closeTimeoutMs: options.closeTimeoutMs ?? 500,
    };
    this.s = {
      state: 'idle',
      url: redactToken(wsConnectUrl(this.opts.url, this.opts.token, this.opts.tokenIn)),
      attempts: 0,
      connects: 0,
      reconnects: 0,
      firstHandshakeMs: null,
      lastHandshakeMs: null,
      lastHandshakeStatus: null,
      lastError: null,
      lastClose: null,
      closeCodes: {},
      gaps: { count: 0, totalMs: 0, maxMs: 0 },
      messages: 0,
      bytes: 0,
      badFrames: { binary: 0, invalidUtf8: 0, nonJson: 0, noType: 0, samples: [] },
      rtt: { ws: newRtt(), protocol: newRtt() },
      lastFrameAt: null,
    };
  }

  /**
   * The one consumer on the hot path (the engine): called directly, before any 'message'
   * listeners, which saves an emit per frame.
   */
  onMessage: ((m: WsMessage) => void) | null = null;

  get state(): WsState {
    return this.stateValue;
  }

  start(): void {
    if (this.stopped || this.ws || this.reconnectTimer) return;
    this.connect();
  }

  /** The server refused our credentials (the client has stopped), or null. */
  get authFailed(): WsAuthFailure | null {
    return this.authFailure;
  }

  /**
   * Close for good: no reconnect. An open socket gets a close frame (1000), so the backend
   * logs a normal closure rather than 1006; a server that does not answer it within
   * closeTimeoutMs is dropped. Resolves when the socket is gone.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    if (this.reconnectTimer) { clearTimeout(this.reconnectTimer); this.reconnectTimer = null; }
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      if (ws.readyState === WebSocket.OPEN) {
        ws.close(1000, 'client done');
        const timer = setTimeout(() => ws.terminate(), this.opts.closeTimeoutMs);
        await closed;
        clearTimeout(timer);
      } else {
        ws.terminate();
        await closed;
      }
    }
    this.setState('closed');
  }

  /** Send a JSON frame; false when the socket is not open. */
  send(obj: unknown): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  stats(): WsClientStats {
    const { rtt, ...rest } = this.s;
    const strip = ({ sum: _sum, ...r }: RttStats & { sum: number }): RttStats => ({ ...r });
    return {
      ...rest,
      state: this.stateValue,
      gaps: { ...rest.gaps },
      closeCodes: { ...rest.closeCodes },
      badFrames: { ...rest.badFrames, samples: [...rest.badFrames.samples] },
      rtt: { ws: strip(rtt.ws), protocol: strip(rtt.protocol) },
    };
  }

  private setState(state: WsState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.s.state = state;
    this.emit('state', state);
  }

  private connect(): void {
    this.attempt += 1;
    this.s.attempts += 1;
    const now = Date.now();
    this.firstAttemptAt ??= now;
    this.attemptStartedAt = now;
    this.setState(this.s.connects === 0 && this.attempt === 1 ? 'connecting' : 'reconnecting');
    const headers: Record<string, string> = {};
    if (this.opts.token && this.opts.tokenIn !== 'query') headers.authorization = `Bearer ${this.opts.token}`;
    // UTF-8 is checked in onFrame instead, for a fraction of the cost: a frame that is not is then
    // a bad frame to report, not a reason to drop the connection (1007). The fast path relies on
    // ws handing over each frame as it parses it (allowSynchronousEvents).
    const ws = new WebSocket(wsConnectUrl(this.opts.url, this.opts.token, this.opts.tokenIn), {
      handshakeTimeout: this.opts.handshakeTimeoutMs, headers, perMessageDeflate: false, skipUTF8Validation: true, allowSynchronousEvents: true,
    });
    this.ws = ws;
    const life = { opened: false };
    // First: an 'error' without a listener would crash the process.
    ws.on('error', (err) => this.onSocketError(err, life.opened));
    ws.on('open', () => { life.opened = true; this.onOpen(ws); });
    ws.on('message', (raw, isBinary) => this.onFrame(raw as Buffer | Buffer[] | ArrayBuffer, isBinary));
    ws.on('pong', () => this.onWsPong());
    ws.on('close', (code, reasonBuf) => this.onClose(ws, code, reasonBuf, life.opened));
  }

  private onSocketError(err: Error, opened: boolean): void {
    const status = /Unexpected server response: (\d+)/.exec(err.message);
    if (status) this.s.lastHandshakeStatus = Number(status[1]);
    this.s.lastError = err.message;
    if (status && AUTH_HANDSHAKE_STATUSES.has(Number(status[1]))) {
      this.authFailure ??= { at: Date.now(), closeCode: null, handshakeStatus: Number(status[1]), reason: `HTTP ${status[1]} on the handshake` };
    }
    this.emit('error', { at: Date.now(), message: err.message, handshakeStatus: status ? Number(status[1]) : null, during: opened ? 'open' : 'handshake' });
  }

  private onOpen(ws: WebSocket): void {
    // Whole text frames skip ws's receiver (see frame-reader.ts); the rest still takes it.
    attachTextFrameReader(ws, this.onText);
    const at = Date.now();
    const handshakeMs = at - this.attemptStartedAt;
    this.s.connects += 1;
    this.s.lastHandshakeMs = handshakeMs;
    this.s.lastHandshakeStatus = 101;
    if (this.s.firstHandshakeMs === null) this.s.firstHandshakeMs = handshakeMs;
    const isReconnect = this.s.connects > 1;
    const attempts = this.attempt;
    // The backoff starts over only once the socket has proved stable (see stableAfterMs):
    // a server that accepts and closes at once must not turn reconnecting into a storm.
    this.openedAt = at;
    this.lastDataAt = at;
    this.s.lastFrameAt = at;
    this.setState('connected');
    if (isReconnect) {
      this.s.reconnects += 1;
      const disconnectedAt = this.disconnectedAt ?? at;
      const gapMs = at - disconnectedAt;
      this.s.gaps.count += 1;
      this.s.gaps.totalMs += gapMs;
      this.s.gaps.maxMs = Math.max(this.s.gaps.maxMs, gapMs);
      this.disconnectedAt = null;
      this.emit('reconnect', { at, gapMs, attempts, disconnectedAt });
    }
    this.emit('open', { at, handshakeMs, attempt: attempts, reconnect: isReconnect });
    this.startTimers(ws);
  }

  /** A WS-level pong: the round trip of our last ping. */
  private onWsPong(): void {
    const at = Date.now();
    this.s.lastFrameAt = at;
    if (this.wsPingSentAt !== null) {
      const rttMs = at - this.wsPingSentAt;
      this.wsPingSentAt = null;
      addRtt(this.s.rtt.ws, rttMs);
      this.emit('pong', { at, kind: 'ws', rttMs });
    }
  }

  /** The socket closed: counted, an auth refusal stops for good, anything else reconnects after the backoff. */
  private onClose(ws: WebSocket, code: number, reasonBuf: Buffer, opened: boolean): void {
    const at = Date.now();
    this.clearTimers();
    if (this.ws === ws) this.ws = null;
    const reason = reasonBuf.toString();
    this.s.lastClose = { code, reason, at };
    this.s.closeCodes[String(code)] = (this.s.closeCodes[String(code)] ?? 0) + 1;
    if (opened) this.disconnectedAt = at;
    if (opened && this.openedAt !== null && at - this.openedAt >= this.opts.stableAfterMs) this.attempt = 0;
    this.openedAt = null;
    if (!this.stopped && AUTH_CLOSE_CODES.has(code)) this.authFailure ??= { at, closeCode: code, handshakeStatus: null, reason };
    this.emit('close', { at, code, reason, wasOpen: opened });
    if (this.authFailure && !this.stopped) {
      this.stopped = true;
      this.setState('closed');
      this.emit('auth-failed', this.authFailure);
      return;
    }
    if (this.stopped || !this.opts.reconnect) {
      this.setState('closed');
      return;
    }
    this.setState('reconnecting');
    const delay = backoffDelay(Math.max(1, this.attempt), this.opts.backoff);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  /**
   * The arrival time of the frames of one socket read: they are handed over synchronously,
   * one after the other, and they arrived together, so one clock read serves them all
   * (Date.now() was a few percent of the cost per message). Cleared in a microtask, that
   * is once the read's frames are done.
   */
  private readAt = 0;
  private readonly endRead = (): void => { this.readAt = 0; };

  /** A message through ws's own receiver: binary, fragmented, or when the fast path could not attach. */
  private onFrame(raw: Buffer | Buffer[] | ArrayBuffer, isBinary: boolean): void {
    const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (isBinary) {
      const at = this.arrived(buf.length);
      this.s.badFrames.binary += 1;
      this.bad({ kind: 'binary', at, sample: buf.subarray(0, 32).toString('hex') });
      return;
    }
    this.onText(buf, 0, buf.length);
  }

  /** Counts a frame of this many bytes; returns its arrival time. */
  private arrived(bytes: number): number {
    let at = this.readAt;
    if (at === 0) {
      at = this.readAt = Date.now();
      queueMicrotask(this.endRead);
    }
    this.s.lastFrameAt = at;
    this.s.bytes += bytes;
    return at;
  }

  /** One text message, as bytes start..end of buf (the fast path hands the socket's chunk itself). */
  private readonly onText = (buf: Buffer, start: number, end: number): void => {
    const bytes = end - start;
    const at = this.arrived(bytes);
    const text = buf.toString('utf8', start, end);
    // Decoding replaces every ill-formed sequence with U+FFFD, so a text without one came
    // from valid UTF-8; only a text with one (rare: it may be a real U+FFFD) is validated.
    if (text.indexOf('\uFFFD') !== -1 && !isUtf8(buf.subarray(start, end))) {
      this.s.badFrames.invalidUtf8 += 1;
      this.bad({ kind: 'invalid-utf8', at, sample: text.slice(0, 200) });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.s.badFrames.nonJson += 1;
      this.bad({ kind: 'non-json', at, sample: text.slice(0, 200) });
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as { type?: unknown }).type !== 'string') {
      this.s.badFrames.noType += 1;
      this.bad({ kind: 'no-type', at, sample: text.slice(0, 200) });
      return;
    }
    const frame = parsed as Record<string, unknown>;
    const type = frame.type as string;
    if (type === 'pong' && typeof frame.timestamp === 'number') {
      const sentAt = this.protocolPings.get(frame.timestamp);
      if (sentAt !== undefined) {
        this.protocolPings.delete(frame.timestamp);
        const rttMs = at - sentAt;
        addRtt(this.s.rtt.protocol, rttMs);
        this.emit('pong', { at, kind: 'protocol', rttMs });
        return;
      }
    }
    this.s.messages += 1;
    this.lastDataAt = at;
    if (this.stateValue === 'stale') this.setState('connected');
    const m: WsMessage = { type, data: frame.data, frame, text, at, bytes };
    if (this.onMessage) this.onMessage(m);
    if (this.listenerCount('message') > 0) this.emit('message', m);
  };

  private bad(frame: BadFrame): void {
    const samples = this.s.badFrames.samples;
    if (samples.length < this.opts.keepBadFrames) samples.push(frame);
    this.emit('bad-frame', frame);
  }

  private startTimers(ws: WebSocket): void {
    this.clearTimers();
    if (this.opts.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        const now = Date.now();
        if (this.wsPingSentAt !== null && now - this.wsPingSentAt > this.opts.pongTimeoutMs) {
          this.emit('dead', { at: now, reason: `no pong for ${now - this.wsPingSentAt} ms` });
          ws.terminate();
          return;
        }
        if (this.wsPingSentAt === null) {
          this.wsPingSentAt = now;
          ws.ping();
        }
        // Protocol ping (PROTOCOL.md section 3): the server echoes the timestamp, which finds the send time.
        if (!this.protocolPings.has(now)) {
          this.protocolPings.set(now, now);
          if (this.protocolPings.size > 16) this.protocolPings.delete(this.protocolPings.keys().next().value as number);
          ws.send(JSON.stringify({ type: 'ping', timestamp: now }));
        }
      }, this.opts.pingIntervalMs);
    }
    const staleCheck = Math.max(50, Math.min(1_000, Math.round(this.opts.staleAfterMs / 4)));
    this.staleTimer = setInterval(() => {
      if (this.stateValue === 'connected' && Date.now() - this.lastDataAt > this.opts.staleAfterMs) this.setState('stale');
    }, staleCheck);
  }

  private clearTimers(): void {
    if (this.pingTimer) { clearInterval(this.pingTimer); this.pingTimer = null; }
    if (this.staleTimer) { clearInterval(this.staleTimer); this.staleTimer = null; }
    this.wsPingSentAt = null;
    this.protocolPings.clear();
  }
}
