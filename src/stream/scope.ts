import type { FeatureConfig } from '../config/types.js';
import { judgeScope } from './findings.js';
import type { FeatureMatcher, MismatchRecord } from './match.js';
import type { NoiseTracker } from './noise.js';
import type { RestOutcome } from './rest-poller.js';
import type { SessionInfo } from './sessions.js';
import { IntervalStats, Quantiles, type BucketArena, type IntervalLimits } from './stats.js';
import type { ConnectionCounters, DriftCount, FeatureStats, KeyIntervalStats, ScopeSnapshot } from './types.js';

/**
 * What the engine counts, and the snapshot of it: per stream key, per feature in a scope
 * (the whole run, or one market session), and the scope itself. The engine fills these on
 * its intake paths; `scopeSnapshot` turns them into numbers and findings without touching
 * the engine.
 */

export interface KeyState {
  key: string;
  last: number | null;
  stats: IntervalStats;
  lastAt: number | null;
  /** The session scope that last counted this key (counts keys per session without a Set). */
  scope: FeatureCounters | null;
}

/** Counters of one feature in one scope (overall, or one session). */
export class FeatureCounters {
  messages = 0;
  firstAt: number | null = null;
  lastAt: number | null = null;
  readonly interval: IntervalStats | null;
  polls = 0;
  restOk = 0;
  restErrors = 0;
  restItems = 0;
  lastRestError: string | null = null;
  readonly byOutcome: Partial<Record<RestOutcome, number>> = {};
  readonly byStatus: Record<string, number> = {};
  readonly latency = new Quantiles();
  agreed = 0;
  agreedWithNoise = 0;
  mismatched = 0;
  unmatched = 0;
  readonly unmatchedByReason: Record<string, number> = {};
  missingOnWs = 0;
  readonly missingOnWsKeys: string[] = [];
  readonly mismatches: MismatchRecord[] = [];
  skipped = 0;
  readonly skippedSamples: MismatchRecord[] = [];
  restamped = 0;
  staleChanges = 0;
  staleMax: number | null = null;
  stale = 0;
  readonly drift = new Map<string, DriftCount>();
  /** Stream keys seen in this scope (session scopes; overall uses the key map). */
  keys = 0;

  constructor(expectedMs: number | null) {
    this.interval = expectedMs === null ? null : new IntervalStats(expectedMs);
  }
}

export class Scope {
  readonly f: FeatureCounters[];
  readonly conn: ConnectionCounters = {
    reconnects: 0, gaps: 0, maxGapMs: 0, totalGapMs: 0, missedAcrossGaps: 0, badFrames: 0, errorMessages: 0, errorSamples: [], badFrameSamples: [], closes: [],
  };
  closedAt: number | null = null;

  constructor(readonly openedAt: number, runtimes: FeatureRuntime[], readonly session: SessionInfo | null) {
    this.f = runtimes.map((rt) => new FeatureCounters(rt.cfg.cadence === 'periodic' ? rt.expectedMs : null));
  }
}

export interface FeatureRuntime {
  idx: number;
  cfg: FeatureConfig;
  expectedMs: number;
  graceMs: number;
  stalenessMs: number;
  limits: IntervalLimits;
  matcher: FeatureMatcher;
  noise: NoiseTracker;
  /** Stream keys in WS names. */
  wsStreamFields: string[];
  streamIsKeyPrefix: boolean;
  wsRequired: string[];
  keys: Map<string, KeyState>;
  /** The keys' coarse interval histograms, in shared blocks. */
  keyBuckets: BucketArena;
  /** REST stream keys and when first seen. */
  restKeys: Map<string, number>;
  reportedMissing: Set<string>;
  /** Field -> JSON type first seen (a plain object: cheaper than a Map on the hot path). */
  fieldTypes: Record<string, string>;
  /** JSON type of each required field, by index in wsRequired. */
  requiredTypes: (string | undefined)[];
  /** requiredTypes as `typeof` names for the fast check ('-' where typeof cannot tell: never matches). */
  requiredTypeofs: string[];
  /** True when every required field is present with its usual type (see `requiredCheck`). */
  requiredSame: (d: Record<string, unknown>, typeofs: string[]) => boolean;
  sampled: number;
  driftSeen: Set<string>;
  ignored: (path: string) => boolean;
}

