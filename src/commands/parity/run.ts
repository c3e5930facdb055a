import { createWriteStream, type WriteStream } from 'node:fs';
import { redactUrl } from '../../redact.js';
import { resolve } from 'node:path';
import { findFeature } from '../../config/load.js';
import type { Config, FeatureConfig } from '../../config/types.js';
import { ConnectionError, ExitCode, UsageError } from '../../errors.js';
import { startRunMetrics } from '../../metrics/index.js';
import { createEngine, type Engine } from '../../stream/engine.js';
import { authFailureError, runUntil } from '../../stream/run-until.js';
import { describeFlagChange, FlagFollower, type FlagChange } from '../../stream/flags.js';
import { openStore } from '../../store/index.js';
import { resolveFlags } from '../../store/effective.js';
import type { FlagStore } from '../../store/types.js';
import type { SeriesSnapshot } from '../../stream/series.js';
import type { ConnectionSnapshot, EngineSnapshot, FeatureStats, Finding, SessionSnapshot, StreamEvent } from '../../stream/types.js';
import type { CommandContext } from '../context.js';
import type { MetricsFlags } from '../../metrics/index.js';
import { untilAborted } from '../../abort.js';

export interface ParitySession {
  label: string;
  index: number;
  partial: boolean;
  openedAt: string;
  closedAt: string | null;
  findings: Finding[];
  features: { name: string; messages: number; intervalP95Ms: number | null; compared: number; mismatched: number; restErrors: number }[];
}

export interface ParityReport {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  stoppedBy: 'duration' | 'sessions' | 'interrupted';
  speed: number;
  backend: { url: string; wsUrl: string };
  eventsFile: string | null;
  features: FeatureStats[];
  connection: ConnectionSnapshot;
  unknownTypes: string[];
  sessions: ParitySession[];
  sessionsCompleted: number;
  findings: Finding[];
  /** Features none of whose REST polls could be compared with WS: too little to judge. */
  notCompared: string[];
  /** Flag changes seen during the run (Redis and the backend's heartbeat): shown, not judged. */
  flagChanges: FlagChange[];
  /** No finding, and every feature compared at least once. */
  ok: boolean;
  exitCode: number;
}

export interface ParityHooks {
  /** Called about once a second with the engine's numbers (the live view). */
  onTick?: (s: EngineSnapshot) => void;
  /** A line for the person at the terminal (stderr): a flag that changed under the run. */
  note?: (text: string) => void;
  /** The run over time, at the end (asking for it makes the engine keep it: --report). */
  series?: (s: SeriesSnapshot) => void;
  /** `--events -`: every event as it happens, for the renderer to print (NDJSON on stdout). */
  event?: (e: StreamEvent) => void;
}

