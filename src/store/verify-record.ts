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
