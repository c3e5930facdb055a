import type { Decision, FieldDiff, Flat } from './match.js';
import type { IntervalKind } from './stats.js';
import type { EventSource } from './types.js';

/**
 * The run as a time series, for the HTML report: per feature and time bucket, message
 * counts, inter-arrival min/median/max, late and missed intervals, mismatches, skipped
 * comparisons and REST latency and errors; plus the connection's gaps and closes and the
 * first mismatches with their field-by-field diffs. Memory is fixed whatever the run's
 * length: buckets start at one second of rehearsal time and, when MAX_BUCKETS are used,
 * neighbours merge (the width doubles), so a 24 h run ends with buckets of about a minute.
 * The engine feeds it only when a report was asked for (`EngineOptions.series`).
 */

export const MAX_BUCKETS = 2_048;
/** Inter-arrival times kept per open bucket for its median (a uniform sample beyond that). */
const RESERVOIR = 256;
/** Mismatches kept with their diff per feature; later ones are counted per bucket only. */
export const MAX_MISMATCH_DETAILS = 100;
/** Skipped comparisons kept per feature (the rest counted per bucket). */
const MAX_SKIPPED = 200;
/** Gaps and closes kept (a flapping socket keeps the first of them). */
const MAX_CONNECTION_MARKS = 500;
const MAX_REST_ERRORS = 50;
/** Per diff: fields shown, and payload fields of each side. */
const MAX_DIFF_FIELDS = 20;
const MAX_PAYLOAD_FIELDS = 40;
const MAX_VALUE_CHARS = 200;
/** Interval histogram: log-spaced bins from 1/20 to 20 times the expected interval. */
const HIST_BINS = 64;
const HIST_LOW = 1 / 20;
const HIST_HIGH = 20;

export interface SeriesFeatureInfo {
  name: string;
  expectedMs: number;
  periodic: boolean;
}

export interface MismatchDetail {
  at: number;
  key: string;
  version: string | null;
  /** When the REST request went out and when its answer came (the poll's window). */
  restSentAt: number;
  restAt: number;
  /** When the WS message compared arrived (the nearest to the poll). */
  wsAt: number;
  skewMs: number;
  fields: FieldDiff[];
  fieldsTotal: number;
  /** Both payloads as flat field -> value (REST names), the differing fields first. */
  rest: [string, string][];
  ws: [string, string][];
  payloadFieldsTotal: number;
}

export interface SkippedMark {
  at: number;
  key: string;
  /** Why the REST poll was not compared: ws-gap, version-not-carried, no-ws-in-window, missing-on-ws. */
  reason: string;
}

export interface FeatureSeries {
  name: string;
  expectedMs: number;
  /** Per bucket (index i starts at startAt + i * bucketMs). null where there was nothing. */
  messages: number[];
  intervals: number[];
  minMs: (number | null)[];
  medianMs: (number | null)[];
  maxMs: (number | null)[];
  late: number[];
  missed: number[];
  mismatches: number[];
  skipped: number[];
  restPolls: number[];
  restErrors: number[];
  restMeanMs: (number | null)[];
  restMaxMs: (number | null)[];
  /** Interval histogram: upper edge of each bin (ms) and its count; the last bin is open. */
  histogram: { edgesMs: number[]; counts: number[] };
  mismatchDetails: MismatchDetail[];
  skippedMarks: SkippedMark[];
  restErrorSamples: { at: number; kind: string; status: number | null; message: string }[];
}

export interface SeriesSnapshot {
  startAt: number;
  bucketMs: number;
  buckets: number;
  features: FeatureSeries[];
  gaps: { from: number; to: number; missed: number }[];
  closes: { at: number; code: number; reason: string }[];
  /** Marks left out because a list was full. */
  dropped: { mismatchDetails: number; skipped: number; gaps: number; closes: number };
}

/**
 * A series fed by `engine`: the engine calls `message`, `interval` and `decision` on its
 * hot paths; REST polls and the connection's gaps and closes come from its events.
 */
export function followEngine(engine: EventSource, features: SeriesFeatureInfo[]): RunSeries {
  const series = new RunSeries(features, Date.now(), 1_000 / engine.speed);
  const index = new Map(features.map((f, i) => [f.name, i]));
  engine.onEvent('rest-poll', (e) => { const i = index.get(e.feature); if (i !== undefined) series.restPoll(i, e.at, e.ms, e.outcome === 'ok'); });
  engine.onEvent('rest-error', (e) => { const i = index.get(e.feature); if (i !== undefined) series.restError(i, e.at, e.kind, e.status, e.message); });
  engine.onEvent('reconnect', (e) => series.gap(e.at - e.gapMs, e.at, e.missedMessages));
  engine.onEvent('ws-close', (e) => series.close(e.at, e.code, e.reason));
  return series;
}

