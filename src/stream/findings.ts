import type { FeatureConfig, Thresholds } from '../config/types.js';
import { formatMs, formatRate } from '../output/units.js';
import { diagnoseCloses } from './closes.js';
import type { MismatchRecord } from './match.js';
import type { IntervalSummary } from './stats.js';
import type { ConnectionCounters, FeatureStats, Finding, KeyIntervalStats } from './types.js';

/**
 * Findings: every problem in one scope (the run, or one session), each with its measured
 * value and the limit it broke. A pure function of the engine's statistics and the
 * thresholds, so parity, verify and a test can ask the same question of the same numbers.
 */

export interface FindingRules {
  /** The configuration of each watched feature, by name. */
  feature(name: string): FeatureConfig;
  /** Overrides every feature's maxMismatchRate (parity --max-mismatch-rate). */
  maxMismatchRate?: number;
}

/** How sure "more skipped states than maxSkippedRate explains" must be before it fails a run. */
export const SKIPPED_SIGNIFICANCE = 0.01;

/**
 * P(X >= k) for X ~ Binomial(n, p): how likely a channel that loses a fraction p of its
 * messages is to skip k or more of n states. Summed in log space from the nearer end.
 */
export function binomialTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const q = Math.log(p / (1 - p));
  // log pmf(i) for i = k by the product formula, then stepping.
  let logC = 0;
  for (let j = 1; j <= k; j++) logC += Math.log((n - k + j) / j);
  const logPmfK = logC + k * Math.log(p) + (n - k) * Math.log(1 - p);
  if (k > n * p) {
    let sum = 0;
    let lp = logPmfK;
    for (let i = k; i <= n; i++) {
      const term = Math.exp(lp);
      sum += term;
      if (term < sum * 1e-12) break;
      lp += Math.log((n - i) / (i + 1)) + q;
    }
    return Math.min(1, sum);
  }
  // Below the mean the tail is most of the mass: 1 - P(X < k), stepping down from k - 1.
  let below = 0;
  let lp = logPmfK + Math.log(k / (n - k + 1)) - q;
  for (let i = k - 1; i >= 0; i--) {
    const term = Math.exp(lp);
    below += term;
    if (term < below * 1e-12) break;
    lp += Math.log(i / (n - i + 1)) - q;
  }
  return Math.max(0, 1 - below);
}

/** Skipped states beyond what maxSkippedRate explains (a one-sided binomial test). */
export function tooManySkipped(skipped: number, decided: number, maxRate: number): boolean {
  return skipped > 0 && binomialTail(skipped, decided, maxRate) < SKIPPED_SIGNIFICANCE;
}

/**
 * Missed beats, told apart: gaps of one or two beats are messages dropped (channel layers
 * drop under load: judged like skipped states, against maxSkippedRate); longer gaps are a
 * stalled stream (judged against maxMissedBeats). `setAside` is
 * beats to leave out (verify: gaps that began before the session opened).
 */
export function missedBeats(iv: IntervalSummary, setAside: number, th: Thresholds) {
  const dropped = iv.dropped;
  const stalled = Math.max(0, iv.missedBeats - dropped - setAside);
  const expected = iv.count + iv.missedBeats;
  return {
    stalled,
    stallGaps: iv.missedGapsOver,
    dropped,
    expected,
    stallFails: stalled > th.maxMissedBeats,
    dropsFail: expected > 0 && tooManySkipped(dropped, expected, th.maxSkippedRate),
  };
}

const ms = (v: number): string => formatMs(v);
const pct = formatRate;

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** "ACC1: quantity REST 100, WS 101, nearest WS 0.4 s away" */
export function describeMismatch(m: MismatchRecord, maxFields = 3): string {
  const fields = m.fields.slice(0, maxFields).map((f) => `${f.path} REST ${show(f.rest)}, WS ${show(f.ws)}`).join('; ');
  const more = m.fields.length > maxFields ? ` (+${m.fields.length - maxFields} more)` : '';
  return `${m.key}: ${fields}${more}, nearest WS ${ms(Math.abs(m.skewMs))} away`;
}

function worstKey(fs: FeatureStats, by: 'p95' | 'missedBeats'): string | null {
  if (fs.keys.length < 2) return fs.keys[0]?.key || null;
  let best: KeyIntervalStats | null = null;
  for (const k of fs.keys) if (!best || (k[by] ?? 0) > (best[by] ?? 0)) best = k;
  return best?.key || null;
}

/** Keys REST had that WS never carried, as people name them (stream keys when known). */
export function missingKeyNames(fs: FeatureStats, max = 3): string {
  const keys = fs.missingKeys.length ? fs.missingKeys : fs.match.missingOnWsKeys;
  if (keys.length === 0) return '';
  return keys.slice(0, max).join(', ') + (keys.length > max ? ` (+${keys.length - max} more)` : '');
}

