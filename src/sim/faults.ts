import { parseDuration } from '../config/duration.js';
import type { FeatureConfig } from '../config/types.js';
import { UsageError } from '../errors.js';

/**
 * The faults a real cutover meets, injectable at start (--fault) and at run time
 * (POST /_sim/faults). Each one is observable from a plain WS/HTTP client, which is how the
 * tests and the parity/verify commands find them.
 */
export type FaultKind =
  | 'drift' | 'slow' | 'drop' | 'missing' | 'error' | 'disconnect' | 'rest500' | 'stall' | 'badframes'
  | 'nohandler' | 'auth' | 'lossy' | 'restamp';

export interface FaultSpec {
  kind: FaultKind;
  feature?: string;
  /** drop: the key value (a symbol, a market id); missing: the field name; auth: close or refuse. */
  key?: string;
  /** drift: every Nth message; slow: factor; rest500/lossy: fraction; error/disconnect/badframes: rehearsal seconds. */
  value?: number;
}

/** One line per fault for --help; the spelling is the CLI's. */
export const FAULT_HELP: [string, string][] = [
  ['drift=<feature>:<N>', 'every Nth WS message of <feature> carries a changed number (REST stays right)'],
  ['slow=<feature>:<factor>', "the feature's WS interval multiplied by <factor> (REST keeps its pace)"],
  ['drop=<feature>:<key>', 'one key dropped from the WS stream, e.g. drop=intraday:NQ (REST still has it)'],
  ['missing=<feature>:<field>', "a required field removed from the feature's WS payloads"],
  ['error=<seconds>', 'an error_message on the WS every <seconds> (rehearsal time, divided by --speed)'],
  ['disconnect=<seconds>', 'the server closes every WS connection every <seconds>'],
  ['rest500=<feature>:<fraction>', "that fraction (0..1) of the feature's REST calls answer 500"],
  ['stall=<feature>', "the feature's REST endpoint never answers (past any client timeout)"],
  ['badframes=<seconds>', 'a non-JSON or truncated WS frame every <seconds>'],
  ['nohandler=<feature>', "the consumer has no handler for the feature's type: each socket is closed 1011 when it is broadcast (never delivered)"],
  ['auth=<close|refuse>', 'a socket without the right token (--token) is accepted then closed 4401 (close), or its handshake refused 403 (refuse)'],
  ['lossy=<feature>:<fraction>', "that fraction (0..1) of the feature's WS messages is dropped, as a full channel layer does (REST stays right)"],
  ['restamp=<feature>', "REST re-stamps the feature's items: their timestamp is the time of the read, not of the state"],
];

const KINDS = new Set<string>(FAULT_HELP.map(([s]) => s.slice(0, s.indexOf('='))));

function bad(spec: string, why: string): UsageError {
  return new UsageError(`bad fault "${spec}": ${why}`, `faults: ${FAULT_HELP.map(([s]) => s).join(', ')}`, 'E_FAULT');
}

/** Rehearsal seconds: "30", "30s", "1.5m", "500ms". */
function seconds(spec: string, text: string): number {
  const ms = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) * 1000 : parseDuration(text);
  if (ms === null || !(ms > 0)) throw bad(spec, `"${text}" is not a duration above zero (30, 30s, 1.5m)`);
  return ms / 1000;
}

