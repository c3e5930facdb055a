import { scopeSnapshot, Scope } from './scope.js';
import { RestClient, RestPoller } from './rest-poller.js';
import { type SessionInfo } from './sessions.js';
import type { EngineSnapshot } from './types.js';
import { WsClient } from './ws-client.js';
import { EngineIntake } from './engine-intake.js';
import type { EngineOptions } from './engine-state.js';

export type { EngineOptions } from './engine-state.js';

/**
 * The analysis engine: one WS connection and one REST poller per feature, side by side.
 * It prints nothing; front ends (parity, verify, doctor) listen to its events and read
 * `snapshot()`, which has every number overall and per market session.
 */
export class Engine extends EngineIntake {
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

  protected tick(): void {
    const now = Date.now();
    if (this.fixed) this.applySessionChanges(this.fixed.tick(now));
    const keep = this.opts.keepMismatches ?? 20;
    for (const rt of this.runtimes) {
      const { decisions, schema, stale } = rt.matcher.decide(now, this.inGap, this.tally.lastFrame.at);
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

  // ---------------------------------------------------------------- snapshot

  snapshot(): EngineSnapshot {
    const at = Date.now();
    const wsStats = this.ws?.stats() ?? null;
    const expectedTypesMissing = this.features.flatMap((f) => f.wsTypes).filter((t) => !this.tally.types.has(t));
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
        heartbeats: this.tally.heartbeat.count,
        clientStalls: { count: this.stalls.count, totalMs: this.stalls.totalMs, maxMs: this.stalls.maxMs },
        heartbeatFlags: this.tally.heartbeat.flags,
      },
      types: [...this.tally.types.values()].map((t) => ({ ...t })).sort((a, b) => a.type.localeCompare(b.type)),
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
