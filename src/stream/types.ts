import type { Cadence } from '../config/types.js';
import type { VolatileField } from './noise.js';
import type { FieldDiff, MismatchRecord } from './match.js';
import type { RestOutcome } from './rest-poller.js';
import type { SessionInfo } from './sessions.js';
import type { IntervalSummary, QuantileSummary } from './stats.js';
import type { CloseRecord } from './closes.js';
import type { BadFrame, WsAuthFailure, WsClientStats, WsState } from './ws-client.js';

/** Every event the engine emits, as it happens. `at` is epoch milliseconds. */
export type StreamEvent =
  | { type: 'ws-open'; at: number; handshakeMs: number; reconnect: boolean }
  | { type: 'ws-close'; at: number; code: number; reason: string }
  | { type: 'ws-error'; at: number; message: string; handshakeStatus: number | null }
  | { type: 'ws-state'; at: number; state: WsState }
  | { type: 'reconnect'; at: number; gapMs: number; missedMessages: number }
  | { type: 'interval'; at: number; feature: string; key: string; kind: 'late' | 'missed' | 'burst'; measuredMs: number; expectedMs: number; limitMs: number; beatsLost: number }
  | { type: 'mismatch'; at: number; feature: string; key: string; version: string | null; fields: FieldDiff[]; skewMs: number }
  | { type: 'skipped'; at: number; feature: string; key: string; version: string | null; fields: FieldDiff[]; skewMs: number }
  /** The server refused our credentials: the run cannot go on (PROTOCOL.md section 3). */
  | ({ type: 'auth-failed' } & WsAuthFailure)
  /** The heartbeat's flags changed (the flags as the backend sees them). */
  | { type: 'backend-flags'; at: number; flags: Record<string, boolean>; previous: Record<string, boolean> | null }
  | { type: 'missing-key'; at: number; feature: string; key: string }
  | { type: 'drift'; at: number; feature: string; key: string | null; side: 'ws' | 'rest'; kind: DriftKind; field: string; detail: string }
  | { type: 'noise'; at: number; feature: string; field: string }
  | { type: 'stale'; at: number; feature: string; key: string; limitMs: number }
  // Not 'error': an EventEmitter treats that name as a crash when nobody listens.
  | { type: 'error-message'; at: number; message: string; code: string | null }
  | { type: 'rest-error'; at: number; feature: string; kind: RestOutcome; status: number | null; message: string }
  | { type: 'bad-frame'; at: number; kind: BadFrame['kind']; sample: string }
  | { type: 'unknown-type'; at: number; wsType: string }
  | { type: 'rest-poll'; at: number; feature: string; outcome: RestOutcome; status: number | null; ms: number; items: number }
  | { type: 'session-open'; at: number; session: SessionInfo }
  | { type: 'session-close'; at: number; session: SessionInfo };

export type StreamEventType = StreamEvent['type'];

/** What follows a run's events (the report's series): the engine's event feed and its speed, not the engine. */
export interface EventSource {
  readonly speed: number;
  onEvent<K extends StreamEventType>(type: K, fn: (e: Extract<StreamEvent, { type: K }>) => void): unknown;
}
export type DriftKind = 'missing-required' | 'one-side-only' | 'type-change' | 'no-key' | 'not-an-object';

export interface DriftCount {
  side: 'ws' | 'rest';
  kind: DriftKind;
  field: string;
  count: number;
  /** For type changes: "number -> string". */
  detail: string;
  firstKey: string | null;
}

export interface KeyIntervalStats extends IntervalSummary {
  key: string;
  lastAt: number | null;
}

