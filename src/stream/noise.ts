/**
 * The A/A baseline: two REST reads of the same endpoint in quick succession. A field that
 * differs between them (a per-response timestamp, a request id) is volatile: a WS-vs-REST
 * difference on it is noise, unless WS differs on it clearly more often than REST differs
 * from itself. The report lists every volatile field, so nothing is hidden silently.
 */

/** positions[3].pnl -> positions[].pnl: volatility is a property of the field, not the row. */
export function fieldPattern(path: string): string {
  return path.replace(/\[\d+\]/g, '[]');
}

export interface VolatileField {
  field: string;
  /** Share of A/A pairs where REST differed from itself on this field. */
  restRate: number;
  /** Share of WS-vs-REST comparisons that differed on it. */
  wsRate: number;
  /** true: WS differs clearly more often than REST-vs-REST, so those differences count as mismatches. */
  counted: boolean;
}

/** WS must differ more than this many times as often as REST does to itself before it counts. */
const NOISE_FACTOR = 2;
/**
 * A field is noise only when most A/A pairs differ on it (a per-response stamp, a request
 * id). A field that differs now and then moved because the state moved between the two
 * reads: a WS difference on it is a state WS carried or skipped, not noise.
 */
const VOLATILE_MIN_RATE = 0.5;

export class NoiseTracker {
  private pairs = 0;
  /** Fields already reported volatile (reported once). */
  private readonly announced = new Set<string>();
  private readonly restDiffs = new Map<string, number>();
  private wsCompared = 0;
  private readonly wsDiffs = new Map<string, number>();

  /** One A/A pair compared item by item; returns fields seen volatile for the first time. */
  addPair(diffPaths: Iterable<string>): string[] {
    this.pairs += 1;
    const fresh: string[] = [];
    const seen = new Set<string>();
    for (const p of diffPaths) {
      const f = fieldPattern(p);
      if (seen.has(f)) continue;
      seen.add(f);
      const was = this.volatile(f);
      this.restDiffs.set(f, (this.restDiffs.get(f) ?? 0) + 1);
      if (!was && this.volatile(f) && !this.announced.has(f)) { this.announced.add(f); fresh.push(f); }
    }
    return fresh;
  }

  /** Most A/A pairs differ on it: a per-response value, not the state moving between two reads. */
  private volatile(f: string): boolean {
    const n = this.restDiffs.get(f) ?? 0;
    return this.pairs > 0 && n / this.pairs >= VOLATILE_MIN_RATE;
  }

  /** One decided WS-vs-REST comparison and the fields it differed on. */
  recordComparison(diffPaths: Iterable<string>): void {
    this.wsCompared += 1;
    const seen = new Set<string>();
    for (const p of diffPaths) {
      const f = fieldPattern(p);
      if (seen.has(f) || !this.restDiffs.has(f)) continue;
      seen.add(f);
      this.wsDiffs.set(f, (this.wsDiffs.get(f) ?? 0) + 1);
    }
  }

  isVolatile(path: string): boolean {
    return this.volatile(fieldPattern(path));
  }

  /** A difference on this field is noise (not a mismatch) at the rates seen so far. */
  isNoise(path: string): boolean {
    const f = fieldPattern(path);
    const rest = this.restDiffs.get(f);
    if (rest === undefined || this.pairs === 0) return false;
    const restRate = rest / this.pairs;
    if (restRate < VOLATILE_MIN_RATE) return false;
    const wsRate = this.wsCompared === 0 ? 0 : (this.wsDiffs.get(f) ?? 0) / this.wsCompared;
    return wsRate <= restRate * NOISE_FACTOR;
  }

  get pairCount(): number {
    return this.pairs;
  }

  volatileFields(): VolatileField[] {
    return [...this.restDiffs.entries()].filter(([field]) => this.volatile(field)).map(([field, n]) => {
      const restRate = n / Math.max(1, this.pairs);
      const wsRate = this.wsCompared === 0 ? 0 : (this.wsDiffs.get(field) ?? 0) / this.wsCompared;
      return { field, restRate: round3(restRate), wsRate: round3(wsRate), counted: wsRate > restRate * NOISE_FACTOR };
    }).sort((a, b) => a.field.localeCompare(b.field));
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
