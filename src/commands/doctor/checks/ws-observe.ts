import type { Config, FeatureConfig } from '../../../config/types.js';
import { diagnoseCloses, type CloseDiagnosis, type CloseRecord } from '../../../stream/closes.js';
import { closeRecordOf, errorMessageOf, heartbeatFlags } from '../../../stream/side-messages.js';
import { WsClient, type WsClientStats, type WsMessage } from '../../../stream/ws-client.js';

/** doctor's look at the socket: one connection watched until every type, a heartbeat and a pong arrived (checks/ws.ts judges it). */

/**
 * Added to "two intervals" before a first message counts as late: timers and the event loop
 * on both ends jitter, which matters only at rehearsal speeds where an interval is 50 ms.
 */
export const ARRIVAL_GRACE_MS = 250;
/** Protocol and WS pings while watching; the first goes out one interval after the handshake. */
export const PING_EVERY_MS = 250;

export interface Seen { count: number; firstAt: number; lastAt: number }

export interface WsObservation {
  url: string;
  startedAt: number;
  endedAt: number;
  openedAt: number | null;
  handshakeMs: number | null;
  /** The server closed an open socket while we watched (the first time). */
  closedByServer: { code: number; reason: string; at: number } | null;
  /** Every close of an open socket by the server: doctor reconnects to see whether it repeats. */
  closes: CloseRecord[];
  /** Why the closes happen, when they point at something (see stream/closes.ts). */
  closeDiagnosis: CloseDiagnosis | null;
  /** The handshake never completed and nothing said why before the window ended. */
  noAnswer: boolean;
  stats: WsClientStats;
  types: Map<string, Seen>;
  heartbeat: { seen: Seen | null; last: Record<string, unknown> | null; flags: Record<string, boolean> | null; flagsAt: number | null };
  errorMessages: { count: number; first: string | null };
  /** Backend timestamp minus arrival time, the largest (closest to the truth) per source. */
  clock: { heartbeat: number | null; payload: number | null; samples: number };
}

export interface WsPlan {
  config: Config;
  speed: number;
  /** Stop watching at this time (epoch ms) at the latest. */
  until: number;
  /**
   * Watch at least this long after the first open before finishing early: two of the
   * slowest intervals by default (a fault that shows once an interval is seen), the whole
   * window when the user set --timeout.
   */
  minWatchMs: number;
  signal: AbortSignal;
}

/** Two of the slowest periodic intervals (rehearsal-speed), plus the arrival grace. */
export function minWatchMs(config: Config, speed: number): number {
  const slowest = Math.max(0, ...config.features.filter((f) => f.cadence === 'periodic').map((f) => f.intervalMs));
  return (2 * slowest) / speed + ARRIVAL_GRACE_MS;
}

export const featureOfType = (config: Config) => new Map(config.features.flatMap((f) => f.wsTypes.map((t) => [t, f] as const)));

/** Account-scoped features reach only sockets with the token: without one there is nothing to wait for. */
function awaited(config: Config): FeatureConfig[] {
  return config.features.filter((f) => !(f.accountScoped && !config.backend.token));
}

