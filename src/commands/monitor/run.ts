import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CommandContext } from '../context.js';
import type { MonitorBeat } from '../../store/types.js';
import { resolveActor } from '../context.js';
import type { FeatureConfig } from '../../config/types.js';
import { ExitCode, UsageError } from '../../errors.js';
import { startRunMetrics, type MetricsFlags } from '../../metrics/index.js';
import { resolveFlags, type FeatureFlag } from '../../store/effective.js';
import { openStore } from '../../store/index.js';
import { storeKeys } from '../../store/keys.js';
import type { FlagStore } from '../../store/types.js';
import { createEngine, type SessionSnapshot } from '../../stream/index.js';
import { FlagFollower } from '../../stream/flags.js';
import { authFailureError, contactError, runUntil } from '../../stream/run-until.js';
import { writeRecords, type VerifyRecord } from '../../store/verify-record.js';
import { judgeSession, selectFeatures, trackBeforeOpen, type SessionResult } from '../../checklist/session.js';

export interface MonitorOptions extends MetricsFlags {
  features: string[];
  shadow: boolean;
  sessionLengthMs: number | null;
  speed: number;
  jitterMs: number | null;
  actor?: string;
  recordTimeoutMs: number;
}

export interface MonitorHooks {
  note?(text: string): void;
}

export type { MonitorBeat } from '../../store/types.js';

export interface MonitorReport {
  runId: string;
  startedAt: string;
  finishedAt: string;
  features: string[];
  sessionsRecorded: number;
  /** The session open when it stopped, recorded as partial (never counted by gate or enable). */
  partial: string | null;
  resets: number;
  exitCode: number;
}

/** The heartbeat is renewed this often and lives three times as long: a killed monitor shows as gone within seconds. */
const BEAT_EVERY_MS = 2_000;
const BEAT_TTL_MS = 3 * BEAT_EVERY_MS;
/** How often the flags are read back to notice a store that forgot them (a FLUSHALL, a restart without persistence). */
const RESET_WATCH_MS = 250;
const KEEP_RECORDED = 20;

/**
 * Runs until stopped and records each completed session's checklist verdict when the
 * session ends, one record per feature per session in `<prefix>:verify:<feature>`: a run
 * killed in session 2 keeps session 1. Started again, the session under way is partial (the
 * engine's rule), so nothing is counted twice or from half a session. SIGTERM and Ctrl-C
 * record the open session as partial, for the record only.
 */
export async function runMonitor(ctx: CommandContext, opts: MonitorOptions, hooks: MonitorHooks = {}): Promise<MonitorReport> {
  const { config, io } = ctx;
  if (!(opts.speed > 0)) throw new UsageError('--speed takes a number above zero');
  const actor = await resolveActor(io, opts.actor);
  const store = await openStore(config, { oneShot: false });
  const note = (t: string) => hooks.note?.(t);
  try {
    const snap = await store.snapshot();
    const flags = resolveFlags(config.features, snap.raw, io.env);
    const features = selectFeatures(config, opts.features, opts.shadow, flags);
    return await watch(ctx, store, opts, features, flags, actor, note);
  } finally {
    await store.close();
  }
}

async function watch(
  ctx: CommandContext, store: FlagStore, opts: MonitorOptions, features: FeatureConfig[], flags: FeatureFlag[], actor: string, note: (t: string) => void,
): Promise<MonitorReport> {
  const { config, io } = ctx;
  const runId = randomBytes(6).toString('hex');
  const startedAt = Date.now();
  const mode = opts.sessionLengthMs !== null ? 'fixed' : 'market';
  const engine = createEngine({ config, features, speed: opts.speed, ...(opts.jitterMs !== null ? { slackMs: opts.jitterMs } : {}), sessions: sessionsOf(opts) });
  const metrics = await startRunMetrics(opts, io, { command: 'monitor', config, features, snapshot: () => engine.snapshot() });
  // As verify: a session whose flag changed under it fails its precondition; missed beats from before the open are not the session's.
  const follower = new FlagFollower({ features, initial: flags, store, env: io.env, pollMs: Math.max(250, 2_000 / opts.speed) });
  const keys = storeKeys(config.redis.prefix);
  const { beforeOpen } = trackBeforeOpen(engine);
  engine.onEvent('session-open', (e) => note(`monitor: ${e.session.label} open${e.session.partial ? ' (under way when the monitor connected: partial, not recorded)' : ''}`));

  const recorded: MonitorBeat['recorded'] = [];
  let sessionsRecorded = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const record = (s: SessionSnapshot, partial: boolean) => {
    const judged = judgeSession(s, { features, beforeOpen, probe: null, follower, shadow: opts.shadow });
    const closedAt = s.session.closedAt ?? Date.now();
    const records = recordsOf(judged, { runId, actor, mode, partial, closedAt, opts, market: config.market.country });
    const withSource = records.map((r) => ({ ...r, source: 'monitor', partial }));
    // One write at a time, in order; each retried while Redis is away (verify's writer).
    writing = writing.then(async () => {
      const out = await writeRecords(store, withSource, keys.verify, opts.recordTimeoutMs, note, partial ? undefined : io.interrupted);
      const failed = out.filter((o) => !o.written);
      const verdicts = Object.fromEntries(judged.features.map((f) => [f.feature, partial ? 'partial' : f.verdict]));
      if (failed.length) note(`monitor: could not record ${judged.label} for ${failed.map((f) => f.feature).join(', ')}: ${failed[0]!.error}`);
      else note(`monitor: recorded ${partial ? 'partial ' : ''}${judged.label}: ${Object.entries(verdicts).map(([f, v]) => `${f} ${v}`).join(', ')}`);
      if (!partial) {
        sessionsRecorded += 1;
        recorded.push({ label: judged.label, closedAt: new Date(closedAt).toISOString(), verdicts });
        if (recorded.length > KEEP_RECORDED) recorded.shift();
        // status shows it now, not at the next beat.
        await beat();
      }
    });
  };
  engine.onEvent('session-close', (e) => {
    const s = e.session.partial ? undefined : engine.snapshot().sessions.find((x) => x.session.index === e.session.index && !x.session.partial);
    if (s) record(s, false);
  });

  const beat = () => store.beat(beatOf(runId, startedAt, features, opts.shadow, recorded), BEAT_TTL_MS)
    .catch(() => { /* Redis away: the next beat tries again; records retry on their own */ });

  const storeWatch = watchForReset(store, note);
  const failure = contactError(engine, await engine.start(), config.backend);
  if (failure) {
    await engine.stop();
    await metrics?.close();
    throw failure;
  }
  await follower.start(engine);
  note(`monitor: watching ${features.map((f) => f.name).join(', ')} on ${engine.snapshot().connection.url}; recording each ${mode === 'market' ? `${config.market.country} market session` : 'window'} as it ends (run ${runId}; SIGTERM or Ctrl-C stops)`);
  await Promise.all([beat(), storeWatch.check()]);
  const timers = [setInterval(() => void beat(), BEAT_EVERY_MS), setInterval(() => void storeWatch.check(), RESET_WATCH_MS)];

  // Until Ctrl-C or SIGTERM; a token the backend refuses mid-run ends it too (runUntil says which).
  const outcome = await runUntil(engine, { signal: io.interrupted });
  for (const t of timers) clearInterval(t);
  await Promise.all([engine.stop(), follower.stop()]);
  if (outcome.end === 'auth') {
    await writing;
    await metrics?.close();
    throw authFailureError(outcome.auth!, config.backend, config.backend.wsUrl);
  }
  const final = engine.snapshot();
  const openSession = final.sessions.find((s) => s.session.closedAt === null && !s.session.partial) ?? null;
  if (openSession) record(openSession, true);
  await writing;
  await metrics?.finish(final, io.interrupted);
  await store.beat({}, 1).catch(() => undefined);
  return {
    runId, startedAt: new Date(startedAt).toISOString(), finishedAt: new Date().toISOString(), features: features.map((f) => f.name),
    sessionsRecorded, partial: openSession?.session.label ?? null, resets: storeWatch.resets(), exitCode: ExitCode.OK,
  };
}