function resolveFeatures(config: Config, names: string[]): FeatureConfig[] {
  if (names.length === 0) return config.features;
  const seen = new Set<string>();
  const out: FeatureConfig[] = [];
  for (const n of names) {
    const f = findFeature(config, n);
    if (!seen.has(f.name)) { seen.add(f.name); out.push(f); }
  }
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One event as the --events line (NDJSON): its time as ISO, then the event's fields. */
export function eventLine(e: StreamEvent): string {
  return JSON.stringify({ time: iso(e.at), ...e }) + '\n';
}

function sessionSummary(s: SessionSnapshot): ParitySession {
  return {
    label: s.session.label,
    index: s.session.index,
    partial: s.session.partial,
    openedAt: iso(s.session.openedAt),
    closedAt: s.session.closedAt === null ? null : iso(s.session.closedAt),
    findings: s.findings,
    features: s.features.map((f) => ({
      name: f.name, messages: f.ws.messages, intervalP95Ms: f.interval?.p95 ?? null, compared: f.match.compared, mismatched: f.match.mismatched, restErrors: f.rest.errors,
    })),
  };
}

export interface ParityOptions extends MetricsFlags {
  duration?: number;
  sessions?: number;
  speed: number;
  events?: string;
  maxMismatchRate?: number;
  jitter?: number;
  json?: boolean;
  report?: string;
}

/** Run the engine until --duration, --sessions or Ctrl-C, then return what it saw. */
export async function runParity(ctx: CommandContext, names: string[], o: ParityOptions, hooks: ParityHooks = {}): Promise<ParityReport> {
  const { io } = ctx;
  const features = resolveFeatures(ctx.config, names);
  const { config } = ctx;
  if (!config.backend.wsUrl) throw new UsageError('no WebSocket URL', 'pass --ws-url or --url');
  const speed = o.speed ?? 1;
  const engine = createEngine({ config, features, speed, maxMismatchRate: o.maxMismatchRate, slackMs: o.jitter, series: Boolean(hooks.series) });
  const metrics = await startRunMetrics(o, io, { command: 'parity', config, features, snapshot: () => engine.snapshot() });

  let sink: EventsSink;
  try {
    sink = await eventsSink(engine, o.events, io, hooks.event);
  } catch (err) {
    await metrics?.close();
    throw err;
  }
  const { stream: events, path: eventsPath } = sink;

  // Flags are followed, not judged: parity compares WS and REST whatever the flags say,
  // but a change under the run explains what follows it. Without a reachable Redis, the
  // backend's heartbeat is still followed.
  // Opened while the engine connects: an unreachable Redis must not delay the run.
  const storeReady = openStore(config, { oneShot: false }).catch((err: Error): null => {
    hooks.note?.(`flags: not followed in ${redactUrl(config.redis.url)} (${err.message.split('\n')[0]}); only the backend's heartbeat is`);
    return null;
  });
  const startedAt = Date.now();
  const contact = await Promise.race([engine.start(), untilAborted(io.interrupted).then(() => null)]);
  const store: FlagStore | null = await storeReady;
  const initial = resolveFlags(config.features, store ? (await store.snapshot().catch(() => ({ raw: {} }))).raw : {}, io.env);
  const follower = new FlagFollower({
    features, initial, store, env: io.env, pollMs: Math.max(250, 2_000 / speed),
    onChange: (c) => hooks.note?.(`flag changed: ${describeFlagChange(c)}`),
  });
  const closeAll = async () => { await Promise.all([engine.stop(), follower.stop()]); await store?.close(); await closeStream(events); };
  const refused = engine.wsClient?.authFailed;
  if (refused) {
    await closeAll();
    await metrics?.close();
    throw authFailureError(refused, config.backend, config.backend.wsUrl);
  }
  if (contact && !contact.ws && !contact.rest) {
    await closeAll();
    await metrics?.close();
    throw unreachable(config, contact);
  }

  await follower.start(engine);
  const outcome = await runUntil(engine, {
    durationMs: o.duration ? o.duration - (Date.now() - startedAt) : null,
    sessions: o.sessions ?? null,
    signal: io.interrupted,
    ...(hooks.onTick ? { onTick: hooks.onTick } : {}),
  });
  await closeAll();
  if (outcome.end === 'auth') {
    await metrics?.close();
    throw authFailureError(outcome.auth!, config.backend, config.backend.wsUrl);
  }
  const stoppedBy: ParityReport['stoppedBy'] = outcome.end === 'sessions' ? 'sessions' : outcome.end === 'duration' ? 'duration' : 'interrupted';

  if (engine.series) hooks.series?.(engine.series.snapshot());
  const snap = engine.snapshot();
  await metrics?.finish(snap, io.interrupted);
  return parityReport(config, snap, { startedAt, stoppedBy, speed, eventsPath, flagChanges: follower.changes });
}

/** What the run saw, judged: findings fail it; a feature never compared makes it inconclusive. */
function parityReport(config: Config, snap: EngineSnapshot, r: { startedAt: number; stoppedBy: ParityReport['stoppedBy']; speed: number; eventsPath: string | null; flagChanges: ParityReport['flagChanges'] }): ParityReport {
  const findings = snap.overall.findings;
  // Agreement needs evidence: a feature none of whose REST polls could be compared with WS
  // (a run shorter than its interval, say) has not agreed; it is "too little to judge".
  const notCompared = snap.overall.features.filter((f) => f.match.compared === 0).map((f) => f.name);
  const exitCode = r.stoppedBy === 'interrupted' ? ExitCode.INTERRUPTED
    : findings.length ? ExitCode.FAILED
    : notCompared.length ? ExitCode.INCONCLUSIVE
    : ExitCode.OK;
  return {
    startedAt: iso(r.startedAt),
    finishedAt: iso(snap.at),
    durationMs: snap.at - r.startedAt,
    stoppedBy: r.stoppedBy,
    speed: r.speed,
    backend: { url: redactUrl(config.backend.url), wsUrl: redactUrl(snap.connection.url) },
    eventsFile: r.eventsPath,
    features: snap.overall.features,
    connection: snap.connection,
    unknownTypes: snap.unknownTypes,
    sessions: snap.sessions.map(sessionSummary),
    sessionsCompleted: snap.sessionsCompleted,
    findings,
    notCompared,
    flagChanges: r.flagChanges,
    ok: findings.length === 0 && notCompared.length === 0,
    exitCode,
  };
}

function unreachable(config: Config, contact: { wsError?: string | null; restError?: string | null }): ConnectionError {
  return new ConnectionError(
    `cannot reach the backend: WebSocket ${redactUrl(config.backend.wsUrl)}: ${contact.wsError ?? 'failed'}; REST ${redactUrl(config.backend.url)}: ${contact.restError ?? 'failed'}`,
    'is the backend running? check --url / --ws-url (or THOR_CUTOVER_URL); thor-cutover doctor checks each part',
  );
}

interface EventsSink { stream: WriteStream | null; path: string | null }

/** --events: every event as one JSON line, to the renderer ("-", stdout) or appended to a file (opened before the run starts). */
async function eventsSink(engine: Engine, events: string | undefined, io: CommandContext['io'], print: ParityHooks['event']): Promise<EventsSink> {
  if (events === '-') {
    if (print) engine.onAny(print);
    return { stream: null, path: null };
  }
  if (!events) return { stream: null, path: null };
  const path = resolve(io.cwd, events);
  const file = createWriteStream(path, { flags: 'a' });
  try {
    await new Promise<void>((ok, fail) => { file.once('open', () => ok()); file.once('error', fail); });
  } catch (err) {
    throw new UsageError(`cannot write events to ${path}: ${(err as Error).message}`, 'check the path given with --events');
  }
  engine.onAny((e: StreamEvent) => { file.write(eventLine(e)); });
  return { stream: file, path };
}

function closeStream(s: WriteStream | null): Promise<void> {
  if (!s) return Promise.resolve();
  return new Promise((r) => s.end(() => r()));
}
