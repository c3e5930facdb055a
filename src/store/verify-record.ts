import { VERIFY_KEEP } from './keys.js';
import type { FlagStore } from './types.js';

/**
 * What `status` and the `enable` gate read back from `<prefix>:verify:<feature>`. The full
 * record is written by `verify`; these fields are the part other commands rely on.
 */
export interface VerdictSummary {
  verdict: 'pass' | 'fail' | 'inconclusive' | 'error';
  /** ISO time the run finished. */
  finishedAt: string;
  /** Complete market sessions (or fixed windows) observed. */
  sessions: number;
  shadow: boolean;
}

export function asVerdictSummary(record: unknown): VerdictSummary | null {
  if (!record || typeof record !== 'object') return null;
  const r = record as Record<string, unknown>;
  if (typeof r.verdict !== 'string' || typeof r.finishedAt !== 'string') return null;
  return {
    verdict: r.verdict as VerdictSummary['verdict'],
    finishedAt: r.finishedAt,
    sessions: typeof r.sessions === 'number' ? r.sessions : 0,
    shadow: r.shadow === true,
  };
}

export async function latestVerdict(store: FlagStore, feature: string): Promise<VerdictSummary | null> {
  const [first] = await store.verifyReports(feature, 1);
  return asVerdictSummary(first);
}

/**
 * One judged market session (or window) of one feature, read back from a record. A verify
 * run's record carries every session it judged; a record written when a session ends (a
 * future monitor) carries one: the reading is the same, so the gate and `enable` read
 * sessions, never runs.
 */
export interface SessionVerdict {
  feature: string;
  runId: string;
  /** The session's index within its run. */
  index: number;
  label: string;
  openedAt: string;
  closedAt: string;
  verdict: VerdictSummary['verdict'];
  /** The checklist items, as recorded (empty for a record that carried none). */
  items: { check: string; status: string; summary: string; detail: string | null }[];
  /** "values: 3 of 40 compared differ > 0 allowed": the failed and unjudged items. */
  problems: string[];
  /** The record had no per-session results: this session stands for a share of a run, not a known session. */
  fromRunTotal: boolean;
}

/** What the records of a feature say since it was last enabled. */
export interface SessionEvidence {
  feature: string;
  /** The feature's last enable (audit entry), or null: on by env var only, every record counts. */
  since: { at: string; rev: number } | null;
  /** Complete, non-shadow sessions opened since the enable, newest first, each session once. */
  sessions: SessionVerdict[];
  /** The newest record whatever it covered, for "its last verify: ...". */
  lastRecord: VerdictSummary | null;
}

export type SessionsJudgement =
  | { status: 'pass'; considered: SessionVerdict[] }
  | { status: 'fail'; considered: SessionVerdict[]; failed: SessionVerdict[] }
  | { status: 'short'; considered: SessionVerdict[]; unjudged: SessionVerdict[] };

/** How far back the audit stream is read for the feature's last enable. */
const ENABLE_SCAN = 1_000;
/** Two runs that watched the same session saw it open within this of each other. */
const SAME_SESSION_MS = 60_000;

const SEVERITY: Record<VerdictSummary['verdict'], number> = { fail: 3, error: 2, inconclusive: 1, pass: 0 };

function asItems(v: unknown): SessionVerdict['items'] {
  if (!Array.isArray(v)) return [];
  return v.filter((i): i is Record<string, unknown> => Boolean(i) && typeof i === 'object').map((i) => ({
    check: String(i.check ?? ''),
    status: String(i.status ?? ''),
    summary: String(i.summary ?? ''),
    detail: typeof i.detail === 'string' ? i.detail : null,
  }));
}

const problemsOf = (items: SessionVerdict['items']) =>
  items.filter((i) => i.status === 'fail' || i.status === 'inconclusive').map((i) => `${i.check}: ${i.detail ?? i.summary}`);

/** The complete sessions one record carries. A record without per-session results counts its `sessions`, each with the run's verdict. */
export function sessionsOf(feature: string, record: unknown): SessionVerdict[] {
  const v = asVerdictSummary(record);
  if (!v || v.shadow) return [];
  const r = record as Record<string, unknown>;
  const runId = typeof r.runId === 'string' ? r.runId : '?';
  if (Array.isArray(r.sessionResults)) {
    return r.sessionResults.flatMap((raw): SessionVerdict[] => {
      if (!raw || typeof raw !== 'object') return [];
      const s = raw as Record<string, unknown>;
      if (typeof s.openedAt !== 'string' || typeof s.closedAt !== 'string' || typeof s.verdict !== 'string') return [];
      const items = asItems(s.items);
      return [{
        feature, runId, index: Number(s.index ?? 0), label: String(s.label ?? ''), openedAt: s.openedAt, closedAt: s.closedAt,
        verdict: s.verdict as SessionVerdict['verdict'], items, problems: problemsOf(items), fromRunTotal: false,
      }];
    });
  }
  const startedAt = typeof r.startedAt === 'string' ? r.startedAt : v.finishedAt;
  const problems = Array.isArray(r.problems) ? r.problems.map(String) : [];
  return Array.from({ length: v.sessions }, (_, i) => ({
    feature, runId, index: i + 1, label: `run ${runId} session ${i + 1}`, openedAt: startedAt, closedAt: v.finishedAt,
    verdict: v.verdict, items: [], problems: v.verdict === 'pass' ? [] : problems, fromRunTotal: true,
  }));
}

/** Every complete session recorded for `feature` since it was last enabled: what the gate and `enable` judge. */
export async function readSessions(store: FlagStore, feature: string): Promise<SessionEvidence> {
  const [history, records] = await Promise.all([
    store.history({ feature, limit: ENABLE_SCAN }),
    store.verifyReports(feature, VERIFY_KEEP),
  ]);
  const enable = history.find((e) => e.to && !e.from) ?? null;
  const since = enable ? Date.parse(enable.at) : -Infinity;
  const all = records.flatMap((r) => sessionsOf(feature, r)).filter((s) => Date.parse(s.openedAt) >= since);
  all.sort((a, b) => Date.parse(b.closedAt) - Date.parse(a.closedAt));
  // Two runs watching the same session record it twice: it counts once, at its worst.
  const sessions: SessionVerdict[] = [];
  for (const s of all) {
    const twin = s.fromRunTotal ? -1 : sessions.findIndex((x) => !x.fromRunTotal && x.label === s.label && Math.abs(Date.parse(x.openedAt) - Date.parse(s.openedAt)) < SAME_SESSION_MS);
    if (twin < 0) sessions.push(s);
    else if (SEVERITY[s.verdict] > SEVERITY[sessions[twin]!.verdict]) sessions[twin] = s;
  }
  return { feature, since: enable ? { at: enable.at, rev: enable.rev } : null, sessions, lastRecord: asVerdictSummary(records[0]) };
}

/** The last `n` sessions: pass when all passed; fail when one failed; short when fewer than n, or one could not be judged. */
export function judgeSessions(e: SessionEvidence, n: number): SessionsJudgement {
  const considered = e.sessions.slice(0, n);
  const failed = considered.filter((s) => s.verdict === 'fail');
  if (failed.length) return { status: 'fail', considered, failed };
  const unjudged = considered.filter((s) => s.verdict !== 'pass');
  if (considered.length < n || unjudged.length) return { status: 'short', considered, unjudged };
  return { status: 'pass', considered };
}
