/** The WebSocket client's options, events, numbers, and its reconnect and token policy (ws-client.ts is the client). */

export type WsState = 'idle' | 'connecting' | 'connected' | 'stale' | 'reconnecting' | 'closed';
export type BadFrameKind = 'binary' | 'invalid-utf8' | 'non-json' | 'no-type';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the share of each delay that is randomised, so many clients do not reconnect in step. */
  jitter: number;
}

export interface WsClientOptions {
  url: string;
  token?: string | null;
  tokenIn?: 'query' | 'header' | 'both';
  handshakeTimeoutMs?: number;
  /** Send a WS-level ping and a protocol ping (`{"type":"ping"}`) this often; 0 = never. */
  pingIntervalMs?: number;
  /** A WS ping without its pong for this long means the socket is dead: terminate it. */
  pongTimeoutMs?: number;
  /** No data frame for this long: state `stale` (the socket may still be alive). */
  staleAfterMs?: number;
  /** false: one attempt, no reconnect (doctor). */
  reconnect?: boolean;
  backoff?: Partial<BackoffOptions>;
  /** How many bad frames to keep as samples. */
  keepBadFrames?: number;
  /**
   * A connection counts as healthy (the backoff starts over) only once it has stayed open
   * this long; a socket the server closes at once keeps backing off. Default: backoff.maxMs.
   */
  stableAfterMs?: number;
  /** How long stop() waits for the server to answer our close frame before dropping the socket. */
  closeTimeoutMs?: number;
}

/**
 * Close codes and handshake statuses that say "your credentials are wrong" (PROTOCOL.md
 * section 3): reconnecting cannot fix them, so the client stops and says so.
 */
export const AUTH_CLOSE_CODES: ReadonlySet<number> = new Set([4001, 4003, 4401, 4403]);
export const AUTH_HANDSHAKE_STATUSES: ReadonlySet<number> = new Set([401, 403]);

export interface WsAuthFailure {
  at: number;
  /** The close code (4401...) or null when the handshake was refused. */
  closeCode: number | null;
  /** The HTTP status of a refused handshake (401/403), or null. */
  handshakeStatus: number | null;
  reason: string;
}

export interface WsMessage {
  type: string;
  data: unknown;
  /** The whole parsed frame. */
  frame: Record<string, unknown>;
  /** The frame as received (UTF-8 text). */
  text: string;
  at: number;
  bytes: number;
}

export interface BadFrame {
  kind: BadFrameKind;
  at: number;
  /** The first 200 characters (binary: a hex preview; invalid UTF-8: U+FFFD where a byte was wrong). */
  sample: string;
}

/** Every bad frame, whatever its kind. */
export function badFrameTotal(b: WsClientStats['badFrames']): number {
  return b.binary + b.invalidUtf8 + b.nonJson + b.noType;
}

export interface RttStats {
  count: number;
  lastMs: number | null;
  minMs: number | null;
  maxMs: number | null;
  meanMs: number | null;
}

export interface WsClientStats {
  state: WsState;
  /** The URL with any token replaced by ***. */
  url: string;
  attempts: number;
  connects: number;
  reconnects: number;
  /** Time from the first attempt to the first open; null until connected. */
  firstHandshakeMs: number | null;
  lastHandshakeMs: number | null;
  /** HTTP status of the last failed handshake, when the server answered one (401, 404...). */
  lastHandshakeStatus: number | null;
  lastError: string | null;
  lastClose: { code: number; reason: string; at: number } | null;
  /** Every close code seen, with its count (our own terminate() shows as 1006). */
  closeCodes: Record<string, number>;
  gaps: { count: number; totalMs: number; maxMs: number };
  messages: number;
  bytes: number;
  badFrames: { binary: number; invalidUtf8: number; nonJson: number; noType: number; samples: BadFrame[] };
  rtt: { ws: RttStats; protocol: RttStats };
  lastFrameAt: number | null;
}

export interface WsOpenEvent { at: number; handshakeMs: number; attempt: number; reconnect: boolean }
export interface WsReconnectEvent { at: number; gapMs: number; attempts: number; disconnectedAt: number }
export interface WsCloseEvent { at: number; code: number; reason: string; wasOpen: boolean }
export interface WsErrorEvent { at: number; message: string; handshakeStatus: number | null; during: 'handshake' | 'open' }
export interface WsPongEvent { at: number; kind: 'ws' | 'protocol'; rttMs: number }

export interface WsClientEvents {
  message: [WsMessage];
  'bad-frame': [BadFrame];
  open: [WsOpenEvent];
  reconnect: [WsReconnectEvent];
  close: [WsCloseEvent];
  error: [WsErrorEvent];
  pong: [WsPongEvent];
  state: [WsState];
  /** A socket was terminated because it stopped answering. */
  dead: [{ at: number; reason: string }];
  /** The server refused our credentials; the client has stopped (no reconnect). */
  'auth-failed': [WsAuthFailure];
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 15_000, factor: 2, jitter: 0.3 };

/** Capped exponential backoff with downward jitter; never below initialMs, whatever the jitter. */
export function backoffDelay(attempt: number, b: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * b.factor ** Math.max(0, attempt - 1));
  return Math.max(b.initialMs, Math.round(base * (1 - b.jitter * random())));
}
