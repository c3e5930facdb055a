import { findFeature } from '../config/load.js';
import type { Config, FeatureConfig } from '../config/types.js';
import { RefusedError } from '../errors.js';
import type { FeatureFlag } from '../store/effective.js';
import type { Engine } from '../stream/engine.js';
import { closeDiagnosis, type SessionSnapshot } from '../stream/index.js';
import { describeFlagChange, type FlagChange, type FlagFollower } from '../stream/flags.js';
import { combine, judgeFeature, type CheckResult, type ScopingEvidence, type Verdict } from './items.js';

/**
 * One market session judged by the runbook's checklist, feature by feature: shared by verify
 * (which stops at the sessions it was asked for) and monitor (which records every session).
 */

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

/** What judging a session needs besides the session itself. */
export interface SessionJudging {
  features: FeatureConfig[];
  /** Missed beats per session and feature whose gap began before the session opened (not the session's). */
  beforeOpen: Map<number, Map<string, number>>;
  /** The anonymous socket's evidence for the scoping item, when a token is configured. */
  probe: { evidence(index: number, feature: string): ScopingEvidence } | null;
  follower: FlagFollower;
  /** --shadow: the flags are expected off for the whole session (else on). */
  shadow: boolean;
}

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function judgeSession(s: SessionSnapshot, b: SessionJudging): SessionResult {
  const closes = closeDiagnosis(s.features, s.connection);
  const expected = !b.shadow;
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

/** The features to verify, and the precondition on their flags (PROTOCOL.md section 2, effective value). */
export function selectFeatures(config: Config, names: string[], shadow: boolean, flags: FeatureFlag[]): FeatureConfig[] {
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

/**
 * Missed beats whose gap began before the session opened: the stream may rightly have been
 * quiet while the market was closed, and the engine counts the first gap of a session in
 * that session. Returns them per session, and the session open now.
 */
export function trackBeforeOpen(engine: Engine): { beforeOpen: Map<number, Map<string, number>>; current(): { index: number; openedAt: number } | null } {
  const beforeOpen = new Map<number, Map<string, number>>();
  let open: { index: number; openedAt: number } | null = null;
  engine.onEvent('session-open', (e) => { open = e.session.partial ? null : { index: e.session.index, openedAt: e.session.openedAt }; });
  engine.onEvent('session-close', () => { open = null; });
  engine.onEvent('interval', (e) => {
    if (e.kind !== 'missed' || !open || e.at - e.measuredMs >= open.openedAt) return;
    let m = beforeOpen.get(open.index);
    if (!m) { m = new Map(); beforeOpen.set(open.index, m); }
    m.set(e.feature, (m.get(e.feature) ?? 0) + e.beatsLost);
  });
  return { beforeOpen, current: () => open };
}
