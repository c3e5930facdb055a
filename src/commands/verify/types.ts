import type { CheckId, CheckResult, Verdict } from '../../checklist/items.js';
import type { SessionResult, StopReason } from '../../checklist/session.js';
import type { MetricsFlags } from '../../metrics/index.js';
import type { RecordOutcome } from '../../store/verify-record.js';
import type { FlagChange } from '../../stream/flags.js';
import type { SeriesSnapshot } from '../../stream/series.js';
import type { EngineSnapshot } from '../../stream/types.js';

/** verify's options, hooks and report: run.ts runs it, build.ts builds the report, render.ts prints it. */

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