/** What the heartbeat key holds while the monitor runs: `status` shows it. */
function beatOf(runId: string, startedAt: number, features: FeatureConfig[], shadow: boolean, recorded: MonitorBeat['recorded']): MonitorBeat {
  return {
    runId, pid: process.pid, host: hostname(), startedAt: new Date(startedAt).toISOString(), beatAt: new Date().toISOString(),
    features: features.map((f) => f.name), shadow, recorded,
  };
}

/** Market sessions, or fixed windows with --session-length. */
function sessionsOf(opts: MonitorOptions): { mode: 'fixed'; lengthMs: number } | { mode: 'market' } {
  return opts.sessionLengthMs !== null ? { mode: 'fixed', lengthMs: opts.sessionLengthMs } : { mode: 'market' };
}

/** One stored record per feature for a session the monitor judged (a partial one never counts for the gate). */
function recordsOf(judged: SessionResult, r: { runId: string; actor: string; mode: 'market' | 'fixed'; partial: boolean; closedAt: number; opts: MonitorOptions; market: string }): VerifyRecord[] {
  const { partial, opts } = r;
  return judged.features.map((fr) => ({
    schemaVersion: 1, runId: r.runId, feature: fr.feature,
    verdict: partial ? 'inconclusive' : fr.verdict,
    startedAt: judged.openedAt, finishedAt: new Date(r.closedAt).toISOString(),
    sessions: partial ? 0 : 1, sessionsRequired: 1, shadow: opts.shadow, actor: r.actor, speed: opts.speed,
    sessionMode: r.mode, market: r.market, stopReason: partial ? 'interrupted' : 'sessions',
    items: fr.items.map(({ check, status, summary, detail }) => ({ check, status, summary, detail })),
    // A partial session carries no closedAt: gate and enable never count it.
    sessionResults: [{ index: judged.index, label: judged.label, openedAt: judged.openedAt, closedAt: partial ? null : judged.closedAt, verdict: fr.verdict, messages: fr.messages, items: fr.items }],
    problems: fr.items.filter((i) => i.status === 'fail' || i.status === 'inconclusive').map((i) => `${fr.feature} ${i.check}: ${i.detail ?? i.summary}, ${judged.label}`),
  }));
}

/** A store that forgets while we watch: the flags hash lost fields, or the rev went back. */
function watchForReset(store: FlagStore, note: (t: string) => void): { check(): Promise<void>; resets(): number } {
  let last: { fields: Set<string>; rev: number } | null = null;
  let resets = 0;
  const check = async () => {
    let snap;
    try { snap = await store.snapshot(); } catch { return; }
    const fields = new Set(Object.keys(snap.raw));
    if (last) {
      const lost = [...last.fields].filter((f) => !fields.has(f));
      if (lost.length || snap.rev < last.rev) {
        resets += 1;
        note(`monitor: the flag store looks reset: ${lost.length ? `the flags hash lost ${lost.join(', ')}` : ''}${lost.length && snap.rev < last.rev ? '; ' : ''}${snap.rev < last.rev ? `rev went from ${last.rev} to ${snap.rev}` : ''}; backends now read these flags from their env vars or as off (thor-cutover history shows what they were)`);
      }
    }
    last = { fields, rev: snap.rev };
  };
  return { check, resets: () => resets };
}
