import { redactUrl } from '../../redact.js';
import type { CommandContext } from '../context.js';
import { resolveActor } from '../context.js';
import type { FeatureConfig } from '../../config/types.js';
import { UsageError } from '../../errors.js';
import { formatDuration } from '../../output/format.js';
import { startRunMetrics } from '../../metrics/index.js';
import { openStore } from '../../store/index.js';
import { storeKeys } from '../../store/keys.js';
import { resolveFlags, type FeatureFlag } from '../../store/effective.js';
import type { FlagStore } from '../../store/types.js';
import { writeRecords } from '../../store/verify-record.js';
import { closeDiagnosis, createEngine, type Engine, type EngineSnapshot } from '../../stream/index.js';
import { backendNeverAgreed, FlagFollower } from '../../stream/flags.js';
import { authFailureError, contactError, runUntil } from '../../stream/run-until.js';
import { ScopingProbe } from '../../checklist/probe.js';
import { judgeSession, selectFeatures, trackBeforeOpen, type StopReason } from '../../checklist/session.js';
import { buildReport, recordOf, type BuildInput } from './build.js';
import type { Progress, VerifyHooks, VerifyOptions, VerifyReport } from './types.js';

export type { FeatureResult, Problem, Progress, VerifyHooks, VerifyOptions, VerifyReport } from './types.js';
export type { FeatureSessionResult, SessionResult, StopReason } from '../../checklist/session.js';

export async function runVerify(ctx: CommandContext, opts: VerifyOptions, hooks: VerifyHooks = {}): Promise<VerifyReport> {
  const { config, io } = ctx;
  if (!(opts.sessions >= 1)) throw new UsageError('--sessions takes a whole number >= 1');
  if (!(opts.speed > 0)) throw new UsageError('--speed takes a number above zero');
  const actor = await resolveActor(io, opts.actor);
  // Long-lived: the verdict is written at the end, and Redis may have come and gone by then.
  const store = await openStore(config, { oneShot: false });
  try {
    const snap = await store.snapshot();
    const flags = resolveFlags(config.features, snap.raw, io.env);
    const features = selectFeatures(config, opts.features, opts.shadow, flags);
    const report = await observe(ctx, opts, hooks, features, flags, actor, store);
    const keys = storeKeys(config.redis.prefix);
    report.records = await writeRecords(store, features.map((f) => recordOf(report, f.name)), keys.verify, opts.recordTimeoutMs, hooks.note, io.interrupted);
    return report;
  } finally {
    await store.close();
  }
}

/** The engine, the anonymous probe (scoping) and the flag follower of one verify run. */
interface Watch {
  engine: Engine;
  probe: ScopingProbe | null;
  follower: FlagFollower;
  tracker: ReturnType<typeof trackBeforeOpen>;
  stopAll(): Promise<unknown>;
}

function watchFor(ctx: CommandContext, opts: VerifyOptions, hooks: VerifyHooks, features: FeatureConfig[], flags: FeatureFlag[], store: FlagStore): Watch {
  const { config, io } = ctx;
  const engine = createEngine({
    config,
    features,
    speed: opts.speed,
    ...(opts.jitterMs !== null ? { slackMs: opts.jitterMs } : {}),
    sessions: opts.sessionLengthMs !== null ? { mode: 'fixed', lengthMs: opts.sessionLengthMs } : { mode: 'market' },
    series: Boolean(hooks.series),
  });
  const scoped = config.backend.token ? features.filter((f) => f.accountScoped) : [];
  const probe = scoped.length ? new ScopingProbe(config.backend.wsUrl, scoped, config.backend.timeoutMs, opts.speed) : null;
  const follower = new FlagFollower({
    features, initial: flags, store, env: io.env, pollMs: opts.flagPollMs ?? Math.max(250, 2_000 / opts.speed),
  });
  const tracker = trackBeforeOpen(engine);
  engine.onEvent('session-open', (e) => probe?.sessionOpened(e.session.partial ? -1 : e.session.index));
  engine.onEvent('session-close', () => probe?.sessionClosed());
  return { engine, probe, follower, tracker, stopAll: () => Promise.all([engine.stop(), probe?.stop(), follower.stop()]) };
}

/** A backend whose heartbeat disagrees from the start does not read this store: say so once per feature. */
function noteForeignFlags(ctx: CommandContext, opts: VerifyOptions, hooks: VerifyHooks, w: Watch, features: FeatureConfig[]): void {
  const told = new Set<string>();
  w.engine.onEvent('backend-flags', () => {
    for (const f of features) {
      const c = told.has(f.name) ? null : backendNeverAgreed(w.follower, f.name, !opts.shadow);
      if (!c) continue;
      told.add(f.name);
      hooks.note?.(`note: the backend's heartbeat reports ${f.name} ${c.to ? 'on' : 'off'}, and this run expects it ${c.to ? 'off' : 'on'}: does the backend read the flags from ${redactUrl(ctx.config.redis.url)} (prefix ${ctx.config.redis.prefix})? thor-cutover doctor checks`);
    }
  });
}

