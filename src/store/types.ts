import type { HealthFinding } from './health.js';

/** The flag store behind every command: Redis in production, in-process for the demo. */

export interface FlagSnapshot {
  /** The flags hash as stored: feature -> raw value ("true"/"false", or whatever a person wrote). */
  raw: Record<string, string>;
  rev: number;
}

export interface ChangeRequest {
  feature: string;
  enabled: boolean;
  actor: string;
  reason: string;
  forced: boolean;
  /** The feature's env-var value ("true"/"false") used when the hash has no field. */
  envFallback: boolean;
  /**
   * Features that must be effectively on for an enable to go through (the cutover order),
   * with their env fallbacks; checked inside the same transaction. Ignored when forced.
   */
  requireOn: { feature: string; envFallback: boolean }[];
  /**
   * The verify gate's evidence, when the gate was judged for this change: the change goes
   * through only if no flag changed since `rev` and `verifyFeature`'s newest record is still
   * `verifyHead` (as verifyHead() returned it); else the outcome is 'stale'.
   */
  guard?: { rev: number; verifyFeature: string; verifyHead: string | null };
}

export type ChangeOutcome =
  | { status: 'changed'; previous: boolean; rev: number; at: string; auditId: string }
  | { status: 'noop'; current: boolean; rev: number }
  | { status: 'refused'; blockers: string[] }
  | { status: 'stale' };

export interface AuditEntry {
  id: string;
  feature: string;
  from: boolean;
  to: boolean;
  actor: string;
  reason: string;
  rev: number;
  at: string;
  forced: boolean;
}

/** The JSON published on `<prefix>:events` (PROTOCOL.md section 2). */
export interface FlagEvent {
  feature: string;
  enabled: boolean;
  previous: boolean;
  actor: string;
  reason: string;
  rev: number;
  at: string;
}

export type ConnectionState = 'connected' | 'reconnecting' | 'closed';

export interface Subscription {
  close(): Promise<void>;
}

export interface FlagStore {
  readonly kind: 'redis' | 'memory';
  /** Where it is, for people: never contains a password. */
  readonly description: string;
  snapshot(): Promise<FlagSnapshot>;
  change(req: ChangeRequest): Promise<ChangeOutcome>;
  /** Newest first. */
  history(opts: { feature?: string; limit: number }): Promise<AuditEntry[]>;
  subscribe(onEvent: (e: FlagEvent) => void, onState?: (s: ConnectionState, detail?: string) => void): Promise<Subscription>;
  pushVerify(feature: string, report: unknown): Promise<void>;
  /** Newest first. */
  verifyReports(feature: string, limit: number): Promise<unknown[]>;
  /** The newest verify record as stored (the text compared by a change's guard), or null. */
  verifyHead(feature: string): Promise<string | null>;
  /** Round-trip time in ms. */
  ping(): Promise<number>;
  /** A running monitor says so: `info` (JSON) under the monitor key, expiring after ttlMs unless renewed. */
  beat(info: object, ttlMs: number): Promise<void>;
  /** The running monitor's last heartbeat, or null when none is running. */
  monitorBeat(): Promise<unknown>;
  /**
   * Can this store silently forget (persistence, eviction), and does it look reset?
   * `features`: the configured ones, whose verify records count as traces. The in-process
   * store returns null: it forgets at exit by design.
   */
  health(features: string[]): Promise<HealthFinding[] | null>;
  close(): Promise<void>;
}

/** What `monitor`'s heartbeat key holds (a running monitor, its sessions), and what `status` shows. */
export interface MonitorBeat {
  runId: string;
  pid: number;
  host: string;
  startedAt: string;
  beatAt: string;
  features: string[];
  shadow: boolean;
  /** Sessions this run recorded, newest last (the last 20). */
  recorded: { label: string; closedAt: string; verdicts: Record<string, string> }[];
}
