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

/** Streaming quantiles of millisecond values, bounded memory. */
export class Quantiles {
  private readonly h: hdr.Histogram;
  private n = 0;

  constructor(compact = false) {
    // Two significant digits are 1% resolution, plenty for "p95 against the interval";
    // packed buckets keep the per-key histograms small.
    this.h = hdr.build({
      bitBucketSize: compact ? 'packed' : 32,
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000,
      numberOfSignificantValueDigits: 2,
      autoResize: true,
    });
  }

  record(ms: number): void {
    this.n += 1;
    this.h.recordValue(Math.max(0, Math.round(ms)));
  }

  get count(): number {
    return this.n;
  }

  summary(): QuantileSummary {
    if (this.n === 0) return { count: 0, p50: null, p95: null, p99: null, max: null, mean: null };
    return {
      count: this.n,
      p50: this.h.getValueAtPercentile(50),
      p95: this.h.getValueAtPercentile(95),
      p99: this.h.getValueAtPercentile(99),
      max: this.h.maxValue,
      mean: Math.round(this.h.mean * 10) / 10,
    };
  }
}

export interface IntervalSummary extends QuantileSummary {
  expectedMs: number;
  late: number;
  /** Gaps over 2x. */
  missedGaps: number;
  /** Beats lost in those gaps. */
  missedBeats: number;
  bursts: number;
}

/** Counts and quantiles of inter-arrival times for one stream (or one feature, all streams). */
export class IntervalStats {
  readonly q: Quantiles;
  late = 0;
  missedGaps = 0;
  missedBeats = 0;
  bursts = 0;

  constructor(readonly expectedMs: number, compact = false) {
    this.q = new Quantiles(compact);
  }

  add(ms: number, kind: IntervalKind, beatsLost: number): void {
    this.q.record(ms);
    if (kind === 'late') this.late += 1;
    else if (kind === 'missed') { this.missedGaps += 1; this.missedBeats += beatsLost; }
    else if (kind === 'burst') this.bursts += 1;
  }

  summary(): IntervalSummary {
    return { ...this.q.summary(), expectedMs: this.expectedMs, late: this.late, missedGaps: this.missedGaps, missedBeats: this.missedBeats, bursts: this.bursts };
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