export function judgeScope(features: readonly FeatureStats[], conn: ConnectionCounters, rules: FindingRules): Finding[] {
  const out: Finding[] = [];
  const add = (f: Finding) => out.push(f);
  for (const fs of features) {
    const slow = timingFindings(fs, rules, add);
    matchFindings(fs, rules, slow, add);
    shapeFindings(fs, rules, add);
  }
  connectionFindings(features, conn, rules, add);
  return out;
}

type Add = (f: Finding) => void;

/** No data, the interval and missed beats; true when the stream is late or slow (it then skips states by construction). */
function timingFindings(fs: FeatureStats, rules: FindingRules, add: Add): boolean {
  const cfg = rules.feature(fs.name);
  const th = cfg.thresholds;
  const n = fs.name;
  if (fs.ws.messages === 0) {
    add({ check: 'no-data', feature: n, key: null, measured: '0 WS messages', limit: `at least ${Math.max(1, th.minMessages)}`, message: `${n}: no data: no ${fs.wsTypes.join('/')} message arrived on WS` });
  }
  if (fs.rest.polls > 0 && fs.rest.ok === 0 && fs.rest.errors === 0) {
    add({ check: 'no-rest-data', feature: n, key: null, measured: '0 REST answers', limit: 'at least 1', message: `${n}: no data from REST ${cfg.restPath}` });
  }
  let slow = false;
  if (fs.interval && fs.interval.count > 0 && fs.intervalLimitMs !== null && fs.interval.p95! > fs.intervalLimitMs) {
    slow = true;
    const wk = worstKey(fs, 'p95');
    add({
      check: 'interval', feature: n, key: wk, measured: `p95 ${ms(fs.interval.p95!)}`, limit: ms(fs.intervalLimitMs),
      message: `${n}: interval p95 ${ms(fs.interval.p95!)} > ${ms(fs.intervalLimitMs)} limit (expected ${ms(fs.expectedIntervalMs)})${wk ? `, worst key ${wk}` : ''}`,
    });
  }
  const beats = fs.interval ? missedBeats(fs.interval, 0, th) : null;
  if (beats?.stallFails) {
    slow = true;
    const wk = worstKey(fs, 'missedBeats');
    add({
      check: 'missed-beats', feature: n, key: wk, measured: `${beats.stalled} missed beats`, limit: `${th.maxMissedBeats}`,
      message: `${n}${wk ? ` ${wk}` : ''}: ${beats.stalled} missed beats in ${beats.stallGaps} gaps of 3 or more beats > ${th.maxMissedBeats} allowed`,
    });
  }
  return slow;
}

/** REST against WS: mismatches, states WS skipped, snapshots that matched nothing. */
function matchFindings(fs: FeatureStats, rules: FindingRules, slow: boolean, add: Add): void {
  const cfg = rules.feature(fs.name);
  const th = cfg.thresholds;
  const n = fs.name;
  const beats = fs.interval ? missedBeats(fs.interval, 0, th) : null;
  const m = fs.match;
  const skippedFails = tooManySkipped(m.skipped, m.decided, th.maxSkippedRate);
  // Lost messages show twice: as a one-beat gap and as a state REST showed that WS
  // skipped. With REST to compare, the skipped states are the finding (below).
  if (beats?.dropsFail && !skippedFails) {
    add({
      check: 'missed-beats', feature: n, key: worstKey(fs, 'missedBeats'), measured: `${beats.dropped} of ${beats.expected} messages lost`, limit: pct(th.maxSkippedRate),
      message: `${n}: ${beats.dropped} messages lost in short gaps of about ${beats.expected} (${pct(beats.dropped / beats.expected)}, more than ${pct(th.maxSkippedRate)} explains): the channel layer drops messages or the job skips runs`,
    });
  }
  const allowed = rules.maxMismatchRate ?? th.maxMismatchRate;
  if (fs.match.compared > 0 && fs.match.rate! > allowed) {
    const first = fs.match.mismatches[0];
    add({
      check: 'mismatch', feature: n, key: first?.key ?? null, measured: `${fs.match.mismatched} of ${fs.match.compared} (${pct(fs.match.rate!)})`, limit: pct(allowed),
      message: `${n}: ${fs.match.mismatched} of ${fs.match.compared} REST polls mismatched (${pct(fs.match.rate!)} > ${pct(allowed)} allowed)${first ? `; first: ${describeMismatch(first)}` : ''}`,
    });
  }
  // A stream that is late or slow skips states by construction: that is its interval
  // finding, not a second one.
  if (!slow && skippedFails) {
    const first = m.skippedSamples[0];
    add({
      check: 'skipped', feature: n, key: first?.key ?? null, measured: `${m.skipped} of ${m.decided} (${pct(m.skippedRate ?? 0)})`, limit: pct(th.maxSkippedRate),
      message: `${n}: WS skipped ${m.skipped} of ${m.decided} states REST showed (${pct(m.skippedRate ?? 0)}, more than ${pct(th.maxSkippedRate)} explains): the channel layer drops messages or the consumer falls behind${first ? `; first: ${describeMismatch(first)}` : ''}`,
    });
  }
  if (m.compared === 0 && m.unmatched >= 5 && fs.ws.messages > 0) {
    add({ check: 'unmatched', feature: n, key: null, measured: `${m.unmatched} unmatched, 0 compared`, limit: 'at least 1 compared', message: `${n}: none of ${m.unmatched} REST snapshots could be matched to a WS message (${Object.entries(m.unmatchedByReason).map(([r, c]) => `${r} ${c}`).join(', ')})` });
  }
}