/** One scope's numbers and findings: a pure function of the counters and the configuration. */
export function scopeSnapshot(runtimes: readonly FeatureRuntime[], s: Scope, now: number, overall: boolean, maxMismatchRate?: number): ScopeSnapshot {
  const end = s.closedAt ?? now;
  const features = runtimes.map((rt) => featureStats(rt, s.f[rt.idx]!, Math.max(1, end - s.openedAt), overall));
  const conn: ConnectionCounters = { ...s.conn, errorSamples: [...s.conn.errorSamples], badFrameSamples: [...s.conn.badFrameSamples], closes: [...s.conn.closes] };
  const byName = new Map(runtimes.map((r) => [r.cfg.name, r.cfg]));
  const findings = judgeScope(features, conn, { feature: (n) => byName.get(n)!, maxMismatchRate });
  return { openedAt: s.openedAt, closedAt: s.closedAt, features, connection: conn, findings };
}

export function featureStats(rt: FeatureRuntime, c: FeatureCounters, spanMs: number, overall: boolean): FeatureStats {
  const compared = c.agreed + c.mismatched;
  const keys: KeyIntervalStats[] = overall
    ? [...rt.keys.entries()].map(([key, ks]) => ({ key, lastAt: ks.lastAt, ...ks.stats.summary() })).sort((a, b) => a.key.localeCompare(b.key))
    : [];
  const tol = rt.cfg.thresholds.intervalTolerance;
  const slack = rt.limits.lateMs - rt.expectedMs * 1.5;
  return {
    name: rt.cfg.name,
    cadence: rt.cfg.cadence,
    wsTypes: [...rt.cfg.wsTypes],
    expectedIntervalMs: rt.expectedMs,
    graceMs: rt.graceMs,
    ws: { messages: c.messages, firstAt: c.firstAt, lastAt: c.lastAt, ratePerSec: Math.round((c.messages / (spanMs / 1000)) * 100) / 100, keys: overall ? rt.keys.size : c.keys },
    interval: c.interval ? c.interval.summary() : null,
    intervalLimitMs: c.interval ? Math.round(rt.expectedMs * (1 + tol) + slack) : null,
    keys,
    rest: {
      polls: c.polls, ok: c.restOk, errors: c.restErrors, byOutcome: { ...c.byOutcome }, byStatus: { ...c.byStatus },
      latency: c.latency.summary(), items: c.restItems, lastError: c.lastRestError,
    },
    match: {
      compared, agreed: c.agreed, mismatched: c.mismatched, agreedWithNoise: c.agreedWithNoise, unmatched: c.unmatched,
      unmatchedByReason: { ...c.unmatchedByReason }, missingOnWs: c.missingOnWs,
      rate: compared ? c.mismatched / compared : null, mismatches: [...c.mismatches],
      skipped: c.skipped, decided: compared + c.skipped, skippedRate: compared + c.skipped ? c.skipped / (compared + c.skipped) : null,
      skippedSamples: [...c.skippedSamples], restamped: c.restamped, missingOnWsKeys: [...c.missingOnWsKeys],
    },
    staleness: rt.cfg.cadence === 'periodic' ? null : { changes: c.staleChanges, maxMs: c.staleMax, stale: c.stale, limitMs: Math.round(rt.stalenessMs) },
    drift: [...c.drift.values()].map((d) => ({ ...d })),
    missingKeys: [...rt.reportedMissing].filter((k) => !rt.keys.has(k)).sort(),
    noise: rt.noise.volatileFields(),
  };
}
