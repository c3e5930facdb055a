import * as hdr from 'hdr-histogram-js';

/**
 * Inter-arrival analysis against an expected interval. Quantiles come from an HDR
 * histogram: fixed memory whatever the message count (the 10M-message bench relies on it).
 */

export type IntervalKind = 'ok' | 'late' | 'missed' | 'burst';

export interface IntervalLimits {
  expectedMs: number;
  /** > late limit: late (1.5x). */
  lateMs: number;
  /** > missed limit: beats were lost (2x). */
  missedMs: number;
  /** < burst limit: a burst (0.5x). */
  burstMs: number;
}

/**
 * The 1.5x / 2x / 0.5x boundaries, each widened by `slackMs`: at --speed 20 a 1 s beat is
 * 50 ms, where the event loop's own jitter on two busy cores would otherwise read as
 * lateness. At real speed the slack is noise against the interval.
 */
export function intervalLimits(expectedMs: number, slackMs = 0): IntervalLimits {
  return {
    expectedMs,
    lateMs: expectedMs * 1.5 + slackMs,
    missedMs: expectedMs * 2 + slackMs,
    burstMs: Math.max(0, expectedMs * 0.5 - slackMs),
  };
}

/** How one inter-arrival time reads, and how many beats it lost (0 unless missed). */
export function classifyInterval(ms: number, l: IntervalLimits): { kind: IntervalKind; beatsLost: number } {
  if (ms > l.missedMs) return { kind: 'missed', beatsLost: Math.max(1, Math.round(ms / l.expectedMs) - 1) };
  if (ms > l.lateMs) return { kind: 'late', beatsLost: 0 };
  if (ms < l.burstMs) return { kind: 'burst', beatsLost: 0 };
  return { kind: 'ok', beatsLost: 0 };
}

export interface QuantileSummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/**
 * Bucket layouts. fine: values below 128 counted exactly, above in 64 sub-buckets per power
 * of two (<= 1.6% wide, an HDR histogram with two significant digits, ~4.5 KB). coarse: 8
 * per power of two (<= 12.5% wide, ~0.7 KB), for the per-key histograms, of which there are
 * hundreds and each message touches one. 2^22 ms is about 70 minutes: longer values land
 * in the top bucket (max stays exact).
 */
export type Resolution = 'fine' | 'coarse';
const SUB_BITS: Record<Resolution, number> = { fine: 6, coarse: 3 };

function bucketCount(resolution: Resolution): number {
  const bits = SUB_BITS[resolution];
  return 2 * (1 << bits) + (22 - bits) * (1 << bits);
}

/**
 * Bucket arrays for many small histograms, handed out as views of shared blocks: a new
 * ArrayBuffer per key cost more to create (and for the GC to track) than the key's whole
 * first minute of messages.
 */
export class BucketArena {
  private block: Uint32Array | null = null;
  private used = 0;
  private readonly size: number;

  constructor(readonly resolution: Resolution, private readonly perBlock = 64) {
    this.size = bucketCount(resolution);
  }

  take(): Uint32Array {
    if (this.block === null || this.used === this.perBlock) {
      this.block = new Uint32Array(this.size * this.perBlock);
      this.used = 0;
    }
    const from = this.used++ * this.size;
    return this.block.subarray(from, from + this.size);
  }
}

/**
 * Streaming quantiles of millisecond values in bounded memory, whatever the count. The hot
 * path only bumps a log-linear bucket; hdr-histogram-js computes the percentiles from the
 * buckets when a summary is asked for. Recording straight into hdr-histogram-js cost
 * about a tenth of the engine's throughput, one record per message per key.
 */
export class Quantiles {
  private readonly bits: number;
  private readonly sub: number;
  private readonly exact: number;
  private readonly top: number;
  private readonly counts: Uint32Array;
  readonly resolution: Resolution;
  private n = 0;
  private sum = 0;
  private maxValue = 0;

  /** A resolution (its own bucket array) or an arena (buckets in a shared block, the arena's resolution). */
  constructor(from: Resolution | BucketArena = 'fine') {
    const resolution = typeof from === 'string' ? from : from.resolution;
    this.resolution = resolution;
    this.bits = SUB_BITS[resolution];
    this.sub = 1 << this.bits;
    this.exact = 2 * this.sub;
    this.top = 22 - this.bits;
    this.counts = typeof from === 'string' ? new Uint32Array(bucketCount(resolution)) : from.take();
  }

  private bucketOf(v: number): number {
    if (v < this.exact) return v;
    const e = 31 - Math.clz32(v) - this.bits;
    if (e > this.top) return this.counts.length - 1;
    return this.exact + (e - 1) * this.sub + ((v >>> e) - this.sub);
  }

  /** The middle of a bucket: the value it stands for. */
  private bucketValue(i: number): number {
    if (i < this.exact) return i;
    const e = Math.floor((i - this.exact) / this.sub) + 1;
    const low = (((i - this.exact) % this.sub) + this.sub) << e;
    return low + ((1 << e) >>> 1);
  }

  record(ms: number): void {
    const v = ms <= 0 ? 0 : Math.round(ms);
    this.counts[this.bucketOf(v)]! += 1;
    this.n += 1;
    this.sum += v;
    if (v > this.maxValue) this.maxValue = v;
  }

  get count(): number {
    return this.n;
  }