class FeatureColumns {
  readonly messages = new Uint32Array(MAX_BUCKETS);
  readonly intervals = new Uint32Array(MAX_BUCKETS);
  readonly min = new Float32Array(MAX_BUCKETS).fill(NaN);
  readonly median = new Float32Array(MAX_BUCKETS).fill(NaN);
  readonly max = new Float32Array(MAX_BUCKETS).fill(NaN);
  readonly late = new Uint32Array(MAX_BUCKETS);
  readonly missed = new Uint32Array(MAX_BUCKETS);
  readonly mismatches = new Uint32Array(MAX_BUCKETS);
  readonly skipped = new Uint32Array(MAX_BUCKETS);
  readonly restPolls = new Uint32Array(MAX_BUCKETS);
  readonly restErrors = new Uint32Array(MAX_BUCKETS);
  readonly restSum = new Float64Array(MAX_BUCKETS);
  readonly restMax = new Float32Array(MAX_BUCKETS).fill(NaN);
  readonly hist = new Float64Array(HIST_BINS);
  /** The open bucket's sample of intervals (its median is taken when the bucket closes). */
  readonly sample = new Float64Array(RESERVOIR);
  sampleN = 0;
  seen = 0;
  /** The bucket the sample belongs to (-1: none). */
  open = -1;
  readonly details: MismatchDetail[] = [];
  readonly skippedMarks: SkippedMark[] = [];
  readonly restErrorSamples: FeatureSeries['restErrorSamples'] = [];
  droppedDetails = 0;
  droppedSkipped = 0;
  readonly histLog: number;
  readonly histBase: number;

  constructor(readonly info: SeriesFeatureInfo) {
    this.histBase = Math.log(info.expectedMs * HIST_LOW);
    this.histLog = Math.log(HIST_HIGH / HIST_LOW) / (HIST_BINS - 1);
  }

  /** The open bucket's median so far: its sample's, weighed with what the column held before (a merged bucket). */
  openMedian(): number {
    const i = this.open;
    const s = Float64Array.from(this.sample.subarray(0, this.sampleN)).sort();
    const m = s[s.length >> 1]!;
    const n = this.intervals[i]!;
    const before = this.median[i]!;
    const fresh = Math.min(this.seen, n);
    return Number.isNaN(before) || fresh >= n ? m : (before * (n - fresh) + m * fresh) / n;
  }

  /** The open bucket's median goes into its column. */
  closeSample(): void {
    if (this.open >= 0 && this.sampleN > 0) this.median[this.open] = this.openMedian();
    this.sampleN = 0;
    this.seen = 0;
    this.open = -1;
  }
}

export class RunSeries {
  private startAt: number;
  private width: number;
  private readonly cols: FeatureColumns[];
  private top = 0;
  private readonly gaps: SeriesSnapshot['gaps'] = [];
  private readonly closes: SeriesSnapshot['closes'] = [];
  private droppedGaps = 0;
  private droppedCloses = 0;
  private ended = false;
  private last = 0;
  private lastFrom = 0;
  private lastTo = 0;

  /** `bucketMs`: the first bucket width (one second of rehearsal time). */
  constructor(features: SeriesFeatureInfo[], startAt: number, bucketMs: number) {
    this.startAt = startAt;
    this.width = Math.max(1, bucketMs);
    this.cols = features.map((f) => new FeatureColumns(f));
  }

  /** The bucket of a time, merging buckets first when the run outgrew them. */
  private bucket(at: number): number {
    // Most calls fall in the bucket of the call before (every message calls this).
    if (at >= this.lastFrom && at < this.lastTo) return this.last;
    let i = Math.floor((at - this.startAt) / this.width);
    if (i < 0) return 0;
    while (i >= MAX_BUCKETS) { this.compact(); i = Math.floor((at - this.startAt) / this.width); }
    if (i > this.top) this.top = i;
    this.last = i;
    this.lastFrom = this.startAt + i * this.width;
    this.lastTo = this.lastFrom + this.width;
    return i;
  }

  /** One WS message of a feature (every message: kept to a division and an increment). */
  message(f: number, at: number): void {
    this.cols[f]!.messages[this.bucket(at)]! += 1;
  }

