import { EventEmitter } from 'node:events';
import type { Config, FeatureConfig } from '../config/types.js';
import type { CloseRecord } from './closes.js';
import { requiredCheck, jsonType } from './schema.js';
import { scopeSnapshot, Scope, type FeatureCounters, type FeatureRuntime, type KeyState } from './scope.js';
import { FeatureMatcher, flatten, compareFlat, ignoredBy, keyOf, type StalenessResult } from './match.js';
import { NoiseTracker } from './noise.js';
import { RestClient, RestPoller, type PollResult } from './rest-poller.js';
import { followEngine, type RunSeries } from './series.js';
import { FixedSessions, MarketSessions, type SessionChange, type SessionInfo } from './sessions.js';
import { BucketArena, intervalLimits, IntervalStats, LoopStalls, type IntervalKind } from './stats.js';
import type { DriftKind, EngineSnapshot, StreamEvent, StreamEventType, TypeStats } from './types.js';
import { WsClient, type WsMessage } from './ws-client.js';

/**
 * The analysis engine: one WS connection and one REST poller per feature, side by side.
 * It prints nothing; front ends (parity, verify, doctor) listen to its events and read
 * `snapshot()`, which has every number overall and per market session.
 */

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

type Listener<K extends StreamEventType> = (e: Extract<StreamEvent, { type: K }>) => void;

const SIDE_TYPES = new Set(['heartbeat', 'error_message', 'pong']);
/** Server closes kept per scope for the close diagnosis (closes.ts). */
const MAX_CLOSES = 50;
/** Stream keys tracked per feature (each costs a histogram of ~8 KB). */
const MAX_KEYS = 5_000;

export class Engine extends EventEmitter {
  readonly config: Config;
  readonly features: FeatureConfig[];
  readonly speed: number;
  private readonly opts: EngineOptions;
  private readonly runtimes: FeatureRuntime[];
  private readonly byType = new Map<string, FeatureRuntime>();
  private readonly types = new Map<string, TypeStats>();
  private readonly unknownTypes = new Set<string>();
  private readonly configuredTypes: Set<string>;
  private last: { ts: TypeStats | undefined; rt: FeatureRuntime | undefined } = { ts: undefined, rt: undefined };
  /** Someone listens to interval events (kept current instead of asking per message). */
  private wantsIntervalEvents = false;
  private ws: WsClient | null = null;
  private rest: RestClient | null = null;
  private poller: RestPoller | null = null;
  private overall!: Scope;
  private readonly sessionScopes: Scope[] = [];
  private current: Scope | null = null;
  private readonly market: MarketSessions | null;
  private readonly fixed: FixedSessions | null;
  private readonly statusType: string;
  private tickTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private running = false;
  private readonly gaps: { from: number; to: number }[] = [];
  private downSince: number | null = null;
  private heartbeats = 0;
  private readonly stalls = new LoopStalls();
  private heartbeatFlags: Record<string, boolean> | null = null;
  /** The last frame's type and arrival: what was in flight when the server closed the socket. */
  private lastFrame: { type: string | null; at: number } = { type: null, at: 0 };
  private lastReconnect: { gapMs: number; missed: number } | null = null;
  /** The run over time, when `series` was asked for. */
  readonly series: RunSeries | null;
  private contact: Promise<{ ws: boolean; rest: boolean; wsError: string | null; restError: string | null }> | null = null;

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

  private fire(e: StreamEvent): void {
    this.emit(e.type, e);
    this.emit('event', e);
  }

