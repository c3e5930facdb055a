import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/types.js';
import { formatDuration } from '../../output/format.js';
import { packageVersion } from '../../package.js';
import { featureNumbers, thresholdRows, type ReportDocument, type ReportFeature } from '../../report/document.js';
import { formatMs as ms } from '../../output/units.js';
import type { SeriesSnapshot } from '../../stream/series.js';
import { badFrameTotal } from '../../stream/ws-types.js';
import { featureResultText, verdictLine } from './render.js';
import type { ParityReport } from './run.js';

/** parity's result as an HTML report's document: the same words as the terminal summary. */
export function parityDocument(r: ParityReport, series: SeriesSnapshot, config: Config, actor: string, maxMismatchRate?: number): ReportDocument {
  const v = verdictLine(r);
  const features = r.features.map((f): ReportFeature => {
    const res = featureResultText(f, r);
    const cfg = config.features.find((x) => x.name === f.name);
    return {
      name: f.name,
      cadence: f.cadence,
      status: res.ok ? 'pass' : 'fail',
      verdictText: res.text,
      items: r.findings.filter((x) => x.feature === f.name).map((x) => ({ status: 'fail' as const, mark: '✖', text: x.message })),
      expectedMs: f.expectedIntervalMs,
      limitMs: f.intervalLimitMs,
      numbers: featureNumbers(f),
      thresholds: cfg ? thresholdRows(cfg, r.speed, maxMismatchRate) : [],
    };
  });
  const c = r.connection;
  return {
    schemaVersion: 1,
    kind: 'report',
    command: 'parity',
    title: `parity · ${r.features.map((f) => f.name).join(', ')}`,
    runId: randomBytes(6).toString('hex'),
    actor,
    toolVersion: packageVersion(),
    backend: r.backend,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.durationMs,
    speed: r.speed,
    stoppedBy: r.stoppedBy,
    verdict: { status: v.status, text: `${v.text}${r.stoppedBy === 'interrupted' ? ' (interrupted)' : ''}`, exitCode: r.exitCode },
    problems: r.findings.map((f) => f.message),
    connection: [
      ['connects / reconnects', `${c.connects} / ${c.reconnects}`],
      ['longest gap', c.gaps.maxMs ? ms(c.gaps.maxMs) : '-'],
      ['close codes', Object.entries(c.closeCodes).map(([k, n]) => `${k} x${n}`).join(', ') || '-'],
      ['RTT mean / max', c.rtt.ws.meanMs === null ? '-' : `${c.rtt.ws.meanMs.toFixed(1)} ms / ${c.rtt.ws.maxMs} ms`],
      ['bad frames', String(badFrameTotal(c.badFrames))],
      ['heartbeats', String(c.heartbeats)],
      ['duration', formatDuration(r.durationMs)],
    ],
    features,
    sessions: r.sessions.map((s) => ({
      label: s.label, openedAt: Date.parse(s.openedAt), closedAt: s.closedAt === null ? null : Date.parse(s.closedAt),
      counted: !s.partial && s.closedAt !== null, note: s.partial ? 'under way at start' : s.closedAt === null ? 'open at the end' : null,
    })),
    series,
  };
}
