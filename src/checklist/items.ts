import type { FeatureConfig } from '../config/types.js';
import { formatMs, formatRate } from '../output/units.js';
import { missedBeats, missingKeyNames, tooManySkipped, type CloseDiagnosis, type ConnectionCounters, type DriftCount, type FeatureStats } from '../stream/index.js';

/**
 * The runbook's step 3.3 checklist, judged from the engine's numbers for one feature in one
 * session. Pure: no I/O, so every threshold decision is testable on its own.
 */

export type CheckId = 'interval' | 'fields' | 'values' | 'errors' | 'connection' | 'scoping';
export type ItemStatus = 'pass' | 'fail' | 'inconclusive' | 'skipped';
export type Verdict = 'pass' | 'fail' | 'inconclusive' | 'error';

export const CHECKS: { id: CheckId; letter: string; title: string }[] = [
  { id: 'interval', letter: 'a', title: 'messages appear at the expected interval' },
  { id: 'fields', letter: 'b', title: 'payload contains all expected fields' },
  { id: 'values', letter: 'c', title: 'values match the REST endpoint' },
  { id: 'errors', letter: 'd', title: 'no errors' },
  { id: 'connection', letter: 'e', title: 'WebSocket connection stable' },
  { id: 'scoping', letter: 'f', title: 'account data only to sockets with the token' },
];

export interface CheckResult {
  check: CheckId;
  status: ItemStatus;
  /** The numbers in one phrase: "p95 10.2 s <= 12.0 s limit, 0 missed beats (max 0), 58 msgs". */
  summary: string;
  /** For a fail: the measured value against the limit, "p95 14.8 s > 12.0 s limit". */
  detail: string | null;
  numbers: Record<string, number | string | null>;
}

/** What an anonymous socket (no token) received during one scope. */
export interface ScopingEvidence {
  /** Account-scoped messages of this feature delivered to the socket without a token. */
  delivered: number;
  /** The anonymous handshake was refused (401/403): nothing can leak. */
  refusedStatus: number | null;
  /** The anonymous socket was connected at some point in the scope. */
  connected: boolean;
}

export interface EvidenceInput {
  feature: FeatureConfig;
  stats: FeatureStats;
  connection: ConnectionCounters;
  /** What the server's closes in the scope have in common (closes.ts), or null without one. */
  closes?: CloseDiagnosis | null;
  /**
   * Missed beats to set aside: gaps that began before the session opened (a stream that
   * was quiet while the market was closed is not a failure of the session).
   */
  missedBeatsBeforeOpen: number;
  /** null: no token configured, or the feature is not account-scoped. */
  scoping: ScopingEvidence | null;
}

export const secs = formatMs;
export const pct = formatRate;

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

function item(check: CheckId, status: ItemStatus, summary: string, detail: string | null, numbers: CheckResult['numbers']): CheckResult {
  return { check, status, summary, detail: status === 'fail' || status === 'inconclusive' ? detail ?? summary : null, numbers };
}