  /**
   * Connect and start polling. Resolves once the first WS attempt has opened or failed and
   * each feature has had its first REST answer (see `firstContact`).
   */
  start(): Promise<{ ws: boolean; rest: boolean; wsError: string | null; restError: string | null }> {
    if (this.contact) return this.contact;
    this.running = true;
    this.startedAt = Date.now();
    this.downSince = this.startedAt;
    this.overall = new Scope(this.startedAt, this.runtimes, null);
    this.stalls.start();
    const b = this.config.backend;
    const wsOn = this.opts.ws !== false;
    const restOn = this.opts.rest !== false;
    const minInterval = Math.min(...this.runtimes.map((r) => r.expectedMs));
    const pingInterval = this.opts.pingIntervalMs ?? Math.max(250, 5_000 / this.speed);

    const wsFirst = new Promise<{ ok: boolean; error: string | null }>((resolve) => {
      if (!wsOn) { resolve({ ok: false, error: 'WS disabled' }); return; }
      this.ws = new WsClient({
        url: b.wsUrl,
        token: b.token,
        tokenIn: b.tokenIn,
        handshakeTimeoutMs: b.timeoutMs,
        pingIntervalMs: pingInterval,
        // Generous: on two busy cores a pong can be late without the socket being dead.
        pongTimeoutMs: Math.max(2_000, 2 * pingInterval),
        staleAfterMs: Math.max(3 * minInterval, 500),
        reconnect: this.opts.reconnect ?? true,
        backoff: { initialMs: Math.max(50, 500 / this.speed), maxMs: Math.max(1_000, 15_000 / this.speed) },
      });
      this.wireWs(this.ws);
      let settled = false;
      this.ws.once('open', () => { if (!settled) { settled = true; resolve({ ok: true, error: null }); } });
      this.ws.on('close', () => { if (!settled) { settled = true; resolve({ ok: false, error: this.ws?.stats().lastError ?? 'closed' }); } });
      this.ws.start();
    });

    const restFirst = wsFirst.then(() => new Promise<{ ok: boolean; error: string | null }>((resolve) => {
      if (!this.running) { resolve({ ok: false, error: 'stopped' }); return; }
      if (!restOn || this.runtimes.length === 0) { resolve({ ok: false, error: restOn ? 'no features' : 'REST disabled' }); return; }
      this.rest = new RestClient({ baseUrl: b.url, token: b.token, timeoutMs: this.opts.restTimeoutMs ?? b.timeoutMs, connections: this.runtimes.length + 2 });
      const waiting = new Set(this.runtimes.map((r) => r.cfg.name));
      let anyOk = false;
      let lastErr: string | null = null;
      this.poller = new RestPoller({
        client: this.rest,
        aaEvery: this.opts.aaEvery ?? 20,
        targets: this.runtimes.map((r) => ({ feature: r.cfg, intervalMs: Math.max(20, r.expectedMs) })),
        onResult: (res) => {
          this.onPoll(res);
          if (waiting.size === 0) return;
          // Any HTTP answer proves the backend is reachable, even a 404.
          if (res.response.status !== null) anyOk = true;
          else lastErr = res.response.error ?? res.response.outcome;
          waiting.delete(res.feature);
          if (waiting.size === 0) resolve({ ok: anyOk, error: anyOk ? null : lastErr });
        },
      });
      this.poller.start();
    }));

    const tickMs = Math.max(10, Math.min(250, Math.round(Math.min(...this.runtimes.map((r) => r.graceMs)) / 4)));
    this.tickTimer = setInterval(() => this.tick(), tickMs);
    if (this.fixed) this.applySessionChanges(this.fixed.tick(this.startedAt));
    this.contact = Promise.all([wsFirst, restFirst]).then(([w, r]) => ({ ws: w.ok, rest: r.ok, wsError: w.error, restError: r.error }));
    return this.contact;
  }

  /** Stop everything; pending REST comparisons are decided first. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.tickTimer) { clearInterval(this.tickTimer); this.tickTimer = null; }
    this.stalls.stop();
    this.series?.end();
    await Promise.all([this.ws?.stop(), this.poller?.stop()]);
    await this.rest?.close();
    this.tick();
    const at = Date.now();
    this.overall.closedAt = at;
  }

  /** The WS client (doctor reads handshake, RTT and close codes from it). */
  get wsClient(): WsClient | null {
    return this.ws;
  }

  sessionsCompleted(): number {
    return this.market?.completed() ?? this.fixed?.completed() ?? 0;
  }

  // ---------------------------------------------------------------- WS side

