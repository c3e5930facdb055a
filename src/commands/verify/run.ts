import { randomBytes } from 'node:crypto';
import { redactUrl } from '../../redact.js';
import type { CommandContext } from '../context.js';
import { resolveActor } from '../context.js';
import { findFeature } from '../../config/load.js';
import type { FeatureConfig } from '../../config/types.js';
import { ConnectionError, ExitCode, RefusedError, UsageError } from '../../errors.js';
import { formatDuration } from '../../output/format.js';
import { startRunMetrics, type MetricsFlags } from '../../metrics/index.js';
import { openStore } from '../../store/index.js';
import { storeKeys } from '../../store/keys.js';
import { resolveFlags, type FeatureFlag } from '../../store/effective.js';
import { closeDiagnosis, createEngine, WsClient, type EngineSnapshot, type SessionSnapshot } from '../../stream/index.js';
import { backendNeverAgreed, describeFlagChange, FlagFollower, type FlagChange } from '../../stream/flags.js';
import { authFailureError, runUntil } from '../../stream/run-until.js';
import type { FlagStore } from '../../store/types.js';
import type { SeriesSnapshot } from '../../stream/series.js';
import { CHECKS, combine, judgeFeature, type CheckId, type CheckResult, type ItemStatus, type ScopingEvidence, type Verdict } from './checklist.js';
import { writeRecords, type RecordOutcome } from './record.js';

export interface VerifyOptions extends MetricsFlags {
  /** Feature names; empty: every feature that is on (with --shadow: every feature). */
  features: string[];
  sessions: number;
  /** Fixed windows of this rehearsal length instead of market sessions. */
  sessionLengthMs: number | null;
  /** Real time bound on the whole run. */
  maxWaitMs: number | null;
  speed: number;
  /** Allowance on every interval boundary, real ms (engine default when null). */
  jitterMs: number | null;
  shadow: boolean;
  actor?: string;
  /** How long to keep trying to write the records when Redis is away at the end. */
  recordTimeoutMs: number;
  /** Keep watching after a session failed (default: stop, the verdict cannot change). */
  keepGoing?: boolean;
  /** How often to re-read the flags in Redis (real ms): a store restarted empty sends no event. */
  flagPollMs?: number;
}

/** Callbacks for the human at the terminal while the run waits; the command wires them to stderr. */
export interface VerifyHooks {
  started?(info: { features: string[]; sessions: number; mode: 'market' | 'fixed'; market: string; url: string }): void;
  progress?(p: Progress): void;
  note?(text: string): void;
  /** The run over time and the engine's last numbers, at the end (asking makes the engine keep them: --report). */
  series?(s: SeriesSnapshot, snap: EngineSnapshot): void;
}

export interface Progress {
  completed: number;
  required: number;
  open: boolean;
  marketStatus: string | null;
  /** Since the current session opened (open) or since the run started (waiting). */
  elapsedMs: number;
  messages: number;
  mismatches: number;
}

/** failed: a counted session failed, so the verdict could no longer change (see --keep-going). */
export type StopReason = 'sessions' | 'max-wait' | 'interrupted' | 'failed';

export interface FeatureSessionResult {
  feature: string;
  verdict: Verdict;
  messages: number;
  items: CheckResult[];
  /**
   * The feature's flag held its expected state (on; off with --shadow) in Redis and in the
   * backend's heartbeat from the session's open to its close. Not a checklist item: without
   * it the session did not verify the feature at all.
   */
  precondition: { status: 'pass' | 'fail'; detail: string | null; change: FlagChange | null };
}

export interface SessionResult {
  index: number;
  label: string;
  openedAt: string;
  closedAt: string | null;
  verdict: Verdict;
  features: FeatureSessionResult[];
}

export interface FeatureResult {
  feature: string;
  verdict: Verdict;
  /** The flag's effective value when the run started. */
  enabled: boolean;
  /** Item by item over the counted sessions: the worst status, with the session it came from. */
  items: (CheckResult & { session: number | null })[];
  messages: number;
}

/** One failed or unjudged item, in a sentence a person can act on. */
export interface Problem {
  feature: string | null;
  check: CheckId | 'sessions' | 'precondition';
  status: 'fail' | 'inconclusive';
  session: number | null;
  sessionLabel: string | null;
  detail: string;
  message: string;
}