function intervalItem(e: EvidenceInput & { skippedFails: boolean }): CheckResult {
  const { stats: s, feature: f } = e;
  const th = f.thresholds;
  const msgs = s.ws.messages;
  if (s.cadence !== 'periodic') {
    const st = s.staleness;
    const numbers = { messages: msgs, changes: st?.changes ?? 0, stale: st?.stale ?? 0, maxDelayMs: st?.maxMs ?? null, limitMs: st?.limitMs ?? null };
    if (st && st.stale > 0) {
      return item('interval', 'fail', `${st.stale} of ${st.changes} REST changes not on WS within ${secs(st.limitMs)}`,
        `${plural(st.stale, 'REST change')} not on WS within ${secs(st.limitMs)} > 0 allowed`, numbers);
    }
    if (msgs < th.minMessages) {
      return item('interval', 'inconclusive', `${plural(msgs, 'message')} < ${th.minMessages} minimum`, `only ${plural(msgs, 'message')} (minimum ${th.minMessages})`, numbers);
    }
    return item('interval', 'pass', `${st?.changes ?? 0} REST changes reached WS, slowest ${secs(st?.maxMs ?? null)} <= ${secs(st?.limitMs ?? null)} staleness limit, ${plural(msgs, 'msg')}`, null, numbers);
  }
  const iv = s.interval;
  const beats = iv ? missedBeats(iv, e.missedBeatsBeforeOpen, th) : null;
  const missed = beats?.stalled ?? 0;
  const limit = s.intervalLimitMs;
  const p95 = iv && iv.count > 0 ? iv.p95 : null;
  const numbers = {
    messages: msgs, samples: iv?.count ?? 0, expectedMs: s.expectedIntervalMs, p50Ms: iv?.p50 ?? null, p95Ms: p95, maxMs: iv?.max ?? null,
    limitMs: limit, late: iv?.late ?? 0, missedBeats: missed, maxMissedBeats: th.maxMissedBeats, dropped: beats?.dropped ?? 0, bursts: iv?.bursts ?? 0,
  };
  const fails: string[] = [];
  if (p95 !== null && limit !== null && p95 > limit) fails.push(`p95 ${secs(p95)} > ${secs(limit)} limit`);
  if (beats?.stallFails) fails.push(`${plural(missed, 'missed beat')} > ${th.maxMissedBeats} allowed`);
  if (beats?.dropsFail && !e.skippedFails) fails.push(`${plural(beats.dropped, 'message')} lost in short gaps of about ${count(beats.expected)} (${pct(beats.dropped / beats.expected)}), more than ${pct(th.maxSkippedRate)} explains`);
  const summary = `p95 ${secs(p95)} ${p95 !== null && limit !== null && p95 > limit ? '>' : '<='} ${secs(limit)} limit (expected ${secs(s.expectedIntervalMs)}), `
    + `${plural(missed, 'missed beat')} (max ${th.maxMissedBeats}), ${beats?.dropped ? `${plural(beats.dropped, 'message')} lost in short gaps (max ${pct(th.maxSkippedRate)}), ` : ''}${plural(msgs, 'msg')}`;
  if (fails.length) return item('interval', 'fail', summary, fails.join('; '), numbers);
  if (msgs < th.minMessages || p95 === null) {
    return item('interval', 'inconclusive', summary, `only ${plural(msgs, 'message')} (minimum ${Math.max(th.minMessages, 2)} to measure an interval)`, numbers);
  }
  return item('interval', 'pass', summary, null, numbers);
}

/** Every schema problem the engine saw for the feature, on either side. */
export function schemaProblems(drift: readonly DriftCount[]): DriftCount[] {
  return drift.filter((d) => d.count > 0);
}

function describeDrift(d: DriftCount): string {
  const side = d.side === 'ws' ? 'WS' : 'REST';
  switch (d.kind) {
    case 'missing-required': return `required field "${d.field}" missing on ${side} in ${plural(d.count, 'message')}`;
    case 'one-side-only': return `field "${d.field}" only on ${side} (${d.count}x)`;
    case 'type-change': return `field "${d.field}" changed type on ${side} (${d.detail}, ${d.count}x)`;
    case 'no-key': return `${side} payload without its key ${d.field} (${d.count}x)`;
    case 'not-an-object': return `${side} data is not an object (${d.count}x)`;
  }
}

function fieldsItem(e: EvidenceInput): CheckResult {
  const { stats: s, feature: f } = e;
  const problems = schemaProblems(s.drift);
  const numbers = { messages: s.ws.messages, requiredFields: f.requiredFields.length, problems: problems.reduce((n, d) => n + d.count, 0) };
  if (problems.length) {
    const text = problems.slice(0, 3).map(describeDrift).join('; ') + (problems.length > 3 ? ` (+${problems.length - 3} more)` : '');
    return item('fields', 'fail', text, `${text} > 0 allowed`, numbers);
  }
  const summary = `${f.requiredFields.length} required fields in all ${plural(s.ws.messages, 'message')}, no type changes`;
  if (s.ws.messages === 0) return item('fields', 'inconclusive', 'no message to check', 'no WS message to check the fields of', numbers);
  return item('fields', 'pass', summary, null, numbers);
}

