import { EventEmitter } from 'node:events';
import type { Config, FeatureConfig } from '../config/types.js';
import { requiredCheck, jsonType } from './schema.js';
import { Scope, type FeatureCounters, type FeatureRuntime, type KeyState } from './scope.js';
import { FeatureMatcher, ignoredBy } from './match.js';
import { NoiseTracker } from './noise.js';
import { RestClient, RestPoller } from './rest-poller.js';
import { followEngine, type RunSeries } from './series.js';
import { FixedSessions, MarketSessions, type SessionChange, type SessionInfo } from './sessions.js';
import { BucketArena, intervalLimits, IntervalStats, LoopStalls, type IntervalKind } from './stats.js';
import type { DriftKind, StreamEvent, StreamEventType, TypeStats } from './types.js';
import { WsClient } from './ws-client.js';
import { WsTally } from './ws-intake.js';

export interface EngineOptions {
  config: Config;
  /** The features to watch (default: every configured feature). */
  features?: FeatureConfig[];
  /** Divides every expected interval, window and session length (rehearsals). */
  speed?: number;
  /** market: PROTOCOL.md section 5 sessions; fixed: back-to-back windows of lengthMs (rehearsal time). */
  sessions?: { mode: 'market' } | { mode: 'fixed'; lengthMs: number } | { mode: 'none' };
  /** Grace window each side of a REST poll, rehearsal ms; default one interval of the feature. */
  graceMs?: number;
  /** Timeout of one REST call (real ms, not divided by speed); default config.backend.timeoutMs. */
  restTimeoutMs?: number;
  /** false: no REST polling (doctor's WS probe, benchmarks). */
  rest?: boolean;
  /** false: no WS connection. */
  ws?: boolean;
  reconnect?: boolean;
  /** Real ms; default 5 s / speed, at least 250 ms. */
  pingIntervalMs?: number;
  /** Every Nth REST poll of a feature is doubled for the A/A noise baseline (0 = never). */
  aaEvery?: number;
  /** Absolute allowance on every interval boundary, real ms: timer jitter at high speed. */
  slackMs?: number;
  /** Mismatch records kept per feature and scope. */
  keepMismatches?: number;
  /** Overrides every feature's thresholds.maxMismatchRate (parity --max-mismatch-rate). */
  maxMismatchRate?: number;
  /** Keep a bounded time series of the run for the HTML report (`engine.series`). */
  series?: boolean;
}

export type Listener<K extends StreamEventType> = (e: Extract<StreamEvent, { type: K }>) => void;

/** Server closes kept per scope for the close diagnosis (closes.ts). */
export const MAX_CLOSES = 50;
/** Stream keys tracked per feature (each costs a histogram of ~8 KB). */
export const MAX_KEYS = 5_000;

/**
 * The engine's state and its bookkeeping: the feature runtimes, the scopes (overall and per
 * session), events, schema drift and interval counting. The intake (engine-intake.ts) and
 * the life cycle (engine.ts) build on it.
 */
