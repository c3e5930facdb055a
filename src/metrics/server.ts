import { untilAborted } from '../abort.js';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config, FeatureConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { resolveFlags } from '../store/effective.js';
import { openStore } from '../store/index.js';
import type { FlagStore } from '../store/types.js';

/** Where --metrics serves: host and port. */
export interface Listen {
  host: string;
  port: number;
}
import { latestVerdict } from '../store/verify-record.js';
import type { EngineSnapshot } from '../stream/types.js';

/**
 * `--metrics <host:port>`: the engine's numbers at /metrics in the Prometheus text format,
 * for operators who watch hour-long runs in Grafana. It only reads `snapshot()` at each
 * scrape (nothing on the hot path), plus the flags and the last recorded verdicts from the
 * store, cached for a few seconds. samples/grafana/thor-cutover.json draws them.
 */

export interface MetricsOptions {
  listen: Listen;
  command: 'parity' | 'verify' | 'monitor';
  config: Config;
  env: NodeJS.ProcessEnv;
  features: FeatureConfig[];
  snapshot: () => EngineSnapshot;
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  /** Serve these numbers from now on (the run stopped: the engine's last snapshot). */
  freeze(s: EngineSnapshot): void;
  /** Keep serving the frozen numbers for `ms`, or until `signal` aborts: the last scrape sees the end of the run. */
  hold(ms: number, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

const VERDICTS = ['pass', 'fail', 'inconclusive', 'error'] as const;
/** Flags and verdicts change rarely; a scrape every few seconds must not mean a Redis round trip each. */
const STORE_CACHE_MS = 5_000;
/** After a failed connect, try the store again no sooner than this. */
const STORE_RETRY_MS = 10_000;

/**
 * A histogram whose buckets come from the engine's own (an HDR-style histogram per
 * feature, fixed memory): prom-client's Histogram observes values one by one, which would
 * mean a second pass over every message. Everything else about it is prom-client's.
 */
const HISTOGRAM_HELP = 'Time between two messages of one stream of the feature (real time).';

class SnapshotHistogram extends Histogram<'feature'> {
  rows: { feature: string; boundsMs: readonly number[]; cumulative: number[]; sumMs: number }[] = [];

  // prom-client formats a histogram from getForPromString() (get() splays its output): the
  // buckets are supplied there.
  async getForPromString() {
    const name = 'thor_cutover_ws_interarrival_seconds';
    const values = this.rows.flatMap((r) => [
      ...r.boundsMs.map((b, i) => ({ metricName: `${name}_bucket`, labels: { feature: r.feature, le: b / 1000 }, value: r.cumulative[i]! })),
      { metricName: `${name}_bucket`, labels: { feature: r.feature, le: '+Inf' }, value: r.cumulative.at(-1)! },
      { metricName: `${name}_sum`, labels: { feature: r.feature }, value: r.sumMs / 1000 },
      { metricName: `${name}_count`, labels: { feature: r.feature }, value: r.cumulative.at(-1)! },
    ]);
    return { name, help: HISTOGRAM_HELP, type: 'histogram', values, aggregator: 'sum' };
  }
}

/** Every metric this tool exports, registered in one registry. */
function defineMetrics(registry: Registry) {
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[] = ['feature']) => new Counter({ name: `thor_cutover_${name}`, help, labelNames, registers });
  const gauge = (name: string, help: string, labelNames: string[] = ['feature']) => new Gauge({ name: `thor_cutover_${name}`, help, labelNames, registers });

  return {
    info: gauge('run_info', 'This run: the command and the backend (always 1).', ['command', 'url']),
    messages: counter('ws_messages_total', 'WebSocket messages of the feature.'),
    interarrival: new SnapshotHistogram({ name: 'thor_cutover_ws_interarrival_seconds', help: HISTOGRAM_HELP, labelNames: ['feature'], registers }),
    expected: gauge('ws_expected_interval_seconds', 'The interval the feature is expected at (after --speed); 0 for event-driven features.'),
    missedBeats: counter('ws_missed_beats_total', 'Beats lost in gaps over twice the interval.'),
    late: counter('ws_late_total', 'Inter-arrival times over 1.5x the interval.'),
    polls: counter('rest_polls_total', 'REST polls of the feature.'),
    restErrors: counter('rest_errors_total', 'REST polls that failed (status, timeout, body).'),
    compared: counter('compared_total', 'REST polls compared with the WebSocket stream.'),
    mismatches: counter('mismatches_total', 'REST polls whose payload differs from the stream.'),
    skipped: counter('skipped_states_total', 'REST polls not compared, by reason (a state WS never carried, no key, ...).', ['feature', 'reason']),
    reconnects: counter('ws_reconnects_total', 'WebSocket reconnects.', []),
    connected: gauge('ws_connected', '1 while the WebSocket is open.', []),
    badFrames: counter('ws_bad_frames_total', 'Frames that were not JSON text with a type.', []),
    errorMessages: counter('ws_error_messages_total', 'error_message frames from the backend.', []),
    sessionOpen: gauge('session_open', '1 while a market session (or window) is open.', []),
    sessionsCompleted: counter('sessions_completed_total', 'Complete market sessions (or windows) seen.', []),
    marketStatus: gauge('market_status', 'The last market_status of the configured market (1 on the current status).', ['status']),
    backendFlag: gauge('backend_flag_enabled', 'The flag as the backend sees it (its last heartbeat).'),
    flag: gauge('flag_enabled', 'The effective flag (PROTOCOL.md section 2) from the store.', ['feature', 'source']),
    storeUp: gauge('store_up', '1 when the flag store answered the last read.', []),
    verdict: gauge('verify_last_verdict', 'The last recorded verify verdict of the feature (1 on it).', ['feature', 'verdict']),
  };
}

type Metrics = ReturnType<typeof defineMetrics>;

/** The store's side (flags, last verdicts), read at most every few seconds and reopened when it was away. */
class StoreSide {
  private store: FlagStore | null = null;
  private triedAt = -Infinity;
  private readAt = -Infinity;
  private reading: Promise<void> | null = null;