/** Three market_status beats (rehearsal-speed) without one for our market: worth a word. */
function noteSilentMarket(ctx: CommandContext, opts: VerifyOptions, hooks: VerifyHooks, engine: Engine): NodeJS.Timeout {
  const statusEvery = ctx.config.features.find((f) => f.name === 'global_market')?.intervalMs ?? 10_000;
  const silentMs = Math.max(5_000, (3 * statusEvery) / opts.speed);
  return setTimeout(() => {
    const s = engine.snapshot();
    if (s.sessionMode !== 'market' || s.marketStatus !== null) return;
    const closes = closeDiagnosis(s.overall.features, s.overall.connection);
    // A socket that keeps closing is the likelier cause than a wrong country.
    hooks.note?.(closes && closes.closes > 1
      ? `no market_status for ${ctx.config.market.country} has arrived in ${formatDuration(silentMs)}: ${closes.text}; still waiting (${closes.hint})`
      : `no market_status for ${ctx.config.market.country} (market.country in the config) has arrived in ${formatDuration(silentMs)}; still waiting (check the country, or use --session-length for fixed windows)`);
  }, silentMs);
}

function progressTick(opts: VerifyOptions, w: Watch, startedAt: number, progress: (p: Progress) => void): (s: EngineSnapshot) => void {
  return (s) => {
    const o = w.tracker.current();
    progress({
      completed: s.sessionsCompleted,
      required: opts.sessions,
      open: o !== null,
      marketStatus: s.marketStatus,
      elapsedMs: Date.now() - (o?.openedAt ?? startedAt),
      messages: s.overall.features.reduce((n, f) => n + f.ws.messages, 0),
      mismatches: s.overall.features.reduce((n, f) => n + f.match.mismatched, 0),
    });
  };
}

async function observe(
  ctx: CommandContext, opts: VerifyOptions, hooks: VerifyHooks, features: FeatureConfig[], flags: FeatureFlag[], actor: string, store: FlagStore,
): Promise<VerifyReport> {
  const { config, io } = ctx;
  const mode = opts.sessionLengthMs !== null ? 'fixed' : 'market';
  const w = watchFor(ctx, opts, hooks, features, flags, store);
  const { engine, follower, probe } = w;
  const metrics = await startRunMetrics(opts, io, { command: 'verify', config, features, snapshot: () => engine.snapshot() });
  const startedAt = Date.now();
  probe?.start();
  const failure = contactError(engine, await engine.start(), config.backend);
  if (failure) {
    await w.stopAll();
    await metrics?.close();
    throw failure;
  }
  await follower.start(engine);
  noteForeignFlags(ctx, opts, hooks, w, features);
  hooks.started?.({ features: features.map((f) => f.name), sessions: opts.sessions, mode, market: config.market.country, url: engine.snapshot().connection.url });

  const b: BuildInput = { config, opts, features, flags, actor, startedAt, stopReason: 'sessions', snapshot: engine.snapshot(), beforeOpen: w.tracker.beforeOpen, probe, mode, follower };
  const silent = noteSilentMarket(ctx, opts, hooks, engine);
  const outcome = await runUntil(engine, {
    sessions: opts.sessions,
    maxWaitMs: opts.maxWaitMs,
    signal: io.interrupted,
    // A counted session that failed decides the verdict: waiting for more cannot change it.
    onSessionClose: (sess) => !opts.keepGoing && !sess.session.partial && judgeSession(sess, { ...b, shadow: opts.shadow }).verdict === 'fail',
    ...(hooks.progress ? { onTick: progressTick(opts, w, startedAt, hooks.progress) } : {}),
  });
  clearTimeout(silent);
  await w.stopAll();
  if (outcome.end === 'auth') {
    await metrics?.close();
    throw authFailureError(outcome.auth!, config.backend, config.backend.wsUrl);
  }
  const stopReason: StopReason = outcome.end === 'decided' ? 'failed' : outcome.end === 'max-wait' ? 'max-wait' : outcome.end === 'interrupted' ? 'interrupted' : 'sessions';
  const snapshot = engine.snapshot();
  if (engine.series) hooks.series?.(engine.series.snapshot(), snapshot);
  await metrics?.finish(snapshot, io.interrupted);
  return buildReport({ ...b, stopReason, snapshot });
}