export abstract class EngineState extends EventEmitter {
  readonly config: Config;
  readonly features: FeatureConfig[];
  readonly speed: number;
  protected readonly opts: EngineOptions;
  protected readonly runtimes: FeatureRuntime[];
  protected readonly byType = new Map<string, FeatureRuntime>();
  /**
   * What arrived on the socket: each type (with the feature that claims it), the heartbeat and
   * error_message (ws-intake.ts). The closes are kept per scope (scope.ts), so the tally keeps none.
   */
  protected readonly tally = new WsTally<TypeStats>(
    (type, at) => ({ type, count: 0, firstAt: at, lastAt: at, feature: this.byType.get(type)?.cfg.name ?? null }), 0);
  protected readonly unknownTypes = new Set<string>();
  protected readonly configuredTypes: Set<string>;
  /** The last message's type and the feature runtime it picked: streams come in runs of one type. */
  protected last: { type: string | null; rt: FeatureRuntime | undefined } = { type: null, rt: undefined };
  /** Someone listens to interval events (kept current instead of asking per message). */
  protected wantsIntervalEvents = false;
  protected ws: WsClient | null = null;
  protected rest: RestClient | null = null;
  protected poller: RestPoller | null = null;
  protected overall!: Scope;
  protected readonly sessionScopes: Scope[] = [];
  protected current: Scope | null = null;
  protected readonly market: MarketSessions | null;
  protected readonly fixed: FixedSessions | null;
  protected readonly statusType: string;
  protected tickTimer: NodeJS.Timeout | null = null;
  protected startedAt = 0;
  protected running = false;
  protected readonly gaps: { from: number; to: number }[] = [];
  protected downSince: number | null = null;
  protected readonly stalls = new LoopStalls();
  protected lastReconnect: { gapMs: number; missed: number } | null = null;
  /** The run over time, when `series` was asked for. */
  readonly series: RunSeries | null;
  protected contact: Promise<{ ws: boolean; rest: boolean; wsError: string | null; restError: string | null }> | null = null;

  constructor(opts: EngineOptions) {
    super();
    const track = () => queueMicrotask(() => { this.wantsIntervalEvents = this.listenerCount('interval') + this.listenerCount('event') > 0; });
    this.on('newListener', (name: string) => { if (name === 'interval' || name === 'event') this.wantsIntervalEvents = true; });
    this.on('removeListener', track);
    this.opts = opts;
    this.config = opts.config;
    this.features = opts.features ?? opts.config.features;
    this.speed = opts.speed && opts.speed > 0 ? opts.speed : 1;
    const slack = opts.slackMs ?? 25;
    const restTimeout = opts.restTimeoutMs ?? this.config.backend.timeoutMs;
    this.runtimes = this.features.map((cfg, idx) => {
      const expectedMs = Math.max(1, cfg.intervalMs / this.speed);
      const graceMs = (opts.graceMs ?? cfg.intervalMs) / this.speed;
      const stalenessMs = cfg.thresholds.maxStalenessMs / this.speed;
      const noise = new NoiseTracker();
      const restToWs = new Map(Object.entries(cfg.fieldMap).map(([w, r]) => [r, w]));
      const rt: FeatureRuntime = {
        idx, cfg, expectedMs, graceMs, stalenessMs,
        limits: intervalLimits(expectedMs, slack),
        noise,
        matcher: new FeatureMatcher(cfg, {
          graceMs,
          // Long enough for the slowest REST answer, the window on both sides and the wait
          // for WS to move on past a skipped state (match.ts).
          retentionMs: restTimeout + 4 * graceMs + 1_000,
          maxStalenessMs: stalenessMs,
          noise,
          streamLastAt: (stream) => this.runtimes[idx]?.keys.get(stream)?.lastAt ?? null,
        }),
        wsStreamFields: cfg.streamKey.map((k) => restToWs.get(k) ?? k),
        streamIsKeyPrefix: cfg.streamKey.length > 0 && cfg.streamKey.length <= cfg.key.length && cfg.streamKey.every((f, i) => cfg.key[i] === f),
        wsRequired: cfg.requiredFields.map((k) => restToWs.get(k) ?? k),
        keys: new Map(),
        keyBuckets: new BucketArena('coarse'),
        restKeys: new Map(),
        reportedMissing: new Set(),
        fieldTypes: Object.create(null) as Record<string, string>,
        requiredTypes: [],
        requiredTypeofs: [],
        requiredSame: requiredCheck(cfg.requiredFields.map((k) => restToWs.get(k) ?? k)),
        sampled: 0,
        driftSeen: new Set(),
        ignored: ignoredBy(cfg.ignoreFields),
      };
      for (const t of cfg.wsTypes) this.byType.set(t, rt);
      return rt;
    });
    this.configuredTypes = new Set(this.config.features.flatMap((f) => f.wsTypes));
    const globalMarket = this.config.features.find((f) => f.name === 'global_market');
    this.statusType = globalMarket?.wsTypes[0] ?? 'market_status';
    const mode = opts.sessions ?? { mode: 'market' };
    this.market = mode.mode === 'market' ? new MarketSessions(this.config.market.country) : null;
    this.fixed = mode.mode === 'fixed' ? new FixedSessions(mode.lengthMs / this.speed) : null;
    this.series = opts.series ? followEngine(this, this.runtimes.map((r) => ({ name: r.cfg.name, expectedMs: r.expectedMs, periodic: r.cfg.cadence === 'periodic' }))) : null;
  }