  /** One inter-arrival time of a feature (any of its stream keys), as the engine judged it. */
  interval(f: number, at: number, ms: number, kind: IntervalKind): void {
    const c = this.cols[f]!;
    const i = this.bucket(at);
    if (c.open !== i) { c.closeSample(); c.open = i; }
    c.intervals[i]! += 1;
    if (!(ms >= c.min[i]!)) c.min[i] = ms;
    if (!(ms <= c.max[i]!)) c.max[i] = ms;
    if (kind === 'late') c.late[i]! += 1;
    else if (kind === 'missed') c.missed[i]! += 1;
    c.seen += 1;
    if (c.sampleN < RESERVOIR) c.sample[c.sampleN++] = ms;
    else {
      const j = Math.floor(Math.random() * c.seen);
      if (j < RESERVOIR) c.sample[j] = ms;
    }
    const bin = ms <= 0 ? 0 : Math.min(HIST_BINS - 1, Math.max(0, Math.ceil((Math.log(ms) - c.histBase) / c.histLog)));
    c.hist[bin]! += 1;
  }

  /** A REST poll was decided (agreed, mismatched, or not comparable). */
  decision(f: number, d: Decision): void {
    const c = this.cols[f]!;
    if (d.kind === 'agree') return;
    if (d.kind === 'mismatch') {
      c.mismatches[this.bucket(d.record.at)]! += 1;
      if (c.details.length >= MAX_MISMATCH_DETAILS) { c.droppedDetails += 1; return; }
      const r = d.record;
      const diffPaths = new Set(r.fields.map((x) => x.path));
      c.details.push({
        at: r.at, key: r.key, version: r.version, skewMs: r.skewMs,
        restSentAt: d.detail.restSentAt ?? r.at, restAt: r.at, wsAt: d.detail.wsAt ?? r.at + r.skewMs,
        fields: r.fields.slice(0, MAX_DIFF_FIELDS).map((x) => ({ path: x.path, rest: clip(x.rest), ws: clip(x.ws) })),
        fieldsTotal: r.fields.length,
        rest: payload(d.detail.rest, diffPaths),
        ws: payload(d.detail.ws, diffPaths),
        payloadFieldsTotal: Math.max(d.detail.rest.size ?? 0, d.detail.ws.size ?? 0),
      });
      return;
    }
    // Not compared: a state WS skipped (between two it carried), a key WS never carried, or
    // an item that could not be matched at all.
    const at = d.kind === 'skipped' ? d.record.at : d.at;
    const key = d.kind === 'skipped' ? d.record.key : d.key;
    c.skipped[this.bucket(at)]! += 1;
    if (c.skippedMarks.length >= MAX_SKIPPED) { c.droppedSkipped += 1; return; }
    c.skippedMarks.push({ at, key, reason: d.kind === 'missing-ws' ? 'missing-on-ws' : d.kind === 'skipped' ? 'skipped-state' : d.reason });
  }

  restPoll(f: number, at: number, ms: number, ok: boolean): void {
    const c = this.cols[f]!;
    const i = this.bucket(at);
    c.restPolls[i]! += 1;
    c.restSum[i]! += ms;
    if (!(ms <= c.restMax[i]!)) c.restMax[i] = ms;
    if (!ok) c.restErrors[i]! += 1;
  }

  restError(f: number, at: number, kind: string, status: number | null, message: string): void {
    const c = this.cols[f]!;
    if (c.restErrorSamples.length < MAX_REST_ERRORS) c.restErrorSamples.push({ at, kind, status, message: clipText(message) });
  }

  /** The run stopped: the socket closing now is ours, not the backend's. */
  end(): void {
    this.ended = true;
  }

  gap(from: number, to: number, missed: number): void {
    if (this.ended) return;
    if (this.gaps.length >= MAX_CONNECTION_MARKS) { this.droppedGaps += 1; return; }
    this.gaps.push({ from, to, missed });
  }

  close(at: number, code: number, reason: string): void {
    if (this.ended) return;
    if (this.closes.length >= MAX_CONNECTION_MARKS) { this.droppedCloses += 1; return; }
    this.closes.push({ at, code, reason: reason.slice(0, MAX_VALUE_CHARS) });
  }

