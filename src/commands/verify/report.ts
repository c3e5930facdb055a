import type { Config } from '../../config/types.js';
import { formatDuration } from '../../output/format.js';
import { packageVersion } from '../../package.js';
import { featureNumbers, thresholdRows, type ReportDocument, type ReportFeature, type ReportSession } from '../../report/document.js';
import { formatMs as ms } from '../../output/units.js';
import type { SeriesSnapshot } from '../../stream/series.js';
import type { EngineSnapshot } from '../../stream/types.js';
import { itemText, MARK, verdictText } from './render.js';
import type { VerifyReport } from './run.js';

/** verify's result as an HTML report's document: the checklist in the terminal's words. */
export function verifyDocument(r: VerifyReport, series: SeriesSnapshot, snap: EngineSnapshot, config: Config): ReportDocument {
  const interrupted = r.stopReason === 'interrupted';
  const features = r.features.map((f): ReportFeature => {
    const stats = snap.overall.features.find((x) => x.name === f.feature)!;
    const cfg = config.features.find((x) => x.name === f.feature);
    return {
      name: f.feature,
      cadence: stats.cadence,
      status: f.verdict,
      verdictText: verdictText(f.verdict),
      items: f.items.map((it) => ({ status: it.status, mark: MARK[it.status], text: itemText(it) })),
      expectedMs: stats.expectedIntervalMs,
      limitMs: stats.intervalLimitMs,
      numbers: featureNumbers(stats),
      thresholds: cfg ? thresholdRows(cfg, r.speed) : [],
    };
  });
  const sessions: ReportSession[] = [
    ...r.sessions.map((s) => ({ label: `session ${s.index} · ${s.label} · ${verdictText(s.verdict)}`, openedAt: Date.parse(s.openedAt), closedAt: s.closedAt === null ? null : Date.parse(s.closedAt), counted: true, note: null })),
    ...r.ignoredSessions.map((s) => ({ label: s.label, openedAt: Date.parse(s.openedAt), closedAt: s.closedAt === null ? null : Date.parse(s.closedAt), counted: false, note: `not counted: ${s.reason}` })),
  ].sort((a, b) => a.openedAt - b.openedAt);
  const c = snap.connection;
  const unit = r.sessionMode === 'market' ? `${r.market} market sessions` : `windows of ${formatDuration(r.sessionLengthMs ?? 0)}`;
  return {
    schemaVersion: 1,
    kind: 'report',
    command: 'verify',
    title: `verify · ${r.features.map((f) => f.feature).join(', ')}${r.shadow ? ' (shadow: flags off)' : ''} · ${r.sessionsCompleted} of ${r.sessionsRequired} ${unit}`,
    runId: r.runId,
    actor: r.actor,
    toolVersion: packageVersion(),
    backend: { url: r.url, wsUrl: r.wsUrl },
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.durationMs,
    speed: r.speed,
    stoppedBy: r.stopReason,
    verdict: { status: r.verdict, text: verdictText(r.verdict, interrupted), exitCode: r.exitCode },
    problems: r.problems.map((p) => p.message),
    connection: [
      ['connects / reconnects', `${c.connects} / ${c.reconnects}`],
      ['longest gap', c.gaps.maxMs ? ms(c.gaps.maxMs) : '-'],
      ['close codes', Object.entries(c.closeCodes).map(([k, n]) => `${k} x${n}`).join(', ') || '-'],
      ['last error', c.lastError ?? '-'],
      ['messages', c.messages.toLocaleString('en-US')],
      ['duration', formatDuration(r.durationMs)],
    ],
    features,
    sessions,
    series,
  };
}
