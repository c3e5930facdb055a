/**
 * Numbers as people read them in reports and findings. No dependencies: the analysis
 * engine words its findings with these without loading any printer.
 */

/** 250 -> "250 ms", 1500 -> "1.50 s", 14800 -> "14.8 s". */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.round(ms)} ms`;
}

/** 0.055 -> "5.5%", 0.004 -> "0.40%". */
export function formatRate(rate: number): string {
  return `${(rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 1)}%`;
}

/** An instant as a time of day, UTC, to the millisecond: "14:32:05.120 UTC". */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 23)} UTC`;
}