  /**
   * Cumulative counts at each bound: a bucket counts under the first bound its start is at
   * or below, so a bound is exact to the bucket width (1.6% fine, 12.5% coarse).
   */
  histogram(boundsMs: readonly number[]): Histogram {
    const cumulative: number[] = [];
    let i = 0;
    let acc = 0;
    for (const b of boundsMs) {
      const last = this.bucketOf(Math.floor(b));
      for (; i <= last && i < this.counts.length; i++) acc += this.counts[i]!;
      cumulative.push(acc);
    }
    cumulative.push(this.n);
    return { boundsMs, cumulative, sumMs: this.sum };
  }

  summary(): QuantileSummary {
    if (this.n === 0) return { count: 0, p50: null, p95: null, p99: null, max: null, mean: null };
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 2 ** 23, numberOfSignificantValueDigits: 2, autoResize: true });
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]) h.recordValueWithCount(this.bucketValue(i), this.counts[i]!);
    // A percentile never reads above the true maximum (the top bucket's middle can).
    const at = (p: number) => Math.min(this.maxValue, h.getValueAtPercentile(p));
    return { count: this.n, p50: at(50), p95: at(95), p99: at(99), max: this.maxValue, mean: Math.round((this.sum / this.n) * 10) / 10 };
  }
}

/**
 * Upper bounds (ms) of the inter-arrival histogram handed to Prometheus: from a 20x
 * rehearsal's 25 ms beats to a 10 s production interval and its missed beats.
 */
export const HISTOGRAM_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000] as const;

/** Cumulative counts at HISTOGRAM_BOUNDS_MS (the last element: every value), and the exact sum. */
export interface Histogram {
  boundsMs: readonly number[];
  cumulative: number[];
  sumMs: number;
}

export interface IntervalSummary extends QuantileSummary {
  /** Fine-resolution stats only (a feature's, not each key's): for Prometheus. */
  histogram?: Histogram;
  expectedMs: number;
  late: number;
  /** Gaps over 2x. */
  missedGaps: number;
  /** Beats lost in those gaps. */
  missedBeats: number;
  /**
   * Beats lost in gaps of one or two beats: messages dropped (a full channel layer drops
   * single messages, now and then two in a row), as opposed to a stream that stalled for
   * three beats or more. Included in missedBeats.
   */
  dropped: number;
  /** Gaps that lost more than MAX_DROP_RUN beats (stalls). */
  missedGapsOver: number;
  bursts: number;
}

/**
 * The longest gap (in beats) still read as dropped messages: at a loss rate of 1%, three
 * in a row happen once in a million messages, so a longer gap is a stall.
 */
export const MAX_DROP_RUN = 2;

/** Counts and quantiles of inter-arrival times for one stream (or one feature, all streams). */
export class IntervalStats {
  readonly q: Quantiles;
  late = 0;
  missedGaps = 0;
  missedBeats = 0;
  dropped = 0;
  missedGapsOver = 0;
  bursts = 0;

  constructor(readonly expectedMs: number, from: Resolution | BucketArena = 'fine') {
    this.q = new Quantiles(from);
  }

  add(ms: number, kind: IntervalKind, beatsLost: number): void {
    this.q.record(ms);
    if (kind === 'late') this.late += 1;
    else if (kind === 'missed') { this.missedGaps += 1; this.missedBeats += beatsLost; if (beatsLost <= MAX_DROP_RUN) this.dropped += beatsLost; else this.missedGapsOver += 1; }
    else if (kind === 'burst') this.bursts += 1;
  }

  summary(): IntervalSummary {
    const histogram = this.q.resolution === 'fine' ? this.q.histogram(HISTOGRAM_BOUNDS_MS) : undefined;
    return {
      ...this.q.summary(), ...(histogram ? { histogram } : {}), expectedMs: this.expectedMs, late: this.late, missedGaps: this.missedGaps,
      missedBeats: this.missedBeats, dropped: this.dropped, missedGapsOver: this.missedGapsOver, bursts: this.bursts,
    };
  }
}

/**
 * Stalls of this process's own event loop (GC, a starved CPU). A message that waited in
 * the socket buffer while we were stalled did not arrive late: the stall is ours, so the
 * engine takes it out of the inter-arrival time and reports the total separately.
 */
export class LoopStalls {
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  private readonly stalls: { from: number; to: number }[] = [];
  count = 0;
  totalMs = 0;
  maxMs = 0;

  constructor(private readonly tickMs = 20, private readonly thresholdMs = 20, private readonly keep = 512) {}

  start(): void {
    this.lastTick = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      const late = now - this.lastTick - this.tickMs;
      if (late > this.thresholdMs) this.add(this.lastTick + this.tickMs, now);
      this.lastTick = now;
    }, this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private add(from: number, to: number): void {
    const ms = to - from;
    this.count += 1;
    this.totalMs += ms;
    this.maxMs = Math.max(this.maxMs, ms);
    this.stalls.push({ from, to });
    if (this.stalls.length > this.keep) this.stalls.shift();
  }

  /**
   * How much of [from, to] this process spent stalled, including a stall that is ending
   * right now: I/O callbacks run before the timer that would have noticed it.
   */
  overlap(from: number, to: number): number {
    // The common case: no stall recorded since `from` and none under way.
    if (to - this.lastTick <= this.tickMs + this.thresholdMs && (this.stalls.length === 0 || this.stalls[this.stalls.length - 1]!.to <= from)) return 0;
    let ms = 0;
    if (this.timer) {
      const openFrom = this.lastTick + this.tickMs;
      if (to - openFrom > this.thresholdMs) ms += Math.max(0, to - Math.max(from, openFrom));
    }
    for (let i = this.stalls.length - 1; i >= 0; i--) {
      const s = this.stalls[i]!;
      if (s.to <= from) break;
      ms += Math.max(0, Math.min(to, s.to) - Math.max(from, s.from));
    }
    return ms;
  }
}
