import type { FeatureConfig } from '../../config/types.js';
import { formatMs, formatRate } from '../../output/units.js';
import type { ConnectionCounters, DriftCount, FeatureStats } from '../../stream/index.js';

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

function intervalItem(e: EvidenceInput): CheckResult {
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
  const missed = Math.max(0, (iv?.missedBeats ?? 0) - e.missedBeatsBeforeOpen);
  const limit = s.intervalLimitMs;
  const p95 = iv && iv.count > 0 ? iv.p95 : null;
  const numbers = {
    messages: msgs, samples: iv?.count ?? 0, expectedMs: s.expectedIntervalMs, p50Ms: iv?.p50 ?? null, p95Ms: p95, maxMs: iv?.max ?? null,
    limitMs: limit, late: iv?.late ?? 0, missedBeats: missed, maxMissedBeats: th.maxMissedBeats, bursts: iv?.bursts ?? 0,
  };
  const fails: string[] = [];
  if (p95 !== null && limit !== null && p95 > limit) fails.push(`p95 ${secs(p95)} > ${secs(limit)} limit`);
  if (missed > th.maxMissedBeats) fails.push(`${plural(missed, 'missed beat')} > ${th.maxMissedBeats} allowed`);
  const summary = `p95 ${secs(p95)} ${p95 !== null && limit !== null && p95 > limit ? '>' : '<='} ${secs(limit)} limit (expected ${secs(s.expectedIntervalMs)}), `
    + `${plural(missed, 'missed beat')} (max ${th.maxMissedBeats}), ${plural(msgs, 'msg')}`;
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

function valuesItem(e: EvidenceInput, maxMismatchRate: number): CheckResult {
  const m = e.stats.match;
  const numbers = {
    restPolls: e.stats.rest.polls, compared: m.compared, agreed: m.agreed, mismatched: m.mismatched, rate: m.rate, maxRate: maxMismatchRate,
    unmatched: m.unmatched, missingOnWs: m.missingOnWs,
  };
  const first = m.mismatches[0];
  const firstText = first ? `; first: ${first.key}: ${first.fields.slice(0, 2).map((d) => `${d.path} REST ${show(d.rest)}, WS ${show(d.ws)}`).join('; ')}` : '';
  if (m.compared > 0 && (m.rate ?? 0) > maxMismatchRate) {
    const measured = `${count(m.mismatched)} of ${count(m.compared)} REST polls mismatched (${pct(m.rate ?? 0)})`;
    return item('values', 'fail', measured + firstText, `${measured} > ${pct(maxMismatchRate)} allowed${firstText}`, numbers);
  }
  if (m.missingOnWs > 0) {
    const measured = `${plural(m.missingOnWs, 'REST item')} for keys WS never carried`;
    return item('values', 'fail', measured, `${measured} > 0 allowed`, numbers);
  }
  if (m.compared === 0 && m.unmatched >= 5 && e.stats.ws.messages > 0) {
    const reasons = Object.entries(m.unmatchedByReason).map(([r, c]) => `${r} ${c}`).join(', ');
    const measured = `none of ${count(m.unmatched)} REST snapshots matched a WS message (${reasons})`;
    return item('values', 'fail', measured, `${measured}; at least 1 expected`, numbers);
  }
  const summary = `${count(m.agreed)} of ${count(m.compared)} REST polls agree (${pct(m.rate ?? 0)} mismatched, max ${pct(maxMismatchRate)})`
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
  const numbers = { reconnects: c.reconnects, maxReconnects: max, maxGapMs: c.maxGapMs, gapLimitMs: gapLimit, missedAcrossGaps: c.missedAcrossGaps };
  const summary = `${plural(c.reconnects, 'reconnect')} (max ${max}), longest gap ${secs(c.maxGapMs)} (limit ${secs(gapLimit)})`;
  const fails: string[] = [];
  if (c.reconnects > max) fails.push(`${plural(c.reconnects, 'reconnect')} > ${max} allowed`);
  if (c.maxGapMs > gapLimit) fails.push(`gap ${secs(c.maxGapMs)} > ${secs(gapLimit)} limit (one interval)`);
  if (fails.length) return item('connection', 'fail', summary, fails.join('; ') + (c.missedAcrossGaps ? `, about ${count(c.missedAcrossGaps)} messages missed` : ''), numbers);
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
  return [intervalItem(e), fieldsItem(e), valuesItem(e, maxMismatchRate), errorsItem(e), connectionItem(e), scopingItem(e)];
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
