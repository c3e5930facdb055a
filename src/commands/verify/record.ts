import type { FlagStore } from '../../store/types.js';

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

/** Sleeps, but a Ctrl-C ends the wait at once: the report must still be printed. */
const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  if (signal?.aborted) return resolve();
  const timer = setTimeout(done, ms);
  function done() { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); }
  signal?.addEventListener('abort', done, { once: true });
});

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
      await sleep(RETRY_EVERY_MS, signal);
    }
    out.push({ feature: record.feature, key: keyOf(record.feature), written, attempts, error: written ? null : lastError });
  }
  return out;
}

async function alreadyWritten(store: FlagStore, record: { feature: string; runId: string }): Promise<boolean> {
  const recent = await store.verifyReports(record.feature, 5);
  return recent.some((r) => (r as { runId?: unknown } | null)?.runId === record.runId);
}