  constructor(private readonly o: MetricsOptions, private readonly m: Metrics) {}

  /** One read at a time: concurrent scrapes share it. */
  refresh(): Promise<void> {
    this.reading ??= this.read().finally(() => { this.reading = null; });
    return this.reading;
  }

  private async read(): Promise<void> {
    const { o, m } = this;
    if (Date.now() - this.readAt < STORE_CACHE_MS) return;
    if (!this.store) {
      if (Date.now() - this.triedAt < STORE_RETRY_MS) return;
      this.triedAt = Date.now();
      try { this.store = await openStore(o.config, { oneShot: false }); } catch { m.storeUp.set(0); return; }
    }
    const store = this.store;
    try {
      const [snap, verdicts] = await Promise.all([store.snapshot(), Promise.all(o.features.map((f) => latestVerdict(store, f.name)))]);
      this.readAt = Date.now();
      m.storeUp.set(1);
      m.flag.reset();
      for (const f of resolveFlags(o.features, snap.raw, o.env)) m.flag.set({ feature: f.feature, source: f.source }, f.enabled ? 1 : 0);
      m.verdict.reset();
      o.features.forEach((f, i) => {
        const v = verdicts[i];
        if (v) for (const name of VERDICTS) m.verdict.set({ feature: f.name, verdict: name }, v.verdict === name ? 1 : 0);
      });
    } catch {
      m.storeUp.set(0);
    }
  }

  async close(): Promise<void> {
    await this.reading;
    await this.store?.close();
  }
}

const set = (c: Counter<string>, labels: Record<string, string>, value: number) => { c.inc(labels, value); };

/** The engine's numbers, as the metrics: counters are set to the run's totals at each scrape. */
function updateMetrics(m: Metrics, s: EngineSnapshot, command: string): void {
  for (const c of [m.messages, m.missedBeats, m.late, m.polls, m.restErrors, m.compared, m.mismatches, m.skipped, m.reconnects, m.badFrames, m.errorMessages, m.sessionsCompleted]) c.reset();
  m.expected.reset();
  m.backendFlag.reset();
  m.marketStatus.reset();
  m.info.set({ command, url: s.connection.url }, 1);
  const rows: SnapshotHistogram['rows'] = [];
  for (const f of s.overall.features) {
    const feature = { feature: f.name };
    set(m.messages, feature, f.ws.messages);
    set(m.polls, feature, f.rest.polls);
    set(m.restErrors, feature, f.rest.errors);
    set(m.compared, feature, f.match.compared);
    set(m.mismatches, feature, f.match.mismatched);
    for (const [reason, n] of Object.entries(f.match.unmatchedByReason)) set(m.skipped, { feature: f.name, reason }, n);
    m.expected.set(feature, f.cadence === 'periodic' ? f.expectedIntervalMs / 1000 : 0);
    if (f.interval) {
      set(m.missedBeats, feature, f.interval.missedBeats);
      set(m.late, feature, f.interval.late);
      if (f.interval.histogram) rows.push({ feature: f.name, ...f.interval.histogram });
    }
    const backend = s.connection.heartbeatFlags?.[f.name];
    if (backend !== undefined) m.backendFlag.set(feature, backend ? 1 : 0);
  }
  m.interarrival.rows = rows;
  set(m.reconnects, {}, s.connection.reconnects);
  m.connected.set(s.connection.state === 'connected' ? 1 : 0);
  set(m.badFrames, {}, s.overall.connection.badFrames);
  set(m.errorMessages, {}, s.overall.connection.errorMessages);
  const last = s.sessions.at(-1);
  m.sessionOpen.set(last && last.session.closedAt === null ? 1 : 0);
  set(m.sessionsCompleted, {}, s.sessionsCompleted);
  if (s.marketStatus) m.marketStatus.set({ status: s.marketStatus }, 1);
}

/** Listens, or says in one line why it cannot (a port in use, an address not of this machine). */
async function listenOn(server: Server, listen: Listen): Promise<string> {
  server.listen(listen.port, listen.host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => { throw err; })]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const where = `${listen.host}:${listen.port}`;
    throw new UsageError(
      e.code === 'EADDRINUSE' ? `--metrics ${where}: the port is in use` : `--metrics ${where}: cannot listen (${e.code ?? e.message})`,
      e.code === 'EADDRINUSE' ? 'pick another port, or 0 for any free one' : 'check the host: an address of this machine, 127.0.0.1 by default',
    );
  }
  const addr = server.address() as { address: string; port: number };
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return `http://${host}:${addr.port}/metrics`;
}

export async function startMetrics(o: MetricsOptions): Promise<MetricsServer> {
  const registry = new Registry();
  const m = defineMetrics(registry);
  const side = new StoreSide(o, m);
  let frozen: EngineSnapshot | null = null;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { allow: 'GET, HEAD' }).end(); return; }
    if (path !== '/metrics') { res.writeHead(404, { 'content-type': 'text/plain' }).end('thor-cutover: metrics are at /metrics\n'); return; }
    void (async () => {
      try {
        await side.refresh();
        updateMetrics(m, frozen ?? o.snapshot(), o.command);
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`thor-cutover: ${(err as Error).message}\n`);
      }
    })();
  });
  const url = await listenOn(server, o.listen);
  return {
    url,
    freeze(s) { frozen = s; },
    hold: async (ms, signal) => { await untilAborted(signal, ms); },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await side.close();
    },
  };
}