export interface FeatureStats {
  name: string;
  cadence: Cadence;
  wsTypes: string[];
  /** The configured interval divided by --speed. */
  expectedIntervalMs: number;
  graceMs: number;
  ws: { messages: number; firstAt: number | null; lastAt: number | null; ratePerSec: number; keys: number };
  /** Periodic features: inter-arrival per stream key, pooled. */
  interval: IntervalSummary | null;
  /** p95 above this is an interval finding. */
  intervalLimitMs: number | null;
  /** Per stream key (overall scope only). */
  keys: KeyIntervalStats[];
  rest: {
    polls: number;
    ok: number;
    errors: number;
    byOutcome: Partial<Record<RestOutcome, number>>;
    byStatus: Record<string, number>;
    latency: QuantileSummary;
    items: number;
    lastError: string | null;
  };
  match: {
    /** agreed + mismatched. */
    compared: number;
    agreed: number;
    mismatched: number;
    /** Agreed only once volatile (noise) fields were set aside. */
    agreedWithNoise: number;
    unmatched: number;
    unmatchedByReason: Record<string, number>;
    missingOnWs: number;
    /** mismatched / compared, null when nothing was compared. */
    rate: number | null;
    /** The first mismatches, in order. */
    mismatches: MismatchRecord[];
    /** REST states WS skipped (carried an older and a newer one): not disagreements. */
    skipped: number;
    /** agreed + mismatched + skipped: the REST items judged one way or another. */
    decided: number;
    /** skipped / decided, null when nothing was decided. */
    skippedRate: number | null;
    /** The first skipped states, in order. */
    skippedSamples: MismatchRecord[];
    /** Agreed once a time stamp alone was set aside (the backend re-stamps items). */
    restamped: number;
    /** The first keys whose REST items WS never carried (match keys). */
    missingOnWsKeys: string[];
  };
  staleness: { changes: number; maxMs: number | null; stale: number; limitMs: number } | null;
  drift: DriftCount[];
  /** Stream keys REST has and WS never carried. */
  missingKeys: string[];
  noise: VolatileField[];
}

export interface ConnectionCounters {
  reconnects: number;
  gaps: number;
  maxGapMs: number;
  totalGapMs: number;
  missedAcrossGaps: number;
  badFrames: number;
  errorMessages: number;
  errorSamples: { at: number; message: string; code: string | null }[];
  badFrameSamples: BadFrame[];
  /** Closes of an open socket by the server, the latest kept (see closes.ts). */
  closes: CloseRecord[];
}

export type FindingCheck =
  | 'no-data'
  | 'no-rest-data'
  | 'interval'
  | 'missed-beats'
  | 'mismatch'
  | 'skipped'
  | 'unmatched'
  | 'missing-key'
  | 'schema'
  | 'stale'
  | 'rest-errors'
  | 'error-messages'
  | 'bad-frames'
  | 'reconnects';

/** One problem, with what was measured and the limit it broke. */
export interface Finding {
  check: FindingCheck;
  feature: string | null;
  key: string | null;
  measured: string;
  limit: string;
  /** One readable line: "positions ACC1: quantity REST 100, WS 101, nearest WS 0.4 s away". */
  message: string;
  /** What to do about it, when the finding knows. */
  hint?: string;
  /** reconnects: the message types the closes point at (a consumer with no handler for one?). */
  suspects?: string[];
}

export interface ScopeSnapshot {
  openedAt: number;
  closedAt: number | null;
  features: FeatureStats[];
  connection: ConnectionCounters;
  findings: Finding[];
}

export interface SessionSnapshot extends ScopeSnapshot {
  session: SessionInfo;
}

export interface TypeStats {
  type: string;
  count: number;
  firstAt: number;
  lastAt: number;
  /** The feature that claims it; null for heartbeat/error_message/pong/unknown. */
  feature: string | null;
}

/** The WS client's own counters (as the client keeps them), plus what the engine adds. */
export interface ConnectionSnapshot extends Omit<WsClientStats, 'lastHandshakeMs'> {
  heartbeats: number;
  /** Stalls of our own event loop, taken out of inter-arrival times (a busy or starved client). */
  clientStalls: { count: number; totalMs: number; maxMs: number };
  /** The flags of the last heartbeat that carried them. */
  heartbeatFlags: Record<string, boolean> | null;
}

export interface EngineSnapshot {
  startedAt: number;
  at: number;
  elapsedMs: number;
  speed: number;
  connection: ConnectionSnapshot;
  types: TypeStats[];
  /** Types the config expects that never arrived. */
  expectedTypesMissing: string[];
  /** Types that arrived and belong to no feature (heartbeat, error_message, pong excluded). */
  unknownTypes: string[];
  overall: ScopeSnapshot;
  sessions: SessionSnapshot[];
  /** Complete sessions seen (the partial one not counted). */
  sessionsCompleted: number;
  sessionMode: 'market' | 'fixed' | 'none';
  marketStatus: string | null;
}
