import { randomBytes } from 'node:crypto';
import { CHECKS, combine, type CheckId, type CheckResult, type ItemStatus, type Verdict } from '../../checklist/items.js';
import { iso, judgeSession, type FeatureSessionResult, type SessionResult, type StopReason } from '../../checklist/session.js';
import type { ScopingProbe } from '../../checklist/probe.js';
import type { Config, FeatureConfig } from '../../config/types.js';
import { ExitCode } from '../../errors.js';
import { formatDuration } from '../../output/format.js';
import { redactUrl } from '../../redact.js';
import type { FeatureFlag } from '../../store/effective.js';
import type { VerifyRecord } from '../../store/verify-record.js';
import type { FlagFollower } from '../../stream/flags.js';
import type { EngineSnapshot, SessionSnapshot } from '../../stream/index.js';
import type { FeatureResult, Problem, VerifyOptions, VerifyReport } from './types.js';

/** From what the engine saw to verify's report, and from the report to each feature's stored record. */

const VERDICT_EXIT: Record<Verdict, number> = { pass: ExitCode.OK, fail: ExitCode.FAILED, inconclusive: ExitCode.INCONCLUSIVE, error: ExitCode.ERROR };

export interface BuildInput {
  config: Config;
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

const SEVERITY: Record<ItemStatus, number> = { fail: 3, inconclusive: 2, pass: 1, skipped: 0 };

/** Among sessions with the same status, the overall line shows the one closest to its limit. */
const WORST_BY: Record<CheckId, string> = {
  interval: 'p95Ms', fields: 'problems', values: 'mismatched', errors: 'restErrors', connection: 'maxGapMs', scoping: 'delivered',
};

const num = (it: CheckResult, key: string): number => {
  const v = it.numbers[key];
  return typeof v === 'number' ? v : -Infinity;
};

/** The complete sessions counted (the first N), and why each other one was not. */
function countedSessions(b: BuildInput): { counted: SessionSnapshot[]; ignored: VerifyReport['ignoredSessions'] } {
  const snap = b.snapshot;
  const complete = snap.sessions.filter((s) => !s.session.partial && s.session.closedAt !== null);
  const counted = complete.slice(0, b.opts.sessions);
  const ignored = snap.sessions
    .filter((s) => !counted.includes(s))
    .map((s) => ({
      label: s.session.label,
      openedAt: iso(s.session.openedAt)!,
      closedAt: iso(s.session.closedAt),
      reason: s.session.partial ? 'under way when verify connected, not counted'
        : s.session.closedAt === null ? 'still open when the run stopped' : 'beyond the sessions asked for',
    }));
  return { counted, ignored };
}

/** Every failed or unjudged item of every session, and the sessions missing, in sentences. */
function problemsOf(sessions: SessionResult[], b: BuildInput, short: boolean): Problem[] {
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
  if (short) {
    const why = b.stopReason === 'interrupted' ? 'interrupted' : b.stopReason === 'max-wait' ? `--max-wait ${formatDuration(b.opts.maxWaitMs ?? 0)} reached` : 'stopped';
    const detail = `${sessions.length} of ${b.opts.sessions} ${b.mode === 'market' ? `${b.config.market.country} market sessions` : 'windows'} complete (${why})`;
    problems.push({ feature: null, check: 'sessions', status: 'inconclusive', session: null, sessionLabel: null, detail, message: `sessions: ${detail}` });
  }
  return problems;
}

/** One checklist item over the counted sessions: the worst status, with the session it came from. */
function worstItem(id: CheckId, per: { s: SessionResult; r: FeatureSessionResult }[]): FeatureResult['items'][number] {
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
}

function featureResult(f: FeatureConfig, sessions: SessionResult[], short: boolean, b: BuildInput): FeatureResult {
  const per = sessions.map((s) => ({ s, r: s.features.find((x) => x.feature === f.name)! }));
  const items = CHECKS.map(({ id }) => worstItem(id, per));
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
}

/** The run's report: sessions judged, items rolled up per feature, the verdict and its exit code. */
export function buildReport(b: BuildInput): VerifyReport {
  const { snapshot: snap, opts } = b;
  const { counted, ignored } = countedSessions(b);
  const sessions = counted.map((s) => judgeSession(s, { ...b, shadow: opts.shadow }));
  // Stopped at a failed session: the verdict is decided; the sessions not watched are not a gap in the evidence.
  const short = sessions.length < opts.sessions && b.stopReason !== 'failed';
  const problems = problemsOf(sessions, b, short);
  const features = b.features.map((f) => featureResult(f, sessions, short, b));
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