  private wireWs(ws: WsClient): void {
    ws.onMessage = (m) => this.onMessage(m);
    ws.on('open', (e) => {
      if (this.downSince !== null) { this.gaps.push({ from: this.downSince, to: e.at }); this.downSince = null; }
      if (this.gaps.length > 200) this.gaps.shift();
      this.fire({ type: 'ws-open', at: e.at, handshakeMs: e.handshakeMs, reconnect: e.reconnect });
    });
    ws.on('close', (e) => {
      if (e.wasOpen) this.downSince = e.at;
      if (e.wasOpen && this.running) {
        const rec: CloseRecord = {
          at: e.at, code: e.code, reason: e.reason.slice(0, 120), lastType: this.lastFrame.type,
          sinceLastFrameMs: this.lastFrame.type === null ? null : e.at - this.lastFrame.at,
        };
        this.eachScope((s) => {
          s.conn.closes.push(rec);
          if (s.conn.closes.length > MAX_CLOSES) s.conn.closes.shift();
        });
      }
      // A gap is not an interval: the next message of each stream starts afresh.
      for (const rt of this.runtimes) for (const k of rt.keys.values()) k.last = null;
      this.fire({ type: 'ws-close', at: e.at, code: e.code, reason: e.reason });
    });
    ws.on('error', (e) => this.fire({ type: 'ws-error', at: e.at, message: e.message, handshakeStatus: e.handshakeStatus }));
    ws.on('auth-failed', (e) => this.fire({ type: 'auth-failed', ...e }));
    ws.on('state', (state) => this.fire({ type: 'ws-state', at: Date.now(), state }));
    ws.on('reconnect', (e) => {
      let missed = 0;
      for (const rt of this.runtimes) {
        if (rt.cfg.cadence !== 'periodic') continue;
        missed += Math.max(1, rt.keys.size) * Math.floor(e.gapMs / rt.expectedMs);
      }
      this.eachScope((s) => {
        s.conn.reconnects += 1;
        s.conn.gaps += 1;
        s.conn.totalGapMs += e.gapMs;
        s.conn.maxGapMs = Math.max(s.conn.maxGapMs, e.gapMs);
        s.conn.missedAcrossGaps += missed;
      });
      this.lastReconnect = { gapMs: e.gapMs, missed };
      // A session that opens next may have opened while we were away: it is charged this gap.
      this.market?.onReconnect();
      this.fire({ type: 'reconnect', at: e.at, gapMs: e.gapMs, missedMessages: missed });
    });
    ws.on('bad-frame', (f) => {
      this.eachScope((s) => {
        s.conn.badFrames += 1;
        if (s.conn.badFrameSamples.length < 5) s.conn.badFrameSamples.push(f);
      });
      this.fire({ type: 'bad-frame', at: f.at, kind: f.kind, sample: f.sample });
    });
  }

  private eachScope(fn: (s: Scope) => void): void {
    fn(this.overall);
    if (this.current) fn(this.current);
  }