export interface VerifyReport {
  runId: string;
  verdict: Verdict;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  stopReason: StopReason;
  shadow: boolean;
  speed: number;
  sessionMode: 'market' | 'fixed';
  market: string;
  sessionLengthMs: number | null;
  maxWaitMs: number | null;
  sessionsRequired: number;
  sessionsCompleted: number;
  actor: string;
  url: string;
  wsUrl: string;
  tokenConfigured: boolean;
  features: FeatureResult[];
  sessions: SessionResult[];
  /** Sessions seen and not judged: the one under way at start, the one open at the end. */
  ignoredSessions: { label: string; openedAt: string; closedAt: string | null; reason: string }[];
  problems: Problem[];
  connection: { reconnects: number; messages: number; lastError: string | null; closeCodes: Record<string, number> };
  /** Flag changes seen during the run, in Redis and in the backend's heartbeat. */
  flagChanges: FlagChange[];
  records: RecordOutcome[];
}

const VERDICT_EXIT: Record<Verdict, number> = { pass: ExitCode.OK, fail: ExitCode.FAILED, inconclusive: ExitCode.INCONCLUSIVE, error: ExitCode.ERROR };

/** The features to verify, and the precondition on their flags (PROTOCOL.md section 2, effective value). */
export function selectFeatures(ctx: CommandContext, names: string[], shadow: boolean, flags: FeatureFlag[]): FeatureConfig[] {
  const { config } = ctx;
  const flagOf = (f: FeatureConfig) => flags.find((x) => x.feature === f.name)!;
  const chosen = names.length
    ? [...new Map(names.map((n) => { const f = findFeature(config, n); return [f.name, f] as const; })).values()]
    : shadow ? config.features : config.features.filter((f) => flagOf(f).enabled);
  if (chosen.length === 0) {
    const next = config.features.find((f) => !flagOf(f).enabled);
    throw new RefusedError(
      'no feature is on: verify checks features whose flag is on',
      `${next ? `thor-cutover enable ${next.name} first, ` : ''}or verify the stream while flags are off: thor-cutover verify --shadow`,
      'E_PRECONDITION',
    );
  }
  const wrong = chosen.filter((f) => flagOf(f).enabled === shadow);
  if (wrong.length) {
    const names = wrong.map((f) => f.name).join(', ');
    const srcs = wrong.map((f) => `${f.name} from ${flagOf(f).source === 'env' ? f.envVar : flagOf(f).source === 'redis' ? 'Redis' : 'the default'}`).join(', ');
    if (shadow) {
      throw new RefusedError(
        `--shadow verifies features while their flags are off, and ${names} ${wrong.length > 1 ? 'are' : 'is'} on (${srcs})`,
        `${wrong.map((f) => `thor-cutover disable ${f.name}`).join('; ')}, or verify without --shadow`,
        'E_PRECONDITION',
      );
    }
    throw new RefusedError(
      `${names} ${wrong.length > 1 ? 'are' : 'is'} off (${srcs}): verify checks a feature after its flag is on`,
      `${wrong.map((f) => `thor-cutover enable ${f.name}`).join('; ')}, or verify it while off: thor-cutover verify ${wrong.map((f) => f.name).join(' ')} --shadow`,
      'E_PRECONDITION',
    );
  }
  return chosen;
}

/** What an anonymous socket sees, bucketed by session: the scoping item (f). */
class ScopingProbe {
  private readonly client: WsClient;
  private readonly byType: Map<string, string>;
  private readonly counts = new Map<number, Map<string, number>>();
  private readonly connectedIn = new Set<number>();
  private session: number | null = null;
  private connected = false;
  refusedStatus: number | null = null;

  constructor(url: string, features: FeatureConfig[], timeoutMs: number, speed: number) {
    this.byType = new Map(features.flatMap((f) => f.wsTypes.map((t) => [t, f.name] as const)));
    this.client = new WsClient({
      url, token: null, handshakeTimeoutMs: timeoutMs, pingIntervalMs: Math.max(250, 5_000 / speed),
      backoff: { initialMs: Math.max(50, 500 / speed), maxMs: Math.max(1_000, 15_000 / speed) },
    });
    this.client.on('open', () => { this.connected = true; if (this.session !== null) this.connectedIn.add(this.session); });
    this.client.on('close', () => { this.connected = false; });
    this.client.on('error', (e) => {
      if (e.handshakeStatus === 401 || e.handshakeStatus === 403) this.refusedStatus = e.handshakeStatus;
    });
    this.client.on('message', (m) => {
      const feature = this.byType.get(m.type);
      if (!feature || this.session === null) return;
      let c = this.counts.get(this.session);
      if (!c) { c = new Map(); this.counts.set(this.session, c); }
      c.set(feature, (c.get(feature) ?? 0) + 1);
    });
  }

