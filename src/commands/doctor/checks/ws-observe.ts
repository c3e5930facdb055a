import type { Config, FeatureConfig } from '../../../config/types.js';
import { untilAborted } from '../../../abort.js';
import { isObj } from '../../../config/read.js';
import { diagnoseCloses, type CloseDiagnosis, type CloseRecord } from '../../../stream/closes.js';
import { WsClient, type WsClientStats, type WsMessage } from '../../../stream/ws-client.js';
import { WsTally, type Seen, type SideMessage } from '../../../stream/ws-intake.js';

/**
 * doctor's look at the socket: one connection watched until every type, a heartbeat and a pong
 * arrived, tallied by the same intake as the engine's (stream/ws-intake.ts); checks/ws.ts judges it.
 */

/**
 * Added to "two intervals" before a first message counts as late: timers and the event loop
 * on both ends jitter, which matters only at rehearsal speeds where an interval is 50 ms.
 */
export const ARRIVAL_GRACE_MS = 250;
/** Protocol and WS pings while watching; the first goes out one interval after the handshake. */
export const PING_EVERY_MS = 250;

export type { Seen };

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

type Own = Pick<WsObservation, 'openedAt' | 'handshakeMs' | 'clock'>;

/** The client doctor watches with: pings often, never gives up on a silent socket, reconnects after a server's close. */
function wsClientFor(plan: WsPlan, startedAt: number): WsClient {
  const { backend } = plan.config;
  const windowMs = plan.until - startedAt;
  return new WsClient({
    url: backend.wsUrl,
    token: backend.token,
    tokenIn: backend.tokenIn,
    handshakeTimeoutMs: Math.max(100, Math.min(backend.timeoutMs, windowMs)),
    pingIntervalMs: PING_EVERY_MS,
    // A missing WS pong is reported, not acted on: the socket stays up for the whole window.
    pongTimeoutMs: Math.max(1_000, windowMs + 1_000),
    staleAfterMs: Math.max(1_000, windowMs + 1_000),
    // A server that closes the socket is given another (backed off) try, so a close that
    // repeats (a consumer that raises on every broadcast of a type) shows as the loop it is.
    reconnect: true,
    backoff: { initialMs: Math.max(50, 250 / plan.speed), maxMs: Math.max(500, 2_000 / plan.speed) },
  });
}

/**
 * One connection (tried again after a server's close): watch until every expected type, a
 * heartbeat and a pong have arrived, or until the window ends or Ctrl-C. Never throws for
 * what a server does wrong.
 */
export async function observeWs(plan: WsPlan): Promise<WsObservation> {
  const { config } = plan;
  const startedAt = Date.now();
  const client = wsClientFor(plan, startedAt);
  const tally = new WsTally();
  const byType = featureOfType(config);
  const waitFor = awaited(config);
  // What doctor keeps beside the tally: the first open, and the backend's clock.
  const own: Own = { openedAt: null, handshakeMs: null, clock: { heartbeat: null, payload: null, samples: 0 } };
  // Aborted once there is nothing more to wait for: everything arrived, or nothing more can.
  const done = new AbortController();
  const satisfied = () =>
    own.openedAt !== null
    && Date.now() - own.openedAt >= plan.minWatchMs
    && tally.closes.length === 0
    && tally.heartbeat.count > 0
    && client.stats().rtt.protocol.count > 0
    && waitFor.every((f) => f.wsTypes.some((t) => tally.types.has(t)));

  // WsClient re-emits socket errors as events: without a listener an 'error' event would throw.
  client.on('error', () => {});
  client.on('open', (e) => { own.openedAt ??= e.at; own.handshakeMs ??= e.handshakeMs; });
  client.on('close', (e) => {
    if (done.signal.aborted) return;
    tally.close(e);
    // Credentials refused, or a socket that never opened: reconnecting shows nothing more.
    if (client.authFailed || !e.wasOpen) done.abort();
  });
  client.on('pong', () => { if (satisfied()) done.abort(); });
  client.on('message', (m: WsMessage) => {
    if (done.signal.aborted) return;
    sampleClock(own.clock, m, tally.message(m), byType);
    if (satisfied()) done.abort();
  });
  client.start();
  await untilAborted(AbortSignal.any([plan.signal, done.signal]), Math.max(0, plan.until - Date.now()));
  done.abort();
  const obs = observationOf(tally, client, startedAt, own);
  obs.closeDiagnosis = closeDiagnosisOf(obs, config, plan.speed);
  await client.stop();
  return obs;
}

/** What the tally and the client saw, as the checks read it (copied: the client's own close comes after). */
function observationOf(tally: WsTally, client: WsClient, startedAt: number, own: Own): WsObservation {
  const stats = client.stats();
  const first = tally.closes[0];
  const hb = tally.heartbeat;
  return {
    url: stats.url,
    startedAt,
    endedAt: Date.now(),
    ...own,
    closedByServer: first ? { code: first.code, reason: first.reason, at: first.at } : null,
    closes: [...tally.closes],
    closeDiagnosis: null,
    noAnswer: own.openedAt === null && stats.lastHandshakeStatus === null && stats.lastClose === null,
    stats,
    types: new Map(tally.types),
    heartbeat: { seen: tally.types.get('heartbeat') ?? null, last: hb.last, flags: hb.flags, flagsAt: hb.flagsAt },
    errorMessages: { count: tally.errors.count, first: tally.errors.first?.message.slice(0, 120) ?? null },
  };
}

/** Every periodic feature, account-scoped ones too: whether or not they would reach this socket, the closes may keep time with one of them. */
function closeDiagnosisOf(obs: WsObservation, config: Config, speed: number): WsObservation['closeDiagnosis'] {
  return diagnoseCloses(obs.closes, config.features.filter((f) => f.cadence === 'periodic').map((f) => ({
    type: f.wsTypes[0]!, feature: f.name, intervalMs: f.intervalMs / speed,
    messages: f.wsTypes.reduce((n, t) => n + (obs.types.get(t)?.count ?? 0), 0),
  })));
}

/**
 * The backend's clock against ours: the largest skew of a time stamp the backend makes when
 * it sends, a heartbeat's or a periodic payload's stamped when it is made (not a bar's minute).
 */
function sampleClock(clock: WsObservation['clock'], m: WsMessage, side: SideMessage | null, byType: Map<string, FeatureConfig>): void {
  let source: 'heartbeat' | 'payload';
  let ts: unknown;
  if (side?.kind === 'heartbeat') {
    if (!side.data) return;
    source = 'heartbeat';
    ts = side.data.timestamp;
  } else if (side?.kind === 'error_message') {
    return;
  } else {
    const f = byType.get(m.type);
    const data = m.data as Record<string, unknown> | null;
    if (!f || !isObj(data) || f.cadence !== 'periodic' || f.versionField !== 'timestamp') return;
    source = 'payload';
    ts = data.timestamp;
  }
  const t = parseTimestamp(ts);
  if (t === null) return;
  const skew = t - m.at;
  clock.samples += 1;
  clock[source] = clock[source] === null ? skew : Math.max(clock[source]!, skew);
}
