import { isObj } from '../config/read.js';
import type { CloseRecord } from './closes.js';
import type { WsMessage } from './ws-types.js';

/**
 * What arrives on a WebSocket, tallied one way for every front end: the engine's intake
 * (parity, verify, monitor) and doctor's look at the socket both feed a WsTally. It counts
 * each type, remembers the last frame (what was in flight when the server closed), and
 * reads the protocol's side of the stream (PROTOCOL.md section 3): heartbeats and the flags
 * they report, error_message frames, stray pongs, and the server's closes.
 */

/** One type's arrivals. */
export interface Seen { count: number; firstAt: number; lastAt: number }

/** A message of the protocol's own, not a feature's. */
export type SideMessage =
  | { kind: 'heartbeat'; data: Record<string, unknown> | null; flags: Record<string, boolean> | null }
  | { kind: 'error_message'; message: string; code: string | null }
  | { kind: 'pong' };

/** The flags a heartbeat reports (feature -> boolean; other values ignored), or null when it carries none. */
function heartbeatFlags(data: unknown): Record<string, boolean> | null {
  const flags = (data as { flags?: unknown } | null)?.flags;
  if (!isObj(flags)) return null;
  const out: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(flags)) if (typeof v === 'boolean') out[k] = v;
  return out;
}

/** An error_message: its `message` (else the data as JSON, cut short) and its `code`, if any. */
function errorMessageOf(data: unknown): { message: string; code: string | null } {
  const d = (data ?? {}) as { message?: unknown; code?: unknown };
  const message = typeof d.message === 'string' ? d.message : JSON.stringify(data ?? null).slice(0, 200);
  const code = d.code === undefined || d.code === null ? null : String(d.code);
  return { message, code };
}

/** A close of an open socket by the server, with what was in flight: what the close diagnosis reads. */
function closeRecordOf(e: { at: number; code: number; reason: string }, last: { type: string | null; at: number }): CloseRecord {
  return {
    at: e.at, code: e.code, reason: e.reason.slice(0, 120), lastType: last.type,
    sinceLastFrameMs: last.type === null ? null : e.at - last.at,
  };
}

/** A heartbeat, an error_message or a pong, read; null for any other type. */
function sideMessageOf(m: { type: string; data: unknown }): SideMessage | null {
  switch (m.type) {
    case 'heartbeat': return { kind: 'heartbeat', data: isObj(m.data) ? m.data : null, flags: heartbeatFlags(m.data) };
    case 'error_message': return { kind: 'error_message', ...errorMessageOf(m.data) };
    case 'pong': return { kind: 'pong' };
    default: return null;
  }
}

export interface HeartbeatTally {
  count: number;
  /** The last heartbeat's data (null when it was not an object). */
  last: Record<string, unknown> | null;
  /** The flags the last heartbeat that carried any reported, and when. */
  flags: Record<string, boolean> | null;
  flagsAt: number | null;
}

export interface ErrorTally { count: number; first: { at: number; message: string; code: string | null } | null }

/**
 * The tally of one stream (across reconnects). `S` is what each type's arrivals are kept
 * as: the engine's carry the feature that claims the type.
 */
export class WsTally<S extends Seen = Seen> {
  readonly types = new Map<string, S>();
  /** The last frame's type and arrival: what was in flight when the server closed the socket. */
  readonly lastFrame: { type: string | null; at: number } = { type: null, at: 0 };
  readonly heartbeat: HeartbeatTally = { count: 0, last: null, flags: null, flagsAt: null };
  readonly errors: ErrorTally = { count: 0, first: null };
  /** The server's closes of an open socket, the last `keepCloses`. */
  readonly closes: CloseRecord[] = [];
  /** The Seen of the last frame's type: streams come in runs of one type, so most frames skip the lookup. */
  private lastSeen: S | undefined;

  constructor(
    private readonly newSeen: (type: string, at: number) => S = (_type, at) => ({ count: 0, firstAt: at, lastAt: at }) as S,
    private readonly keepCloses = Infinity,
  ) {}

  /** Every message: counted under its type, and the last frame. Returns the type's Seen. */
  frame(type: string, at: number): S {
    let s = this.lastSeen;
    if (s === undefined || this.lastFrame.type !== type) {
      s = this.types.get(type);
      if (!s) {
        s = this.newSeen(type, at);
        this.types.set(type, s);
      }
      this.lastSeen = s;
    }
    s.count += 1;
    s.lastAt = at;
    this.lastFrame.type = type;
    this.lastFrame.at = at;
    return s;
  }

  /** A message no feature claims: a heartbeat, error_message or pong is tallied and returned; any other, null. */
  side(m: WsMessage): SideMessage | null {
    const side = sideMessageOf(m);
    if (side?.kind === 'heartbeat') {
      const hb = this.heartbeat;
      hb.count += 1;
      hb.last = side.data;
      if (side.flags) { hb.flags = side.flags; hb.flagsAt = m.at; }
    } else if (side?.kind === 'error_message') {
      this.errors.count += 1;
      this.errors.first ??= { at: m.at, message: side.message, code: side.code };
    }
    return side;
  }

  /** Both: every message counted, and read as a side message when it is one. */
  message(m: WsMessage): SideMessage | null {
    this.frame(m.type, m.at);
    return this.side(m);
  }

  /** A WsClient 'close': when the server closed an open socket, its record (kept and returned); else null. */
  close(e: { at: number; code: number; reason: string; wasOpen: boolean }): CloseRecord | null {
    if (!e.wasOpen) return null;
    const rec = closeRecordOf(e, this.lastFrame);
    this.closes.push(rec);
    if (this.closes.length > this.keepCloses) this.closes.shift();
    return rec;
  }
}