function parseTimestamp(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e12 ? v * 1000 : v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One connection, no reconnect: watch until every expected type, a heartbeat and a pong
 * have arrived, or until the window ends. Never throws for what a server does wrong.
 */
export function observeWs(plan: WsPlan): Promise<WsObservation> {
  const { config, until, signal } = plan;
  const startedAt = Date.now();
  const byType = featureOfType(config);
  const waitFor = awaited(config);
  const client = new WsClient({
    url: config.backend.wsUrl,
    token: config.backend.token,
    tokenIn: config.backend.tokenIn,
    handshakeTimeoutMs: Math.max(100, Math.min(config.backend.timeoutMs, until - startedAt)),
    pingIntervalMs: PING_EVERY_MS,
    // A missing WS pong is reported, not acted on: the socket stays up for the whole window.
    pongTimeoutMs: Math.max(1_000, until - startedAt + 1_000),
    staleAfterMs: Math.max(1_000, until - startedAt + 1_000),
    // A server that closes the socket is given another (backed off) try, so a close that
    // repeats (a consumer that raises on every broadcast of a type) shows as the loop it is.
    reconnect: true,
    backoff: { initialMs: Math.max(50, 250 / plan.speed), maxMs: Math.max(500, 2_000 / plan.speed) },
  });
  const obs = newObservation(client, startedAt);
  let last: { type: string | null; at: number } = { type: null, at: 0 };
  const satisfied = () =>
    obs.openedAt !== null
    && Date.now() - obs.openedAt >= plan.minWatchMs
    && obs.closes.length === 0
    && obs.heartbeat.seen !== null
    && client.stats().rtt.protocol.count > 0
    && waitFor.every((f) => f.wsTypes.some((t) => obs.types.has(t)));

  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      obs.endedAt = Date.now();
      obs.stats = client.stats();
      obs.closeDiagnosis = closeDiagnosisOf(obs, config, plan.speed);
      if (obs.openedAt === null && obs.stats.lastHandshakeStatus === null && obs.stats.lastClose === null) obs.noAnswer = true;
      void client.stop().then(() => resolve(obs));
    };
    const timer = setTimeout(finish, Math.max(0, until - Date.now()));
    signal.addEventListener('abort', finish, { once: true });

    // WsClient re-emits socket errors as events: without a listener an 'error' event would throw.
    client.on('error', () => {});
    client.on('open', (e) => { obs.openedAt ??= e.at; obs.handshakeMs ??= e.handshakeMs; });
    client.on('close', (e) => {
      if (done) return;
      if (e.wasOpen) {
        obs.closedByServer ??= { code: e.code, reason: e.reason, at: e.at };
        obs.closes.push(closeRecordOf(e, last));
      }
      // Credentials refused, or a socket that never opened: reconnecting shows nothing more.
      if (client.authFailed || !e.wasOpen) finish();
    });
    client.on('pong', () => { if (satisfied()) finish(); });
    client.on('message', (m: WsMessage) => {
      last = { type: m.type, at: m.at };
      recordMessage(obs, m, byType);
      if (satisfied()) finish();
    });
    client.start();
  });
}

function newObservation(client: WsClient, startedAt: number): WsObservation {
  return {
    url: client.stats().url,
    startedAt,
    endedAt: startedAt,
    openedAt: null,
    handshakeMs: null,
    closedByServer: null,
    closes: [],
    closeDiagnosis: null,
    noAnswer: false,
    stats: client.stats(),
    types: new Map(),
    heartbeat: { seen: null, last: null, flags: null, flagsAt: null },
    errorMessages: { count: 0, first: null },
    clock: { heartbeat: null, payload: null, samples: 0 },
  };
}

/** Every periodic feature, account-scoped ones too: whether or not they would reach this socket, the closes may keep time with one of them. */
function closeDiagnosisOf(obs: WsObservation, config: Config, speed: number): WsObservation['closeDiagnosis'] {
  return diagnoseCloses(obs.closes, config.features.filter((f) => f.cadence === 'periodic').map((f) => ({
    type: f.wsTypes[0]!, feature: f.name, intervalMs: f.intervalMs / speed,
    messages: f.wsTypes.reduce((n, t) => n + (obs.types.get(t)?.count ?? 0), 0),
  })));
}

/** The backend's clock against ours: the largest skew of a time stamp the backend makes when it sends. */
function sampleClock(obs: WsObservation, source: 'heartbeat' | 'payload', ts: unknown, at: number): void {
  const t = parseTimestamp(ts);
  if (t === null) return;
  const skew = t - at;
  obs.clock.samples += 1;
  obs.clock[source] = obs.clock[source] === null ? skew : Math.max(obs.clock[source]!, skew);
}

/** One message: counted by type; a heartbeat (its data, the flags it reports), an error_message, or a payload's clock. */
function recordMessage(obs: WsObservation, m: WsMessage, byType: Map<string, FeatureConfig>): void {
  const seen = obs.types.get(m.type);
  if (seen) { seen.count += 1; seen.lastAt = m.at; } else obs.types.set(m.type, { count: 1, firstAt: m.at, lastAt: m.at });
  const data = isObject(m.data) ? m.data : null;
  if (m.type === 'heartbeat') {
    obs.heartbeat.seen = obs.types.get('heartbeat')!;
    obs.heartbeat.last = data;
    if (data) sampleClock(obs, 'heartbeat', data.timestamp, m.at);
    const flags = data ? heartbeatFlags(data) : null;
    if (flags) {
      obs.heartbeat.flags = flags;
      obs.heartbeat.flagsAt = m.at;
    }
  } else if (m.type === 'error_message') {
    obs.errorMessages.count += 1;
    obs.errorMessages.first ??= errorMessageOf(m.data).message.slice(0, 120);
  } else {
    const f = byType.get(m.type);
    // Only a payload stamped when it is made says what time the backend thinks it is (not a bar's minute).
    if (f && data && f.cadence === 'periodic' && f.versionField === 'timestamp') sampleClock(obs, 'payload', data.timestamp, m.at);
  }
}