/** Keys missing on WS, schema drift, stale changes, REST errors. */
function shapeFindings(fs: FeatureStats, rules: FindingRules, add: Add): void {
  const cfg = rules.feature(fs.name);
  const n = fs.name;
  for (const key of fs.missingKeys) {
    add({ check: 'missing-key', feature: n, key, measured: '0 WS messages for the key', limit: 'REST has it', message: `${n} ${key}: on REST, never on WS` });
  }
  for (const d of fs.drift) {
    const side = d.side === 'ws' ? 'WS' : 'REST';
    const what = d.kind === 'missing-required' ? `required field "${d.field}" missing on ${side}`
      : d.kind === 'one-side-only' ? `field "${d.field}" only on ${side}`
      : d.kind === 'type-change' ? `field "${d.field}" changed type on ${side} (${d.detail})`
      : d.kind === 'no-key' ? `${side} payload without its key (${d.field})`
      : `${side} data is not an object`;
    add({ check: 'schema', feature: n, key: d.firstKey, measured: `${d.count}x`, limit: '0', message: `${n}${d.firstKey ? ` ${d.firstKey}` : ''}: schema drift: ${what} (${d.count}x)` });
  }
  if (fs.staleness && fs.staleness.stale > 0) {
    add({ check: 'stale', feature: n, key: null, measured: `${fs.staleness.stale} changes not on WS in time`, limit: ms(fs.staleness.limitMs), message: `${n}: ${fs.staleness.stale} of ${fs.staleness.changes} REST changes did not reach WS within ${ms(fs.staleness.limitMs)}` });
  }
  if (fs.rest.errors > 0) {
    const parts = Object.entries(fs.rest.byOutcome).map(([o, c]) => `${c} ${o}`);
    add({ check: 'rest-errors', feature: n, key: null, measured: `${fs.rest.errors} of ${fs.rest.polls} polls failed`, limit: '0', message: `${n}: REST ${cfg.restPath}: ${fs.rest.errors} of ${fs.rest.polls} polls failed (${parts.join(', ')}); last: ${fs.rest.lastError}` });
  }
}

/** error_message frames, unusable frames, reconnects (with the close diagnosis). */
function connectionFindings(features: readonly FeatureStats[], conn: ConnectionCounters, rules: FindingRules, add: Add): void {
  if (conn.errorMessages > 0) {
    const s = conn.errorSamples[0];
    add({ check: 'error-messages', feature: null, key: null, measured: `${conn.errorMessages} error_message`, limit: '0', message: `server sent ${conn.errorMessages} error_message${s ? `; first: "${s.message}"${s.code ? ` (code ${s.code})` : ''}` : ''}` });
  }
  if (conn.badFrames > 0) {
    const s = conn.badFrameSamples[0];
    add({ check: 'bad-frames', feature: null, key: null, measured: `${conn.badFrames} bad frames`, limit: '0', message: `${conn.badFrames} WS frames were not usable JSON messages${s ? `; first (${s.kind}): ${JSON.stringify(s.sample.slice(0, 60))}` : ''}` });
  }
  const maxReconnects = Math.min(...features.map((f) => rules.feature(f.name).thresholds.maxReconnects));
  if (conn.reconnects > maxReconnects) {
    const why = closeDiagnosis(features, conn);
    add({
      check: 'reconnects', feature: null, key: null, measured: `${conn.reconnects} reconnects`, limit: `${maxReconnects}`,
      message: `WS reconnected ${conn.reconnects} times (> ${maxReconnects} allowed); longest gap ${ms(conn.maxGapMs)}, about ${conn.missedAcrossGaps} messages missed across gaps${why ? `; ${why.text}` : ''}`,
      ...(why ? { hint: why.hint, suspects: why.suspects } : {}),
    });
  }
}

/** The close diagnosis of a scope, against the types its features expect. */
export function closeDiagnosis(features: readonly FeatureStats[], conn: ConnectionCounters) {
  return diagnoseCloses(conn.closes, features.flatMap((f) => (f.cadence === 'periodic'
    ? f.wsTypes.slice(0, 1).map((type) => ({ type, feature: f.name, intervalMs: f.expectedIntervalMs, messages: f.ws.messages }))
    : [])));
}
