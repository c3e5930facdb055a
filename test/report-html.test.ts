import { describe, expect, it } from 'vitest';
import type { ReportDocument } from '../src/report/document.js';
import { renderReport } from '../src/report/html.js';
import { RunSeries } from '../src/stream/series.js';

/** The page itself: whatever the backend sends (keys, values, close reasons) stays text. */

const EVIL = '</script><script>alert(1)</script><!--';
const T0 = Date.UTC(2026, 0, 5, 14, 30);

function doc(): ReportDocument {
  const s = new RunSeries([{ name: 'positions', expectedMs: 500, periodic: true }], T0, 1_000);
  s.message(0, T0 + 10);
  s.interval(0, T0 + 10, 500, 'ok');
  s.decision(0, {
    kind: 'mismatch', noise: [],
    record: { feature: 'positions', key: EVIL, at: T0 + 500, version: null, fields: [{ path: `positions[0].${EVIL}`, rest: EVIL, ws: 1 }], skewMs: 3 },
    detail: { restSentAt: T0 + 490, wsAt: T0 + 503, rest: new Map([['x', EVIL]]), ws: new Map([['x', '\u2028']]) },
  });
  s.close(T0 + 600, 4000, EVIL);
  return {
    schemaVersion: 1, kind: 'report', command: 'parity', title: `parity · ${EVIL}`, runId: 'abc', actor: EVIL, toolVersion: '0.1.0',
    backend: { url: 'https://ops:hunter2@thor.internal/?token=s3cret', wsUrl: 'wss://thor.internal/ws/?token=s3cret' },
    startedAt: new Date(T0).toISOString(), finishedAt: new Date(T0 + 1_000).toISOString(), durationMs: 1_000, speed: 1, stoppedBy: 'duration',
    verdict: { status: 'fail', text: '1 problem found', exitCode: 1 }, problems: [EVIL], connection: [['close codes', EVIL]],
    features: [{ name: 'positions', cadence: 'periodic', status: 'fail', verdictText: '1 problem', items: [{ status: 'fail', mark: '✖', text: EVIL }], expectedMs: 500, limitMs: 600, numbers: [], thresholds: [] }],
    sessions: [{ label: EVIL, openedAt: T0, closedAt: null, counted: false, note: EVIL }],
    series: s.snapshot(),
  };
}

describe('renderReport', () => {
  it('text from the backend is escaped, the inlined JSON reads back whole, credentials never show', () => {
    const d = doc();
    const html = renderReport(d);
    // One script element per own script: the data, uPlot, the report's code.
    expect(html.match(/<script\b/g)).toHaveLength(3);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--');
    const data = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(data)).toEqual({ ...d, backend: { url: 'https://***@thor.internal/?token=***', wsUrl: 'wss://thor.internal/ws/?token=***' } });
    expect(html).not.toContain('hunter2');
    expect(html).not.toContain('s3cret');
    expect(html).toContain('https://***@thor.internal/?token=***');
  });
});