  private onMessage(m: WsMessage): void {
    const at = m.at;
    // Streams come in runs of one type: remember the last lookup instead of hashing each time.
    let ts = this.last.ts;
    let rt = this.last.rt;
    if (!ts || ts.type !== m.type) {
      ts = this.types.get(m.type);
      rt = this.byType.get(m.type);
      if (!ts) {
        ts = { type: m.type, count: 0, firstAt: at, lastAt: at, feature: rt?.cfg.name ?? null };
        this.types.set(m.type, ts);
      }
      this.last = { ts, rt };
    }
    ts.count += 1;
    ts.lastAt = at;
    this.lastFrame.type = m.type;
    this.lastFrame.at = at;
    const data = m.data;
    // Sessions first, so the message that opens a session lands in it.
    if (m.type === this.statusType && this.market) this.applySessionChange(this.market.onStatus(data, at), at);
    if (!rt) {
      this.onSideMessage(m);
      return;
    }
    const cur = this.current;
    const o = this.overall.f[rt.idx]!;
    const c = cur ? cur.f[rt.idx]! : null;
    o.messages += 1; o.lastAt = at; o.firstAt ??= at;
    if (c) { c.messages += 1; c.lastAt = at; c.firstAt ??= at; }
    this.series?.message(rt.idx, at);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      this.drift(rt, 'ws', 'not-an-object', 'data', null, `data is ${Array.isArray(data) ? 'an array' : typeof data}`, at);
      return;
    }
    const d = data as Record<string, unknown>;
    this.checkWsFields(rt, d, at);
    const leaf = rt.matcher.wsLeaf(d);
    // When the stream key is a prefix of the match key (intraday: symbol of symbol+minute),
    // the leaf remembers its stream: one lookup per message instead of two.
    let ks = rt.streamIsKeyPrefix && leaf ? (leaf.stream as KeyState | undefined) : undefined;
    if (!ks) {
      const streamKey = rt.wsStreamFields.length ? keyOf(d, rt.wsStreamFields) : '';
      if (streamKey !== null) {
        ks = this.keyState(rt, streamKey);
        if (ks && rt.streamIsKeyPrefix && leaf) leaf.stream = ks;
      }
    }
    if (ks) this.recordArrival(rt, ks, at, o, c);
    if (leaf === null) {
      this.drift(rt, 'ws', 'no-key', rt.cfg.key.join('+'), null, 'a key field is missing', at);
      return;
    }
    const resolved = rt.matcher.addToLeaf(leaf, d, at, m.text);
    if (resolved) this.onStaleness(rt, resolved, at);
  }

  private onSideMessage(m: WsMessage): void {
    if (m.type === 'heartbeat') {
      this.heartbeats += 1;
      const flags = (m.data as { flags?: unknown } | null)?.flags;
      if (flags && typeof flags === 'object' && !Array.isArray(flags)) {
        const next: Record<string, boolean> = {};
        for (const [k, v] of Object.entries(flags)) if (typeof v === 'boolean') next[k] = v;
        const previous = this.heartbeatFlags;
        this.heartbeatFlags = next;
        if (!previous || Object.keys(next).some((k) => next[k] !== previous[k])) {
          this.fire({ type: 'backend-flags', at: m.at, flags: { ...next }, previous: previous ? { ...previous } : null });
        }
      }
      return;
    }
    if (m.type === 'error_message') {
      const d = (m.data ?? {}) as { message?: unknown; code?: unknown };
      const message = typeof d.message === 'string' ? d.message : JSON.stringify(m.data ?? null).slice(0, 200);
      const code = d.code === undefined || d.code === null ? null : String(d.code);
      this.eachScope((s) => {
        s.conn.errorMessages += 1;
        if (s.conn.errorSamples.length < 5) s.conn.errorSamples.push({ at: m.at, message, code });
      });
      this.fire({ type: 'error-message', at: m.at, message, code });
      return;
    }
    // Types of configured features that are not being watched belong to someone.
    if (SIDE_TYPES.has(m.type) || m.type === this.statusType || this.configuredTypes.has(m.type)) return;
    if (!this.unknownTypes.has(m.type)) {
      this.unknownTypes.add(m.type);
      this.fire({ type: 'unknown-type', at: m.at, wsType: m.type });
    }
  }

  /**
   * Required fields: present and of one type, on every message. Other fields: their type
   * on every 16th message per feature (they are schema drift too, but the for-in over
   * the whole payload was a tenth of the engine's cost at full rate).
   */
  private checkWsFields(rt: FeatureRuntime, d: Record<string, unknown>, at: number): void {
    // The usual message: every required field there with the type it had before. Anything
    // else (first message, a missing field, a new type, an object/array/null field) takes
    // the full check below.
    if (!rt.requiredSame(d, rt.requiredTypeofs)) this.checkRequired(rt, d, at);
    if ((rt.sampled++ & 15) !== 0) return;
    this.checkFieldTypes(rt, d, at);
  }

  private checkRequired(rt: FeatureRuntime, d: Record<string, unknown>, at: number): void {
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

  private checkFieldTypes(rt: FeatureRuntime, d: Record<string, unknown>, at: number): void {
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


  private keyState(rt: FeatureRuntime, key: string): KeyState | undefined {
    let ks = rt.keys.get(key);
    if (!ks) {
      if (rt.keys.size >= MAX_KEYS) return undefined;
      ks = { key, last: null, stats: new IntervalStats(rt.expectedMs, rt.keyBuckets), lastAt: null, scope: null };
      rt.keys.set(key, ks);
    }
    return ks;
  }

  private recordArrival(rt: FeatureRuntime, ks: KeyState, at: number, o: FeatureCounters, c: FeatureCounters | null): void {
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


  private drift(rt: FeatureRuntime, side: 'ws' | 'rest', kind: DriftKind, field: string, key: string | null, detail: string, at: number): void {
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

  // ---------------------------------------------------------------- REST side

  private onPoll(r: PollResult): void {
    const rt = this.runtimes.find((x) => x.cfg.name === r.feature);
    if (!rt || !this.running) return;
    const res = r.response;
    this.eachScope((s) => {
      const fc = s.f[rt.idx]!;
      fc.polls += 1;
      fc.latency.record(res.ms);
      if (res.status !== null) fc.byStatus[String(res.status)] = (fc.byStatus[String(res.status)] ?? 0) + 1;
      if (res.outcome === 'ok') { fc.restOk += 1; fc.restItems += r.items?.length ?? 0; }
      else {
        fc.restErrors += 1;
        fc.byOutcome[res.outcome] = (fc.byOutcome[res.outcome] ?? 0) + 1;
        fc.lastRestError = res.error ?? res.outcome;
      }
    });
    if (this.listenerCount('rest-poll') > 0) {
      this.emit('rest-poll', { type: 'rest-poll', at: res.at, feature: rt.cfg.name, outcome: res.outcome, status: res.status, ms: res.ms, items: r.items?.length ?? 0 });
    }
    if (res.outcome !== 'ok' || !r.items) {
      this.fire({ type: 'rest-error', at: res.at, feature: rt.cfg.name, kind: res.outcome, status: res.status, message: `${rt.cfg.restPath}: ${res.error ?? res.outcome}` });
      return;
    }
    for (const item of r.items) {
      for (const f of rt.cfg.requiredFields) {
        if (item[f] === undefined) this.drift(rt, 'rest', 'missing-required', f, rt.matcher.restKey(item), 'required field missing', res.at);
      }
      const sk = rt.cfg.streamKey.length ? keyOf(item, rt.cfg.streamKey) : '';
      if (sk !== null && !rt.restKeys.has(sk) && rt.restKeys.size < MAX_KEYS) rt.restKeys.set(sk, res.at);
    }
    if (r.aaFirst) {
      this.aaPair(rt, r.aaFirst, r.items, res.at);
      return;
    }
    const { keyless, staleness } = rt.matcher.addRest(r.items, res.sentAt, res.at);
    if (keyless) this.drift(rt, 'rest', 'no-key', rt.cfg.key.join('+'), null, 'a key field is missing', res.at);
    if (staleness.length) this.onStaleness(rt, staleness, res.at);
  }

  /** Two REST reads in quick succession: whatever differs between them is volatile. */
  private aaPair(rt: FeatureRuntime, first: Record<string, unknown>[], second: Record<string, unknown>[], at: number): void {
    const byKey = new Map<string, Record<string, unknown>>();
    for (const it of first) { const k = rt.matcher.restKey(it); if (k !== null) byKey.set(k, it); }
    const paths: string[] = [];
    for (const it of second) {
      const k = rt.matcher.restKey(it);
      const prev = k === null ? undefined : byKey.get(k);
      if (!prev) continue;
      const r = compareFlat(flatten(prev), flatten(it), rt.cfg.tolerance, rt.ignored);
      for (const d of r.diffs) paths.push(d.path);
    }
    for (const field of rt.noise.addPair(paths)) this.fire({ type: 'noise', at, feature: rt.cfg.name, field });
  }

  private onStaleness(rt: FeatureRuntime, results: StalenessResult[], at: number): void {
    for (const s of results) {
      this.eachScope((sc) => {
        const fc = sc.f[rt.idx]!;
        fc.staleChanges += 1;
        if (s.ms === null) fc.stale += 1;
        else fc.staleMax = Math.max(fc.staleMax ?? 0, s.ms);
      });
      if (s.ms === null) this.fire({ type: 'stale', at, feature: rt.cfg.name, key: s.key, limitMs: Math.round(rt.stalenessMs) });
    }
  }

  // ---------------------------------------------------------------- time

  private inGap = (from: number, to: number): boolean => {
    if (this.downSince !== null && this.downSince <= to) return true;
    for (let i = this.gaps.length - 1; i >= 0; i--) {
      const g = this.gaps[i]!;
      if (g.to >= from && g.from <= to) return true;
      if (g.to < from) break;
    }
    return false;
  };

  private tick(): void {
    const now = Date.now();
    if (this.fixed) this.applySessionChanges(this.fixed.tick(now));
    const keep = this.opts.keepMismatches ?? 20;
    for (const rt of this.runtimes) {
      const { decisions, schema, stale } = rt.matcher.decide(now, this.inGap, this.lastFrame.at);
      for (const d of decisions) {
        this.series?.decision(rt.idx, d);
        this.eachScope((s) => {
          const fc = s.f[rt.idx]!;
          switch (d.kind) {
            case 'agree': fc.agreed += 1; if (d.noise.length) fc.agreedWithNoise += 1; if (d.restamped) fc.restamped += 1; break;
            case 'mismatch': fc.mismatched += 1; if (fc.mismatches.length < keep) fc.mismatches.push(d.record); break;
            case 'skipped': fc.skipped += 1; if (fc.skippedSamples.length < keep) fc.skippedSamples.push(d.record); break;
            case 'unmatched': fc.unmatched += 1; fc.unmatchedByReason[d.reason] = (fc.unmatchedByReason[d.reason] ?? 0) + 1; break;
            case 'missing-ws':
              fc.missingOnWs += 1;
              if (fc.missingOnWsKeys.length < 5 && !fc.missingOnWsKeys.includes(d.key)) fc.missingOnWsKeys.push(d.key);
              break;
          }
        });
        if (d.kind === 'mismatch' || d.kind === 'skipped') {
          const r = d.record;
          this.fire({ type: d.kind, at: r.at, feature: r.feature, key: r.key, version: r.version, fields: r.fields, skewMs: r.skewMs });
        }
      }
      for (const n of schema) {
        // A required field absent on one side is already reported as missing there.
        if (rt.cfg.requiredFields.includes(n.field)) continue;
        this.drift(rt, n.side, 'one-side-only', n.field, n.key, `only on ${n.side === 'ws' ? 'WS' : 'REST'}`, now);
      }
      if (stale.length) this.onStaleness(rt, stale, now);
      // A REST key WS has not carried for a while after REST first showed it.
      const wait = 2 * rt.expectedMs + rt.graceMs + 1_000 / this.speed;
      // A feature with no WS message at all is "no data", not a list of missing keys.
      if (this.overall.f[rt.idx]!.messages === 0) continue;
      for (const [key, first] of rt.restKeys) {
        if (now - first < wait || rt.keys.has(key) || rt.reportedMissing.has(key)) continue;
        rt.reportedMissing.add(key);
        this.fire({ type: 'missing-key', at: now, feature: rt.cfg.name, key });
      }
    }
  }

  private applySessionChanges(changes: SessionChange[]): void {
    for (const c of changes) this.applySessionChange(c, c.kind === 'open' ? c.session.openedAt : c.session.closedAt ?? Date.now());
  }

  private applySessionChange(change: SessionChange | null, at: number): void {
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

  // ---------------------------------------------------------------- snapshot

  snapshot(): EngineSnapshot {
    const at = Date.now();
    const wsStats = this.ws?.stats() ?? null;
    const expectedTypesMissing = this.features.flatMap((f) => f.wsTypes).filter((t) => !this.types.has(t));
    const overall = scopeSnapshot(this.runtimes, this.overall, at, true, this.opts.maxMismatchRate);
    return {
      startedAt: this.startedAt,
      at,
      elapsedMs: at - this.startedAt,
      speed: this.speed,
      connection: {
        state: wsStats?.state ?? 'idle',
        url: wsStats?.url ?? this.config.backend.wsUrl,
        attempts: wsStats?.attempts ?? 0,
        connects: wsStats?.connects ?? 0,
        reconnects: wsStats?.reconnects ?? 0,
        firstHandshakeMs: wsStats?.firstHandshakeMs ?? null,
        lastHandshakeStatus: wsStats?.lastHandshakeStatus ?? null,
        lastError: wsStats?.lastError ?? null,
        lastClose: wsStats?.lastClose ?? null,
        closeCodes: wsStats?.closeCodes ?? {},
        gaps: wsStats?.gaps ?? { count: 0, totalMs: 0, maxMs: 0 },
        rtt: wsStats?.rtt ?? { ws: emptyRtt(), protocol: emptyRtt() },
        messages: wsStats?.messages ?? 0,
        bytes: wsStats?.bytes ?? 0,
        badFrames: wsStats?.badFrames ?? { binary: 0, invalidUtf8: 0, nonJson: 0, noType: 0, samples: [] },
        lastFrameAt: wsStats?.lastFrameAt ?? null,
        heartbeats: this.heartbeats,
        clientStalls: { count: this.stalls.count, totalMs: this.stalls.totalMs, maxMs: this.stalls.maxMs },
        heartbeatFlags: this.heartbeatFlags,
      },
      types: [...this.types.values()].map((t) => ({ ...t })).sort((a, b) => a.type.localeCompare(b.type)),
      expectedTypesMissing,
      unknownTypes: [...this.unknownTypes].sort(),
      overall,
      sessions: this.sessionScopes.map((s) => ({ ...scopeSnapshot(this.runtimes, s, at, false, this.opts.maxMismatchRate), session: { ...(s.session as SessionInfo) } })),
      sessionsCompleted: this.sessionsCompleted(),
      sessionMode: this.market ? 'market' : this.fixed ? 'fixed' : 'none',
      marketStatus: this.market?.marketStatus ?? null,
    };
  }
}

function emptyRtt() {
  return { count: 0, lastMs: null, minMs: null, maxMs: null, meanMs: null };
}

export function createEngine(opts: EngineOptions): Engine {
  return new Engine(opts);
}
