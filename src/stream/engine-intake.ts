import { type FeatureRuntime, type KeyState } from './scope.js';
import { flatten, compareFlat, keyOf, type StalenessResult } from './match.js';
import { type PollResult } from './rest-poller.js';
import { WsClient, type WsMessage } from './ws-client.js';
import { EngineState, MAX_CLOSES, MAX_KEYS } from './engine-state.js';

/** The intake: WS frames (with the heartbeat, error_message and pong on the side) and REST polls, into the engine's state. */
export abstract class EngineIntake extends EngineState {
  // ---------------------------------------------------------------- WS side

  protected wireWs(ws: WsClient): void {
    ws.onMessage = (m) => this.onMessage(m);
    ws.on('open', (e) => {
      if (this.downSince !== null) { this.gaps.push({ from: this.downSince, to: e.at }); this.downSince = null; }
      if (this.gaps.length > 200) this.gaps.shift();
      this.fire({ type: 'ws-open', at: e.at, handshakeMs: e.handshakeMs, reconnect: e.reconnect });
    });
    ws.on('close', (e) => {
      if (e.wasOpen) this.downSince = e.at;
      const rec = this.running ? this.tally.close(e) : null;
      if (rec) {
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

  protected onMessage(m: WsMessage): void {
    const at = m.at;
    // Streams come in runs of one type: remember the last lookup instead of hashing each time.
    let rt = this.last.rt;
    if (this.last.type !== m.type) {
      rt = this.byType.get(m.type);
      this.last = { type: m.type, rt };
    }
    this.tally.frame(m.type, at);
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

  protected onSideMessage(m: WsMessage): void {
    const previous = this.tally.heartbeat.flags;
    const side = this.tally.side(m);
    if (side?.kind === 'heartbeat') {
      const next = side.flags;
      if (next && (!previous || Object.keys(next).some((k) => next[k] !== previous[k]))) {
        this.fire({ type: 'backend-flags', at: m.at, flags: { ...next }, previous: previous ? { ...previous } : null });
      }
      return;
    }
    if (side?.kind === 'error_message') {
      const { message, code } = side;
      this.eachScope((s) => {
        s.conn.errorMessages += 1;
        if (s.conn.errorSamples.length < 5) s.conn.errorSamples.push({ at: m.at, message, code });
      });
      this.fire({ type: 'error-message', at: m.at, message, code });
      return;
    }
    // Types of configured features that are not being watched belong to someone.
    if (side?.kind === 'pong' || m.type === this.statusType || this.configuredTypes.has(m.type)) return;
    if (!this.unknownTypes.has(m.type)) {
      this.unknownTypes.add(m.type);
      this.fire({ type: 'unknown-type', at: m.at, wsType: m.type });
    }
  }

  // ---------------------------------------------------------------- REST side

  protected onPoll(r: PollResult): void {
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
  protected aaPair(rt: FeatureRuntime, first: Record<string, unknown>[], second: Record<string, unknown>[], at: number): void {
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

  protected onStaleness(rt: FeatureRuntime, results: StalenessResult[], at: number): void {
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
}