export function parseFault(spec: string): FaultSpec {
  const eq = spec.indexOf('=');
  const kind = (eq < 0 ? spec : spec.slice(0, eq)).trim();
  const arg = eq < 0 ? '' : spec.slice(eq + 1).trim();
  if (!KINDS.has(kind)) throw bad(spec, `unknown kind "${kind}"`);
  const featureArg = (): [string, string] => {
    const i = arg.indexOf(':');
    const feature = (i < 0 ? arg : arg.slice(0, i)).trim();
    if (!feature) throw bad(spec, 'names no feature');
    return [feature, i < 0 ? '' : arg.slice(i + 1).trim()];
  };
  switch (kind as FaultKind) {
    case 'drift': {
      const [feature, n] = featureArg();
      const value = Number(n);
      if (!Number.isInteger(value) || value < 1) throw bad(spec, 'N must be a whole number >= 1 (drift=positions:5)');
      return { kind: 'drift', feature, value };
    }
    case 'slow': {
      const [feature, f] = featureArg();
      const value = Number(f);
      if (!Number.isFinite(value) || value <= 0) throw bad(spec, 'factor must be a number above zero (slow=account_balance:2)');
      return { kind: 'slow', feature, value };
    }
    case 'drop':
    case 'missing': {
      const [feature, key] = featureArg();
      if (!key) throw bad(spec, kind === 'drop' ? 'names no key (drop=intraday:NQ)' : 'names no field (missing=positions:timestamp)');
      return { kind: kind as FaultKind, feature, key };
    }
    case 'rest500':
    case 'lossy': {
      const [feature, f] = featureArg();
      const value = Number(f);
      if (!Number.isFinite(value) || value < 0 || value > 1 || f === '') throw bad(spec, `fraction must be between 0 and 1 (${kind}=positions:0.2)`);
      return { kind: kind as FaultKind, feature, value };
    }
    case 'stall':
    case 'nohandler':
    case 'restamp': {
      const [feature, rest] = featureArg();
      if (rest) throw bad(spec, `takes only a feature (${kind}=positions)`);
      return { kind: kind as FaultKind, feature };
    }
    case 'auth':
      if (arg !== 'close' && arg !== 'refuse') throw bad(spec, 'takes close or refuse (auth=close)');
      return { kind: 'auth', key: arg };
    case 'error':
    case 'disconnect':
    case 'badframes':
      if (!arg) throw bad(spec, `needs a period (${kind}=30s)`);
      return { kind: kind as FaultKind, value: seconds(spec, arg) };
  }
}

/** The CLI spelling back, for logs and `GET /_sim/faults` readers. */
export function formatFault(f: FaultSpec): string {
  switch (f.kind) {
    case 'drop':
    case 'missing': return `${f.kind}=${f.feature}:${f.key}`;
    case 'stall':
    case 'nohandler':
    case 'restamp': return `${f.kind}=${f.feature}`;
    case 'auth': return `auth=${f.key}`;
    case 'error':
    case 'disconnect':
    case 'badframes': return `${f.kind}=${f.value}s`;
    default: return `${f.kind}=${f.feature}:${f.value}`;
  }
}

/** A fault given as a spec string or as a FaultSpec object (the HTTP control route accepts both). */
export function toFault(input: unknown): FaultSpec {
  if (typeof input === 'string') return parseFault(input);
  if (input && typeof input === 'object' && typeof (input as FaultSpec).kind === 'string') {
    // Round-trip through the parser: one set of validation rules.
    return parseFault(formatFault(input as FaultSpec));
  }
  throw bad(JSON.stringify(input), 'expected a string such as "drift=positions:5"');
}

/** Faults that name a feature must name one the simulator serves. */
export function checkFaults(faults: FaultSpec[], features: readonly FeatureConfig[]): void {
  const names = features.map((f) => f.name);
  for (const f of faults) {
    if (f.feature !== undefined && !names.includes(f.feature)) {
      throw bad(formatFault(f), `unknown feature "${f.feature}" (features: ${names.join(', ')})`);
    }
  }
}

/**
 * The active faults, indexed the way the hot path asks: per feature, once per message.
 * Rebuilt whenever the set changes, never consulted by scanning the list per message.
 */
export class FaultSet {
  readonly list: FaultSpec[];
  private readonly drift = new Map<string, number>();
  private readonly drops = new Map<string, Set<string>>();
  private readonly missing = new Map<string, string[]>();
  private readonly slowBy = new Map<string, number>();
  private readonly rest500 = new Map<string, number>();
  private readonly stalls = new Set<string>();
  private readonly noHandlers = new Set<string>();
  private readonly lossBy = new Map<string, number>();
  private readonly restamps = new Set<string>();
  /** Sockets without the right token: closed 4401 after the handshake, or refused 403. */
  readonly auth: 'close' | 'refuse' | null;
  /** WS messages sent per feature, for "every Nth". */
  private readonly counts = new Map<string, number>();