  start(): void { this.client.start(); }
  stop(): Promise<void> { return this.client.stop(); }

  sessionOpened(index: number): void {
    this.session = index;
    if (this.connected) this.connectedIn.add(index);
  }

  sessionClosed(): void { this.session = null; }

  evidence(index: number, feature: string): ScopingEvidence {
    return { delivered: this.counts.get(index)?.get(feature) ?? 0, refusedStatus: this.refusedStatus, connected: this.connectedIn.has(index) };
  }
}

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
    const features = selectFeatures(ctx, opts.features, opts.shadow, flags);
    const report = await observe(ctx, opts, hooks, features, flags, actor, store);
    const keys = storeKeys(config.redis.prefix);
    report.records = await writeRecords(store, features.map((f) => recordOf(report, f.name)), keys.verify, opts.recordTimeoutMs, hooks.note, io.interrupted);
    return report;
  } finally {
    await store.close();
  }
}

async function observe(
  ctx: CommandContext, opts: VerifyOptions, hooks: VerifyHooks, features: FeatureConfig[], flags: FeatureFlag[], actor: string, store: FlagStore,
): Promise<VerifyReport> {
  const { config, io } = ctx;
  const mode = opts.sessionLengthMs !== null ? 'fixed' : 'market';
  const engine = createEngine({
    config,
    features,
    speed: opts.speed,
    ...(opts.jitterMs !== null ? { slackMs: opts.jitterMs } : {}),
    sessions: opts.sessionLengthMs !== null ? { mode: 'fixed', lengthMs: opts.sessionLengthMs } : { mode: 'market' },
    series: Boolean(hooks.series),
  });
  const metrics = await startRunMetrics(opts, io, { command: 'verify', config, features, snapshot: () => engine.snapshot() });
  const scoped = config.backend.token ? features.filter((f) => f.accountScoped) : [];
  const probe = scoped.length ? new ScopingProbe(config.backend.wsUrl, scoped, config.backend.timeoutMs, opts.speed) : null;
  const follower = new FlagFollower({
    features, initial: flags, store, env: io.env, pollMs: opts.flagPollMs ?? Math.max(250, 2_000 / opts.speed),
  });

  // Missed beats whose gap began before the session opened: the stream may rightly have
  // been quiet while the market was closed, and the engine counts the first gap of a
  // session in that session.
  const beforeOpen = new Map<number, Map<string, number>>();
  let open: { index: number; openedAt: number } | null = null;
  engine.onEvent('session-open', (e) => {
    open = e.session.partial ? null : { index: e.session.index, openedAt: e.session.openedAt };
    probe?.sessionOpened(e.session.partial ? -1 : e.session.index);
  });
  engine.onEvent('session-close', () => { open = null; probe?.sessionClosed(); });
  engine.onEvent('interval', (e) => {
    if (e.kind !== 'missed' || !open || e.at - e.measuredMs >= open.openedAt) return;
    let m = beforeOpen.get(open.index);
    if (!m) { m = new Map(); beforeOpen.set(open.index, m); }
    m.set(e.feature, (m.get(e.feature) ?? 0) + e.beatsLost);
  });
  const stopAll = () => Promise.all([engine.stop(), probe?.stop(), follower.stop()]);

  const startedAt = Date.now();
  probe?.start();
  const contact = await engine.start();
  const refused = engine.wsClient?.authFailed;
  if (refused) {
    await stopAll();
    await metrics?.close();
    throw authFailureError(refused, config.backend, config.backend.wsUrl);
  }
  if (!contact.ws || !contact.rest) {
    await stopAll();
    await metrics?.close();
    const what = !contact.ws ? `the WebSocket at ${engine.snapshot().connection.url}: ${contact.wsError ?? 'no answer'}` : `the REST API at ${config.backend.url}: ${contact.restError ?? 'no answer'}`;
    throw new ConnectionError(`cannot connect to ${what}`, 'is the backend running? set --url / --ws-url (or THOR_CUTOVER_URL), and --token if it needs one');
  }
  await follower.start(engine);
  // A backend whose heartbeat disagrees from the start does not read this store: say so once.
  const told = new Set<string>();
  engine.onEvent('backend-flags', () => {
    for (const f of features) {
      const c = told.has(f.name) ? null : backendNeverAgreed(follower, f.name, !opts.shadow);
      if (!c) continue;
      told.add(f.name);
      hooks.note?.(`note: the backend's heartbeat reports ${f.name} ${c.to ? 'on' : 'off'}, and this run expects it ${c.to ? 'off' : 'on'}: does the backend read the flags from ${redactUrl(config.redis.url)} (prefix ${config.redis.prefix})? thor-cutover doctor checks`);
    }
  });
  hooks.started?.({ features: features.map((f) => f.name), sessions: opts.sessions, mode, market: config.market.country, url: engine.snapshot().connection.url });

  const b: BuildInput = { config: ctx.config, opts, features, flags, actor, startedAt, stopReason: 'sessions', snapshot: engine.snapshot(), beforeOpen, probe, mode, follower };
  // Three market_status beats (rehearsal-speed) without one for our market: worth a word.
  const statusEvery = ctx.config.features.find((f) => f.name === 'global_market')?.intervalMs ?? 10_000;
  const silentMs = Math.max(5_000, (3 * statusEvery) / opts.speed);
  const silent = setTimeout(() => {
    const s = engine.snapshot();
    if (s.sessionMode !== 'market' || s.marketStatus !== null) return;
    const closes = closeDiagnosis(s.overall.features, s.overall.connection);
    // A socket that keeps closing is the likelier cause than a wrong country.
    hooks.note?.(closes && closes.closes > 1
      ? `no market_status for ${ctx.config.market.country} has arrived in ${formatDuration(silentMs)}: ${closes.text}; still waiting (${closes.hint})`
      : `no market_status for ${ctx.config.market.country} (market.country in the config) has arrived in ${formatDuration(silentMs)}; still waiting (check the country, or use --session-length for fixed windows)`);
  }, silentMs);
  const progress = hooks.progress;
  const outcome = await runUntil(engine, {
    sessions: opts.sessions,
    maxWaitMs: opts.maxWaitMs,
    signal: io.interrupted,
    // A counted session that failed decides the verdict: waiting for more cannot change it.
    onSessionClose: (sess) => !opts.keepGoing && !sess.session.partial && judgeSession(sess, b).verdict === 'fail',
    ...(progress ? {
      onTick: (s: EngineSnapshot) => {
        const o = open as { openedAt: number } | null;
        progress({
          completed: s.sessionsCompleted,
          required: opts.sessions,
          open: o !== null,
          marketStatus: s.marketStatus,
          elapsedMs: Date.now() - (o?.openedAt ?? startedAt),
          messages: s.overall.features.reduce((n, f) => n + f.ws.messages, 0),
          mismatches: s.overall.features.reduce((n, f) => n + f.match.mismatched, 0),
        });
      },
    } : {}),
  });
  clearTimeout(silent);
  await stopAll();
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

export interface BuildInput {
  config: CommandContext['config'];
  opts: VerifyOptions;
  features: FeatureConfig[];
  flags: FeatureFlag[];
  actor: string;
  startedAt: number;
  stopReason: StopReason;
  snapshot: EngineSnapshot;
  beforeOpen: Map<number, Map<string, number>>;
  probe: ScopingProbe | null;
  mode: 'market' | 'fixed';
  follower: FlagFollower;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function judgeSession(s: SessionSnapshot, b: Pick<BuildInput, 'features' | 'beforeOpen' | 'probe' | 'follower'> & { opts: Pick<VerifyOptions, 'shadow'> }): SessionResult {
  const closes = closeDiagnosis(s.features, s.connection);
  const expected = !b.opts.shadow;
  const results = b.features.map((f): FeatureSessionResult => {
    const stats = s.features.find((x) => x.name === f.name)!;
    const items = judgeFeature({
      feature: f,
      stats,
      connection: s.connection,
      closes,
      missedBeatsBeforeOpen: b.beforeOpen.get(s.session.index)?.get(f.name) ?? 0,
      scoping: b.probe && f.accountScoped ? b.probe.evidence(s.session.index, f.name) : null,
    });
    const change = b.follower.breach(f.name, expected, s.session.openedAt, s.session.closedAt ?? Date.now());
    const precondition = change
      ? { status: 'fail' as const, detail: `the flag was not ${expected ? 'on' : 'off'} for the whole session: ${describeFlagChange(change)}`, change }
      : { status: 'pass' as const, detail: null, change: null };
    return { feature: f.name, verdict: combine([...items.map((i) => i.status), precondition.status]), messages: stats.ws.messages, items, precondition };
  });
  return {
    index: s.session.index,
    label: s.session.label,
    openedAt: iso(s.session.openedAt)!,
    closedAt: iso(s.session.closedAt),
    verdict: combine(results.map((r) => r.verdict)),
    features: results,
  };
}

const SEVERITY: Record<ItemStatus, number> = { fail: 3, inconclusive: 2, pass: 1, skipped: 0 };

/** Among sessions with the same status, the overall line shows the one closest to its limit. */
const WORST_BY: Record<CheckId, string> = {
  interval: 'p95Ms', fields: 'problems', values: 'mismatched', errors: 'restErrors', connection: 'maxGapMs', scoping: 'delivered',
};

const num = (it: CheckResult, key: string): number => {
  const v = it.numbers[key];
  return typeof v === 'number' ? v : -Infinity;
};

function buildReport(b: BuildInput): VerifyReport {
  const { snapshot: snap, opts } = b;
  const complete = snap.sessions.filter((s) => !s.session.partial && s.session.closedAt !== null);
  const counted = complete.slice(0, opts.sessions);
  const ignored = snap.sessions
    .filter((s) => !counted.includes(s))
    .map((s) => ({
      label: s.session.label,
      openedAt: iso(s.session.openedAt)!,
      closedAt: iso(s.session.closedAt),
      reason: s.session.partial ? 'under way when verify connected, not counted'
        : s.session.closedAt === null ? 'still open when the run stopped' : 'beyond the sessions asked for',
    }));
  const sessions = counted.map((s) => judgeSession(s, b));
  const problems: Problem[] = [];
  for (const s of sessions) {
    for (const fr of s.features) {
      if (fr.precondition.status === 'fail') {
        const detail = fr.precondition.detail!;
        problems.push({
          feature: fr.feature, check: 'precondition', status: 'fail', session: s.index, sessionLabel: s.label, detail,
          message: `${fr.feature} precondition: ${detail}, session ${s.index} (${s.label})`,
        });
      }
      for (const it of fr.items) {
        if (it.status !== 'fail' && it.status !== 'inconclusive') continue;
        const detail = it.detail ?? it.summary;
        problems.push({
          feature: fr.feature, check: it.check, status: it.status, session: s.index, sessionLabel: s.label, detail,
          message: `${fr.feature} ${it.check}: ${detail}, session ${s.index} (${s.label})`,
        });
      }
    }
  }
  // Stopped at a failed session: the verdict is decided; the sessions not watched are not a gap in the evidence.
  const short = sessions.length < opts.sessions && b.stopReason !== 'failed';
  if (short) {
    const why = b.stopReason === 'interrupted' ? 'interrupted' : b.stopReason === 'max-wait' ? `--max-wait ${formatDuration(opts.maxWaitMs ?? 0)} reached` : 'stopped';
    const detail = `${sessions.length} of ${opts.sessions} ${b.mode === 'market' ? `${b.config.market.country} market sessions` : 'windows'} complete (${why})`;
    problems.push({ feature: null, check: 'sessions', status: 'inconclusive', session: null, sessionLabel: null, detail, message: `sessions: ${detail}` });
  }

  const features: FeatureResult[] = b.features.map((f) => {
    const per = sessions.map((s) => ({ s, r: s.features.find((x) => x.feature === f.name)! }));
    const items = CHECKS.map(({ id }) => {
      let worst: { item: CheckResult; session: number | null; label: string } | null = null;
      for (const { s, r } of per) {
        const it = r.items.find((i) => i.check === id)!;
        const worse = !worst || SEVERITY[it.status] > SEVERITY[worst.item.status]
          || (SEVERITY[it.status] === SEVERITY[worst.item.status] && num(it, WORST_BY[id]) > num(worst.item, WORST_BY[id]));
        if (worse) worst = { item: it, session: s.index, label: s.label };
      }
      if (!worst) {
        return { check: id, status: 'inconclusive' as ItemStatus, summary: 'no complete session observed', detail: 'no complete session observed', numbers: {}, session: null };
      }
      const summary = worst.item.status === 'pass' || worst.item.status === 'skipped'
        ? per.length === 1 || worst.item.status === 'skipped' ? worst.item.summary : `all ${per.length} sessions; closest to the limit, session ${worst.session}: ${worst.item.summary}`
        : `session ${worst.session} (${worst.label}): ${worst.item.detail ?? worst.item.summary}`;
      return { ...worst.item, summary, detail: worst.item.detail === null ? null : summary, session: worst.session };
    });
    let verdict = combine(per.map(({ r }) => r.verdict));
    if (short && verdict === 'pass') verdict = 'inconclusive';
    if (per.length === 0) verdict = 'inconclusive';
    return {
      feature: f.name,
      verdict: b.stopReason === 'interrupted' ? 'inconclusive' : verdict,
      enabled: b.flags.find((x) => x.feature === f.name)?.enabled ?? false,
      items,
      messages: per.reduce((n, { r }) => n + r.messages, 0),
    };
  });
  // Ctrl-C: whatever was seen is shown, but an interrupted run never decides.
  const verdict: Verdict = b.stopReason === 'interrupted' ? 'inconclusive' : combine(features.map((f) => f.verdict));
  const finishedAt = Date.now();
  return {
    runId: randomBytes(6).toString('hex'),
    verdict,
    exitCode: b.stopReason === 'interrupted' ? ExitCode.INTERRUPTED : VERDICT_EXIT[verdict],
    startedAt: iso(b.startedAt)!,
    finishedAt: iso(finishedAt)!,
    durationMs: finishedAt - b.startedAt,
    stopReason: b.stopReason,
    shadow: opts.shadow,
    speed: opts.speed,
    sessionMode: b.mode,
    market: b.config.market.country,
    sessionLengthMs: opts.sessionLengthMs,
    maxWaitMs: opts.maxWaitMs,
    sessionsRequired: opts.sessions,
    sessionsCompleted: sessions.length,
    actor: b.actor,
    url: redactUrl(b.config.backend.url),
    wsUrl: snap.connection.url,
    tokenConfigured: Boolean(b.config.backend.token),
    features,
    sessions,
    ignoredSessions: ignored,
    problems,
    connection: { reconnects: snap.connection.reconnects, messages: snap.connection.messages, lastError: snap.connection.lastError, closeCodes: snap.connection.closeCodes },
    flagChanges: b.follower.changes,
    records: [],
  };
}


/**
 * The record written to `<prefix>:verify:<feature>`: VerdictSummary's fields (what status
 * and the enable gate read) plus the numbers of each session.
 */
export interface VerifyRecord {
  schemaVersion: 1;
  runId: string;
  feature: string;
  verdict: Verdict;
  startedAt: string;
  finishedAt: string;
  /** Complete sessions judged. */
  sessions: number;
  sessionsRequired: number;
  shadow: boolean;
  actor: string;
  speed: number;
  sessionMode: 'market' | 'fixed';
  market: string;
  stopReason: StopReason;
  items: { check: CheckId; status: ItemStatus; summary: string; detail: string | null }[];
  sessionResults: { index: number; label: string; openedAt: string; closedAt: string | null; verdict: Verdict; messages: number; items: CheckResult[] }[];
  problems: string[];
}

export function recordOf(r: VerifyReport, feature: string): VerifyRecord {
  const f = r.features.find((x) => x.feature === feature)!;
  return {
    schemaVersion: 1,
    runId: r.runId,
    feature,
    verdict: f.verdict,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    sessions: r.sessionsCompleted,
    sessionsRequired: r.sessionsRequired,
    shadow: r.shadow,
    actor: r.actor,
    speed: r.speed,
    sessionMode: r.sessionMode,
    market: r.market,
    stopReason: r.stopReason,
    items: f.items.map(({ check, status, summary, detail }) => ({ check, status, summary, detail })),
    sessionResults: r.sessions.map((s) => {
      const fr = s.features.find((x) => x.feature === feature)!;
      return { index: s.index, label: s.label, openedAt: s.openedAt, closedAt: s.closedAt, verdict: fr.verdict, messages: fr.messages, items: fr.items };
    }),
    problems: r.problems.filter((p) => p.feature === feature || p.feature === null).map((p) => p.message),
  };
}

