import { untilAborted } from '../abort.js';
import type { CheckId, CheckResult, ItemStatus, Verdict } from '../checklist/items.js';
import type { StopReason } from '../checklist/session.js';
import { VERIFY_KEEP } from './keys.js';
import type { FlagStore } from './types.js';

/**
 * The verify record: one schema, written here (by verify and monitor) and read here (by
 * status, gate and enable's verify gate). Readers still take what they find as unknown: a
 * record of another version or a hand-written one must not crash them.
 */

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


export interface RecordOutcome {
  feature: string;
  /** The list it goes to, `<prefix>:verify:<feature>`. */
  key: string;
  written: boolean;
  /** Tries it took (more than 1: Redis was away for a while). */
  attempts: number;
  error: string | null;
}

const RETRY_EVERY_MS = 500;


/**
 * Write each feature's record, newest first in `<prefix>:verify:<feature>`. A run can last
 * hours and Redis can restart in between: the verdict must not be lost to that, so a failed
 * write is retried until `timeoutMs` has passed. A retry first looks for its own runId, so
 * a write whose reply was lost is not pushed twice.
 */
export async function writeRecords(
  store: FlagStore,
  records: { feature: string; runId: string }[],
  keyOf: (feature: string) => string,
  timeoutMs: number,
  note?: (text: string) => void,
  signal?: AbortSignal,
): Promise<RecordOutcome[]> {
  const deadline = Date.now() + timeoutMs;
  const out: RecordOutcome[] = [];
  let warned = false;
  for (const record of records) {
    let attempts = 0;
    let lastError: string | null = null;
    let written = false;
    for (;;) {
      attempts += 1;
      try {
        if (attempts > 1 && (await alreadyWritten(store, record))) { written = true; break; }
        await store.pushVerify(record.feature, record);
        written = true;
        break;
      } catch (err) {
        lastError = (err as Error).message;
        if (!warned) {
          warned = true;
          note?.(`could not record the verdict yet (${lastError}): retrying for up to ${Math.round(timeoutMs / 1000)}s`);
        }
      }
      if (Date.now() + RETRY_EVERY_MS > deadline || signal?.aborted) break;
      // A Ctrl-C ends the wait at once: the report must still be printed.
      if (signal) await untilAborted(signal, RETRY_EVERY_MS); else await new Promise((r) => setTimeout(r, RETRY_EVERY_MS));
    }
    out.push({ feature: record.feature, key: keyOf(record.feature), written, attempts, error: written ? null : lastError });
  }
  return out;
}

async function alreadyWritten(store: FlagStore, record: { feature: string; runId: string }): Promise<boolean> {
  const recent = await store.verifyReports(record.feature, 5);
  return recent.some((r) => (r as { runId?: unknown } | null)?.runId === record.runId);
}