function valuesItem(e: EvidenceInput & { slowStream: boolean }, maxMismatchRate: number): CheckResult {
  const m = e.stats.match;
  const numbers = {
    restPolls: e.stats.rest.polls, compared: m.compared, agreed: m.agreed, mismatched: m.mismatched, rate: m.rate, maxRate: maxMismatchRate,
    unmatched: m.unmatched, missingOnWs: m.missingOnWs, skipped: m.skipped, skippedRate: m.skippedRate, maxSkippedRate: e.feature.thresholds.maxSkippedRate, restamped: m.restamped,
  };
  const first = m.mismatches[0];
  const firstText = first ? `; first: ${first.key}: ${first.fields.slice(0, 2).map((d) => `${d.path} REST ${show(d.rest)}, WS ${show(d.ws)}`).join('; ')}` : '';
  if (m.compared > 0 && (m.rate ?? 0) > maxMismatchRate) {
    const measured = `${count(m.mismatched)} of ${count(m.compared)} REST polls mismatched (${pct(m.rate ?? 0)})`;
    return item('values', 'fail', measured + firstText, `${measured} > ${pct(maxMismatchRate)} allowed${firstText}`, numbers);
  }
  if (e.stats.ws.messages === 0) {
    // No WS message at all: nothing to compare (a), b) and the connection say why), not a list of keys.
    return item('values', 'inconclusive', `no WS message to compare with ${count(e.stats.rest.polls)} REST polls`, `0 WS messages: nothing to compare with REST`, numbers);
  }
  if (m.missingOnWs > 0) {
    const keys = missingKeyNames(e.stats);
    const measured = `${plural(m.missingOnWs, 'REST item')} for keys WS never carried${keys ? ` (${keys})` : ''}`;
    return item('values', 'fail', measured, `${measured} > 0 allowed`, numbers);
  }
  const maxSkipped = e.feature.thresholds.maxSkippedRate;
  const skippedText = `${count(m.skipped)} skipped state${m.skipped === 1 ? '' : 's'} (${pct(m.skippedRate ?? 0)}, max ${pct(maxSkipped)})`;
  // A slow or late stream skips states by construction: that is item a), not c).
  if (tooManySkipped(m.skipped, m.decided, maxSkipped) && !e.slowStream) {
    const s0 = m.skippedSamples[0];
    const first = s0 ? `; first: ${s0.key}: ${s0.fields.slice(0, 2).map((d) => `${d.path} REST ${show(d.rest)}, WS ${show(d.ws)}`).join('; ')}` : '';
    const measured = `WS skipped ${count(m.skipped)} of ${count(m.decided)} states REST showed (${pct(m.skippedRate ?? 0)})`;
    return item('values', 'fail', measured + first, `${measured}, more than ${pct(maxSkipped)} explains: the channel layer drops messages or the consumer falls behind${first}`, numbers);
  }
  if (m.compared === 0 && m.unmatched >= 5 && e.stats.ws.messages > 0) {
    const reasons = Object.entries(m.unmatchedByReason).map(([r, c]) => `${r} ${c}`).join(', ');
    const measured = `none of ${count(m.unmatched)} REST snapshots matched a WS message (${reasons})`;
    return item('values', 'fail', measured, `${measured}; at least 1 expected`, numbers);
  }
  const summary = `${count(m.agreed)} of ${count(m.compared)} REST polls agree (${pct(m.rate ?? 0)} mismatched, max ${pct(maxMismatchRate)})`
    + (m.skipped ? `, ${skippedText}${e.slowStream ? ': the stream is slow, see a)' : ''}` : '')
    + (m.restamped ? `, ${count(m.restamped)} re-stamped` : '')
    + (m.unmatched ? `, ${count(m.unmatched)} not comparable` : '');
  if (m.compared === 0) {
    return item('values', 'inconclusive', `no REST poll could be compared (${count(e.stats.rest.polls)} polls)`, `0 REST polls compared with WS (${count(e.stats.rest.polls)} polls)`, numbers);
  }
  return item('values', 'pass', summary, null, numbers);
}

function errorsItem(e: EvidenceInput): CheckResult {
  const c = e.connection;
  const r = e.stats.rest;
  const numbers = { errorMessages: c.errorMessages, badFrames: c.badFrames, restErrors: r.errors, restPolls: r.polls };
  const measured = `${plural(c.errorMessages, 'error_message')}, ${plural(c.badFrames, 'bad frame')}, ${plural(r.errors, 'REST error')}`;
  const bad = c.errorMessages + c.badFrames + r.errors;
  if (bad === 0) return item('errors', 'pass', `${measured} (${plural(r.polls, 'REST poll')})`, null, numbers);
  const samples: string[] = [];
  if (c.errorSamples[0]) samples.push(`first error_message "${c.errorSamples[0].message}"`);
  if (c.badFrameSamples[0]) samples.push(`first bad frame (${c.badFrameSamples[0].kind})`);
  if (r.lastError) samples.push(`last REST error: ${r.lastError}`);
  return item('errors', 'fail', measured, `${measured} > 0 allowed${samples.length ? `; ${samples.join('; ')}` : ''}`, numbers);
}