  /** Typed listener for one kind of event; `onAny` for all of them. */
  onEvent<K extends StreamEventType>(type: K, fn: Listener<K>): this {
    return this.on(type, fn as (e: StreamEvent) => void);
  }

  onAny(fn: (e: StreamEvent) => void): this {
    return this.on('event', fn);
  }

  protected fire(e: StreamEvent): void {
    this.emit(e.type, e);
    this.emit('event', e);
  }

  protected eachScope(fn: (s: Scope) => void): void {
    fn(this.overall);
    if (this.current) fn(this.current);
  }

  /**
   * Required fields: present and of one type, on every message. Other fields: their type
   * on every 16th message per feature (they are schema drift too, but the for-in over
   * the whole payload was a tenth of the engine's cost at full rate).
   */
  protected checkWsFields(rt: FeatureRuntime, d: Record<string, unknown>, at: number): void {
    // The usual message: every required field there with the type it had before. Anything
    // else (first message, a missing field, a new type, an object/array/null field) takes
    // the full check below.
    if (!rt.requiredSame(d, rt.requiredTypeofs)) this.checkRequired(rt, d, at);
    if ((rt.sampled++ & 15) !== 0) return;
    this.checkFieldTypes(rt, d, at);
  }

  protected checkRequired(rt: FeatureRuntime, d: Record<string, unknown>, at: number): void {
    const req = rt.wsRequired;
    for (let i = 0; i < req.length; i++) {
      const f = req[i]!;
      const v = d[f];
      if (v === undefined) { this.drift(rt, 'ws', 'missing-required', f, rt.matcher.wsKey(d), 'required field missing', at); continue; }
      const t = jsonType(v);
      const seen = rt.requiredTypes[i];
      if (seen === t) continue;
      if (seen === undefined || seen === 'null') rt.requiredTypes[i] = t;
      else if (t !== 'null') {
        this.drift(rt, 'ws', 'type-change', f, rt.matcher.wsKey(d), `${seen} -> ${t}`, at);
        rt.requiredTypes[i] = t;
      }
    }
    for (let i = 0; i < req.length; i++) {
      const seen = rt.requiredTypes[i];
      rt.requiredTypeofs[i] = seen === undefined || seen === 'null' || seen === 'array' || seen === 'object' ? '-' : seen;
    }
  }

  protected checkFieldTypes(rt: FeatureRuntime, d: Record<string, unknown>, at: number): void {
    const types = rt.fieldTypes;
    for (const k in d) {
      const t = jsonType(d[k]);
      const seen = types[k];
      if (seen === t) continue;
      if (seen === undefined || seen === 'null') types[k] = t;
      else if (t !== 'null' && !rt.wsRequired.includes(k)) {
        this.drift(rt, 'ws', 'type-change', k, rt.matcher.wsKey(d), `${seen} -> ${t}`, at);
        types[k] = t;
      }
    }
  }

  protected keyState(rt: FeatureRuntime, key: string): KeyState | undefined {
    let ks = rt.keys.get(key);
    if (!ks) {
      if (rt.keys.size >= MAX_KEYS) return undefined;
      ks = { key, last: null, stats: new IntervalStats(rt.expectedMs, rt.keyBuckets), lastAt: null, scope: null };
      rt.keys.set(key, ks);
    }
    return ks;
  }