  /** Two neighbouring buckets become one: counts add, min/max stay exact, medians weigh by count. */
  private compact(): void {
    for (const c of this.cols) {
      c.closeSample();
      const half = MAX_BUCKETS / 2;
      for (let j = 0; j < half; j++) {
        const a = 2 * j;
        const b = a + 1;
        for (const col of [c.messages, c.late, c.missed, c.mismatches, c.skipped, c.restPolls, c.restErrors]) col[j] = col[a]! + col[b]!;
        c.restSum[j] = c.restSum[a]! + c.restSum[b]!;
        c.restMax[j] = nanMax(c.restMax[a]!, c.restMax[b]!);
        c.min[j] = nanMin(c.min[a]!, c.min[b]!);
        c.max[j] = nanMax(c.max[a]!, c.max[b]!);
        const na = c.intervals[a]!;
        const nb = c.intervals[b]!;
        c.median[j] = na === 0 ? c.median[b]! : nb === 0 ? c.median[a]! : (c.median[a]! * na + c.median[b]! * nb) / (na + nb);
        c.intervals[j] = na + nb;
      }
      for (const col of [c.messages, c.intervals, c.late, c.missed, c.mismatches, c.skipped, c.restPolls, c.restErrors, c.restSum]) col.fill(0, half);
      for (const col of [c.min, c.median, c.max, c.restMax]) col.fill(NaN, half);
    }
    this.width *= 2;
    this.top = Math.floor(this.top / 2);
    this.lastTo = this.lastFrom = 0;
  }

  snapshot(): SeriesSnapshot {
    const n = this.top + 1;
    const features = this.cols.map((c): FeatureSeries => {
      // The open bucket's median so far, without closing it.
      const median = Array.from(c.median.subarray(0, n), nullIfNaN);
      if (c.open >= 0 && c.open < n && c.sampleN > 0) median[c.open] = round(c.openMedian());
      const edges: number[] = [];
      for (let b = 0; b < HIST_BINS; b++) edges.push(round(Math.exp(c.histBase + b * c.histLog)));
      return {
        name: c.info.name,
        expectedMs: c.info.expectedMs,
        messages: Array.from(c.messages.subarray(0, n)),
        intervals: Array.from(c.intervals.subarray(0, n)),
        minMs: Array.from(c.min.subarray(0, n), nullIfNaN),
        medianMs: median,
        maxMs: Array.from(c.max.subarray(0, n), nullIfNaN),
        late: Array.from(c.late.subarray(0, n)),
        missed: Array.from(c.missed.subarray(0, n)),
        mismatches: Array.from(c.mismatches.subarray(0, n)),
        skipped: Array.from(c.skipped.subarray(0, n)),
        restPolls: Array.from(c.restPolls.subarray(0, n)),
        restErrors: Array.from(c.restErrors.subarray(0, n)),
        restMeanMs: Array.from(c.restSum.subarray(0, n), (s, i) => (c.restPolls[i] ? round(s / c.restPolls[i]!) : null)),
        restMaxMs: Array.from(c.restMax.subarray(0, n), nullIfNaN),
        histogram: { edgesMs: edges, counts: Array.from(c.hist) },
        mismatchDetails: c.details.map((d) => ({ ...d })),
        skippedMarks: c.skippedMarks.map((s) => ({ ...s })),
        restErrorSamples: c.restErrorSamples.map((s) => ({ ...s })),
      };
    });
    return {
      startAt: this.startAt,
      bucketMs: this.width,
      buckets: n,
      features,
      gaps: this.gaps.map((g) => ({ ...g })),
      closes: this.closes.map((c) => ({ ...c })),
      dropped: {
        mismatchDetails: this.cols.reduce((s, c) => s + c.droppedDetails, 0),
        skipped: this.cols.reduce((s, c) => s + c.droppedSkipped, 0),
        gaps: this.droppedGaps,
        closes: this.droppedCloses,
      },
    };
  }
}

function nanMin(a: number, b: number): number {
  return Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.min(a, b);
}

function nanMax(a: number, b: number): number {
  return Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b);
}

function nullIfNaN(v: number): number | null {
  return Number.isNaN(v) ? null : round(v);
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function clip(v: unknown): unknown {
  if (typeof v === 'string') return v.length > MAX_VALUE_CHARS ? `${v.slice(0, MAX_VALUE_CHARS)}…` : v;
  if (v !== null && typeof v === 'object') return clipText(JSON.stringify(v));
  return v;
}

function clipText(s: string): string {
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}…` : s;
}

/** A flat payload as [field, value as JSON text], the differing fields first, bounded. */
function payload(flat: Flat | undefined, first: Set<string>): [string, string][] {
  if (!flat) return [];
  const out: [string, string][] = [];
  const show = (k: string, v: unknown) => out.push([k, clipText(v === undefined ? '(absent)' : typeof v === 'string' ? v : JSON.stringify(v))]);
  for (const k of first) if (flat.has(k)) show(k, flat.get(k));
  for (const [k, v] of flat) {
    if (out.length >= MAX_PAYLOAD_FIELDS) break;
    if (!first.has(k)) show(k, v);
  }
  return out;
}