function connectionItem(e: EvidenceInput): CheckResult {
  const c = e.connection;
  const max = e.feature.thresholds.maxReconnects;
  // Reconnecting within one beat loses nothing; a longer gap loses data even if the socket comes back.
  const gapLimit = e.stats.expectedIntervalMs;
  const numbers = {
    reconnects: c.reconnects, maxReconnects: max, maxGapMs: c.maxGapMs, gapLimitMs: gapLimit, missedAcrossGaps: c.missedAcrossGaps,
    closes: c.closes.length, closeCodes: e.closes ? e.closes.codes.map(([code, n]) => `${code}x${n}`).join(' ') : null, suspects: e.closes?.suspects.join(' ') || null,
  };
  const summary = `${plural(c.reconnects, 'reconnect')} (max ${max}), longest gap ${secs(c.maxGapMs)} (limit ${secs(gapLimit)})`;
  const fails: string[] = [];
  if (c.reconnects > max) fails.push(`${plural(c.reconnects, 'reconnect')} > ${max} allowed`);
  if (c.maxGapMs > gapLimit) fails.push(`gap ${secs(c.maxGapMs)} > ${secs(gapLimit)} limit (one interval)`);
  const why = e.closes ? `; ${e.closes.text}: ${e.closes.hint}` : '';
  if (fails.length) return item('connection', 'fail', summary, fails.join('; ') + (c.missedAcrossGaps ? `, about ${count(c.missedAcrossGaps)} messages missed` : '') + why, numbers);
  return item('connection', 'pass', summary, null, numbers);
}

function scopingItem(e: EvidenceInput): CheckResult {
  const s = e.scoping;
  if (!s) {
    return item('scoping', 'skipped', e.feature.accountScoped ? 'no token configured: nothing to compare an anonymous socket with' : 'not an account-scoped feature', null, {});
  }
  const numbers = { delivered: s.delivered, refusedStatus: s.refusedStatus };
  if (s.delivered > 0) {
    const measured = `${plural(s.delivered, `${e.feature.wsTypes[0]} message`)} delivered to a socket without the token`;
    return item('scoping', 'fail', measured, `${measured} > 0 allowed`, numbers);
  }
  if (s.refusedStatus !== null) return item('scoping', 'pass', `a socket without the token is refused (HTTP ${s.refusedStatus})`, null, numbers);
  if (!s.connected) return item('scoping', 'inconclusive', 'the socket without the token never connected', 'could not connect a socket without the token to check', numbers);
  return item('scoping', 'pass', `0 messages to a socket without the token`, null, numbers);
}

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Items a-f for one feature in one scope (a session, or the whole run). */
export function judgeFeature(e: EvidenceInput, maxMismatchRate = e.feature.thresholds.maxMismatchRate): CheckResult[] {
  // Lost messages show as one-beat gaps (a) and as skipped states (c): c) speaks for them
  // when REST was compared; a) only when its p95 or stalls fail is the stream slow.
  const m = e.stats.match;
  const skippedFails = tooManySkipped(m.skipped, m.decided, e.feature.thresholds.maxSkippedRate);
  const iv = e.stats.interval;
  const limit = e.stats.intervalLimitMs;
  const slowStream = iv !== null && ((iv.count > 0 && limit !== null && iv.p95! > limit) || missedBeats(iv, e.missedBeatsBeforeOpen, e.feature.thresholds).stallFails);
  const interval = intervalItem({ ...e, skippedFails });
  return [interval, fieldsItem(e), valuesItem({ ...e, slowStream }, maxMismatchRate), errorsItem(e), connectionItem(e), scopingItem(e)];
}

/** Any fail fails; else anything unjudged is inconclusive; skipped items do not count. */
export function combine(statuses: readonly (ItemStatus | Verdict)[]): Verdict {
  if (statuses.includes('error')) return 'error';
  if (statuses.includes('fail')) return 'fail';
  if (statuses.includes('inconclusive')) return 'inconclusive';
  return statuses.some((s) => s === 'pass') ? 'pass' : 'inconclusive';
}

export function worstItem(items: readonly CheckResult[]): ItemStatus {
  const v = combine(items.map((i) => i.status));
  return v === 'error' ? 'fail' : v;
}