  protected recordArrival(rt: FeatureRuntime, ks: KeyState, at: number, o: FeatureCounters, c: FeatureCounters | null): void {
    const key = ks.key;
    if (c && ks.scope !== c) { ks.scope = c; c.keys += 1; }
    ks.lastAt = at;
    const last = ks.last;
    ks.last = at;
    if (last === null || rt.cfg.cadence !== 'periodic') return;
    const ms = Math.max(0, at - last - this.stalls.overlap(last, at));
    // classifyInterval, inlined: this runs for every message.
    const l = rt.limits;
    let kind: IntervalKind = 'ok';
    let beatsLost = 0;
    if (ms > l.missedMs) { kind = 'missed'; beatsLost = Math.max(1, Math.round(ms / l.expectedMs) - 1); }
    else if (ms > l.lateMs) kind = 'late';
    else if (ms < l.burstMs) kind = 'burst';
    // The key's own histogram is coarse (there are hundreds); the feature's are fine.
    ks.stats.add(ms, kind, beatsLost);
    o.interval?.add(ms, kind, beatsLost);
    c?.interval?.add(ms, kind, beatsLost);
    this.series?.interval(rt.idx, at, ms, kind);
    if (kind !== 'ok' && this.wantsIntervalEvents) {
      const limitMs = kind === 'late' ? l.lateMs : kind === 'missed' ? l.missedMs : l.burstMs;
      this.fire({ type: 'interval', at, feature: rt.cfg.name, key, kind, measuredMs: ms, expectedMs: rt.expectedMs, limitMs: Math.round(limitMs), beatsLost });
    }
  }

  protected drift(rt: FeatureRuntime, side: 'ws' | 'rest', kind: DriftKind, field: string, key: string | null, detail: string, at: number): void {
    const id = `${side}\u0000${kind}\u0000${field}`;
    this.eachScope((s) => {
      const fc = s.f[rt.idx]!;
      const dc = fc.drift.get(id);
      if (dc) dc.count += 1;
      else fc.drift.set(id, { side, kind, field, count: 1, detail, firstKey: key });
    });
    if (!rt.driftSeen.has(id)) {
      rt.driftSeen.add(id);
      this.fire({ type: 'drift', at, feature: rt.cfg.name, key, side, kind, field, detail });
    }
  }

  // ---------------------------------------------------------------- time

  protected inGap = (from: number, to: number): boolean => {
    if (this.downSince !== null && this.downSince <= to) return true;
    for (let i = this.gaps.length - 1; i >= 0; i--) {
      const g = this.gaps[i]!;
      if (g.to >= from && g.from <= to) return true;
      if (g.to < from) break;
    }
    return false;
  };

  protected applySessionChanges(changes: SessionChange[]): void {
    for (const c of changes) this.applySessionChange(c, c.kind === 'open' ? c.session.openedAt : c.session.closedAt ?? Date.now());
  }

  protected applySessionChange(change: SessionChange | null, at: number): void {
    if (!change) return;
    if (change.kind === 'open') {
      if (this.current) { this.current.closedAt = at; }
      const scope = new Scope(at, this.runtimes, change.session);
      const gap = this.lastReconnect;
      if (change.session.openedInGap && gap) {
        const c = scope.conn;
        c.reconnects += 1; c.gaps += 1; c.totalGapMs += gap.gapMs; c.maxGapMs = gap.gapMs; c.missedAcrossGaps += gap.missed;
        c.closes.push(...this.overall.conn.closes.slice(-1));
      }
      this.sessionScopes.push(scope);
      this.current = scope;
      this.fire({ type: 'session-open', at, session: change.session });
    } else {
      if (this.current) {
        this.current.closedAt = at;
        (this.current.session as SessionInfo).closedAt = change.session.closedAt;
        Object.assign(this.current.session as SessionInfo, change.session);
      }
      this.current = null;
      this.fire({ type: 'session-close', at, session: change.session });
    }
  }
}
