import type { FeatureConfig } from '../config/types.js';
import { formatMs as ms } from '../output/units.js';
import type { SeriesSnapshot } from '../stream/series.js';
import type { FeatureStats } from '../stream/types.js';

/**
 * What an HTML report shows, front-end neutral: parity and verify each map their own
 * result onto it (src/commands/<name>/report.ts), and `renderReport` draws it. The same
 * document is inlined into the page as JSON, so a script can read it back out.
 */

export type ReportStatus = 'pass' | 'fail' | 'inconclusive' | 'skipped' | 'error';

export interface ReportItem {
  status: ReportStatus;
  /** The terminal's mark ("[x]", "[ ]", "[?]", "[-]", or "✖" for a parity problem). */
  mark: string;
  /** The terminal's words for it. */
  text: string;
}

export interface ReportFeature {
  name: string;
  cadence: string;
  status: ReportStatus;
  /** The terminal's result for the feature ("FAIL", "1 problem"). */
  verdictText: string;
  items: ReportItem[];
  expectedMs: number;
  /** The p95 limit of the interval check (null for event-driven features). */
  limitMs: number | null;
  /** Name/value rows of the feature's totals, as measured over the whole run. */
  numbers: [string, string][];
  thresholds: [string, string][];
}

export interface ReportSession {
  label: string;
  openedAt: number;
  closedAt: number | null;
  /** Judged by this run (verify: the counted ones; parity: every complete one). */
  counted: boolean;
  note: string | null;
}

export interface ReportDocument {
  schemaVersion: 1;
  kind: 'report';
  command: 'parity' | 'verify';
  title: string;
  runId: string;
  actor: string;
  toolVersion: string;
  backend: { url: string; wsUrl: string };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  speed: number;
  stoppedBy: string;
  verdict: { status: ReportStatus; text: string; exitCode: number };
  /** The run's problems, one line each, as the terminal prints them. */
  problems: string[];
  /** Connection totals as name/value rows. */
  connection: [string, string][];
  features: ReportFeature[];
  sessions: ReportSession[];
  series: SeriesSnapshot;
}

/** A feature's thresholds as the config gives them (what the run was judged against). */
export function thresholdRows(f: FeatureConfig, speed: number, overrideMismatchRate?: number): [string, string][] {
  const t = f.thresholds;
  const rows: [string, string][] = [
    ['expected interval', `${f.intervalMs} ms${speed !== 1 ? ` (${Math.round((f.intervalMs / speed) * 10) / 10} ms at speed ${speed})` : ''}`],
    ['interval tolerance', `${Math.round(t.intervalTolerance * 1000) / 10}%`],
    ['missed beats allowed', String(t.maxMissedBeats)],
    ['mismatch rate allowed', `${Math.round((overrideMismatchRate ?? t.maxMismatchRate) * 10000) / 100}%`],
    ['reconnects allowed', String(t.maxReconnects)],
    ['messages needed', String(t.minMessages)],
  ];
  if (f.cadence !== 'periodic') rows.push(['staleness limit', `${t.maxStalenessMs} ms`]);
  return rows;
}

/** A feature's totals over the whole run, as name/value rows. */
export function featureNumbers(f: FeatureStats): [string, string][] {
  const lat = f.rest.latency;
  return [
    ['WS messages', f.ws.messages.toLocaleString('en-US')],
    ['stream keys', String(f.ws.keys)],
    ['interval p50 / p95 / max', f.interval && f.interval.count ? `${ms(f.interval.p50!)} / ${ms(f.interval.p95!)} / ${ms(f.interval.max!)}` : '-'],
    ['late / missed beats / bursts', f.interval ? `${f.interval.late} / ${f.interval.missedBeats} / ${f.interval.bursts}` : '-'],
    ['REST polls (errors)', `${f.rest.polls} (${f.rest.errors})`],
    ['REST latency p50 / p95 / max', lat.count ? `${ms(lat.p50!)} / ${ms(lat.p95!)} / ${ms(lat.max!)}` : '-'],
    ['compared / mismatched', `${f.match.compared} / ${f.match.mismatched}`],
    ['not compared', `${f.match.unmatched + f.match.missingOnWs}${Object.keys(f.match.unmatchedByReason).length ? ` (${Object.entries(f.match.unmatchedByReason).map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`],
  ];
}