  constructor(list: FaultSpec[]) {
    this.list = list;
    for (const f of list) {
      const feature = f.feature ?? '';
      if (f.kind === 'drift') this.drift.set(feature, f.value!);
      else if (f.kind === 'drop') this.drops.set(feature, (this.drops.get(feature) ?? new Set()).add(f.key!));
      else if (f.kind === 'missing') this.missing.set(feature, [...(this.missing.get(feature) ?? []), f.key!]);
      else if (f.kind === 'slow') this.slowBy.set(feature, f.value!);
      else if (f.kind === 'rest500') this.rest500.set(feature, f.value!);
      else if (f.kind === 'stall') this.stalls.add(feature);
      else if (f.kind === 'nohandler') this.noHandlers.add(feature);
      else if (f.kind === 'lossy') this.lossBy.set(feature, f.value!);
      else if (f.kind === 'restamp') this.restamps.add(feature);
    }
    this.auth = (list.find((f) => f.kind === 'auth')?.key as 'close' | 'refuse' | undefined) ?? null;
  }

  /** The consumer has no handler for this feature's type: broadcasting it closes the socket. */
  noHandler(feature: string): boolean {
    return this.noHandlers.has(feature);
  }

  /** The share of this feature's WS messages the channel layer drops. */
  lossFraction(feature: string): number {
    return this.lossBy.get(feature) ?? 0;
  }

  restamped(feature: string): boolean {
    return this.restamps.has(feature);
  }

  /** True when a WS payload of this feature may be changed, so the caller can skip the work. */
  touchesWs(feature: string): boolean {
    return this.drift.has(feature) || this.drops.has(feature) || this.missing.has(feature);
  }

  slowFactor(feature: string): number | undefined {
    return this.slowBy.get(feature);
  }

  rest500Fraction(feature: string): number {
    return this.rest500.get(feature) ?? 0;
  }

  stalled(feature: string): boolean {
    return this.stalls.has(feature);
  }

  periodic(kind: 'error' | 'disconnect' | 'badframes'): number | undefined {
    return this.list.find((f) => f.kind === kind)?.value;
  }

  /**
   * The payload this feature's WS message carries under the active faults: the same object
   * when nothing applies, a changed copy otherwise, or null when the key is dropped. The
   * state itself (what REST serves) is never touched.
   */
  applyWs(feature: FeatureConfig, payload: object): object | null {
    const drops = this.drops.get(feature.name);
    const rec = payload as Record<string, unknown>;
    if (drops) {
      for (const k of new Set([...feature.streamKey, ...feature.key])) {
        if (rec[k] !== undefined && drops.has(String(rec[k]))) return null;
      }
    }
    let out: Record<string, unknown> | null = null;
    const every = this.drift.get(feature.name);
    if (every !== undefined) {
      const n = (this.counts.get(feature.name) ?? 0) + 1;
      this.counts.set(feature.name, n);
      if (n % every === 0) {
        out = structuredClone(rec);
        driftOne(feature, out);
      }
    }
    const missing = this.missing.get(feature.name);
    if (missing) {
      out ??= { ...rec };
      for (const field of missing) delete out[field];
    }
    return out ?? payload;
  }
}

/**
 * Change one number a comparison will see: the first numeric field that is not part of the
 * key, the version or the ignored fields; else the first such number inside the first list
 * of objects (positions[0].current_price).
 */
function driftOne(feature: FeatureConfig, payload: Record<string, unknown>): void {
  const skip = new Set([...feature.key, ...feature.streamKey, ...feature.ignoreFields, feature.versionField ?? '']);
  const bump = (o: Record<string, unknown>): boolean => {
    for (const [k, v] of Object.entries(o)) {
      if (!skip.has(k) && typeof v === 'number') {
        o[k] = Math.round((v + 1) * 100) / 100;
        return true;
      }
    }
    return false;
  };
  if (bump(payload)) return;
  for (const v of Object.values(payload)) {
    if (Array.isArray(v) && v.length && typeof v[0] === 'object' && v[0] !== null && bump(v[0] as Record<string, unknown>)) return;
  }
}
