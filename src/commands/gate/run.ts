import type { CommandContext } from '../context.js';
import { findFeature } from '../../config/load.js';
import { ExitCode, UsageError } from '../../errors.js';
import { effectiveFlag, type FlagSource } from '../../store/effective.js';
import { withStore } from '../../store/index.js';
import { judgeSessions, readSessions, type SessionVerdict, type VerdictSummary } from '../../store/verify-record.js';

export interface GateOptions {
  feature: string;
  sessions: number;
}

export type GateVerdict = 'pass' | 'fail' | 'inconclusive';

export interface GateReport {
  feature: string;
  verdict: GateVerdict;
  exitCode: number;
  /** One sentence: why this verdict. */
  reason: string;
  enabled: boolean;
  source: FlagSource;
  /** The feature's last enable; null when it is on by env var only (every record counts). */
  since: { at: string; rev: number } | null;
  sessionsRequired: number;
  /** Complete sessions recorded since the enable. */
  sessionsRecorded: number;
  /** The last N of them, newest first: what the verdict is about. */
  sessions: SessionVerdict[];
  /** Among those, the ones that failed (verdict fail) or could not be judged (inconclusive). */
  failed: SessionVerdict[];
  unjudged: SessionVerdict[];
  lastRecord: VerdictSummary | null;
  store: string;
  checkedAt: string;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The CI step: what the recorded sessions say, at once. No watching: `verify` (or a
 * monitor) records sessions, the gate reads them with the same reading as `enable`.
 */
export async function runGate(ctx: CommandContext, opts: GateOptions): Promise<GateReport> {
  const { config, io } = ctx;
  if (!(Number.isInteger(opts.sessions) && opts.sessions >= 1)) throw new UsageError('--sessions takes a whole number >= 1');
  const feature = findFeature(config, opts.feature);
  return withStore(config, async (store) => {
    const [snap, evidence] = await Promise.all([store.snapshot(), readSessions(store, feature.name)]);
    const flag = effectiveFlag(snap.raw[feature.name], feature.envVar, io.env[feature.envVar]);
    const n = opts.sessions;
    const base = {
      feature: feature.name, enabled: flag.enabled, source: flag.source, since: evidence.since, sessionsRequired: n,
      sessionsRecorded: evidence.sessions.length, lastRecord: evidence.lastRecord, store: store.description, checkedAt: new Date().toISOString(),
    };
    if (!flag.enabled) {
      const from = flag.source === 'env' ? `${feature.envVar}=${flag.envValue}` : flag.source === 'redis' ? 'Redis' : 'the default';
      return {
        ...base, verdict: 'fail', exitCode: ExitCode.FAILED, sessions: [], failed: [], unjudged: [],
        reason: `${feature.name} is off (${from}): the gate judges the sessions of a feature that is on`,
      };
    }
    const judged = judgeSessions(evidence, n);
    const since = evidence.since ? ` since it was enabled (${evidence.since.at}, rev ${evidence.since.rev})` : '';
    if (judged.status === 'pass') {
      return {
        ...base, verdict: 'pass', exitCode: ExitCode.OK, sessions: judged.considered, failed: [], unjudged: [],
        reason: `the last ${plural(n, 'session')} of ${feature.name}${since} passed`,
      };
    }
    if (judged.status === 'fail') {
      const which = judged.failed.map((s) => `${s.label} (run ${s.runId})${s.problems.length ? `: ${s.problems.join('; ')}` : ''}`).join(' · ');
      return {
        ...base, verdict: 'fail', exitCode: ExitCode.FAILED, sessions: judged.considered, failed: judged.failed, unjudged: [],
        reason: `${plural(judged.failed.length, 'session')} of the last ${judged.considered.length} of ${feature.name} failed: ${which}`,
      };
    }
    const recorded = judged.considered.length;
    const reason = recorded < n
      ? `${plural(recorded, 'session')} of ${feature.name} recorded${since}, ${n} needed`
      : `not judged: ${judged.unjudged.map((s) => `${s.label} (${s.verdict}${s.problems.length ? `: ${s.problems.join('; ')}` : ''})`).join(' · ')}`;
    return { ...base, verdict: 'inconclusive', exitCode: ExitCode.INCONCLUSIVE, sessions: judged.considered, failed: [], unjudged: judged.unjudged, reason };
  });
}
