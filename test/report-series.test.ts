import { describe, expect, it } from 'vitest';
import type { Decision } from '../src/stream/match.js';
import { MAX_BUCKETS, MAX_MISMATCH_DETAILS, RunSeries } from '../src/stream/series.js';

/** The engine's time series for the report: bounded whatever the run's length, and exact where it says so. */

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const HOUR = 3_600_000;

function mismatch(at: number, n: number): Decision {
  return {
    kind: 'mismatch', noise: [],
    record: { feature: 'positions', key: `ACC${n}`, at, version: null, fields: [{ path: 'positions[0].quantity', rest: 8, ws: 9 }], skewMs: -40 },
    detail: { restSentAt: at - 12, wsAt: at - 46, rest: new Map<string, unknown>([['account_id', `ACC${n}`], ['positions[0].quantity', 8]]), ws: new Map<string, unknown>([['account_id', `ACC${n}`], ['positions[0].quantity', 9]]) },
  };
}

describe('RunSeries', () => {
  it('24 h at one message a second: the buckets merge (width doubles) and stay within MAX_BUCKETS; counts, min and max stay exact', () => {
    const s = new RunSeries([{ name: 'account_balance', expectedMs: 1_000, periodic: true }, { name: 'positions', expectedMs: 1_000, periodic: true }], T0, 1_000);
    let late = 0;
    for (let t = 1; t <= 86_400; t++) {
      const at = T0 + t * 1_000;
      s.message(0, at);
      // One 7.5 s gap at noon; otherwise 1 s, give or take 20 ms.
      const ms = t === 43_200 ? 7_500 : 1_000 + ((t * 37) % 41) - 20;
      if (ms > 1_500) late++;
      s.interval(0, at, ms, ms > 2_000 ? 'missed' : 'ok');
      if (t % 3_600 === 0) s.restPoll(1, at, 20 + (t / 3_600), t === 7_200 * 3);
    }
    const snap = s.snapshot();
    expect(snap.buckets).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(snap.bucketMs).toBe(64_000);
    const f = snap.features[0]!;
    expect(f.messages.reduce((a, b) => a + b, 0)).toBe(86_400);
    expect(f.intervals.reduce((a, b) => a + b, 0)).toBe(86_400);
    expect(f.missed.reduce((a, b) => a + b, 0)).toBe(late);
    expect(Math.max(...f.maxMs.filter((v): v is number => v !== null))).toBe(7_500);
    expect(Math.min(...f.minMs.filter((v): v is number => v !== null))).toBe(980);
    // The noon gap sits in the bucket that holds noon, and nowhere else.
    const noon = Math.floor((43_200_000) / snap.bucketMs);
    expect(f.maxMs[noon]).toBe(7_500);
    expect(f.maxMs.filter((v) => v !== null && v > 1_100)).toHaveLength(1);
    for (const m of f.medianMs) if (m !== null) expect(Math.abs(m - 1_000)).toBeLessThanOrEqual(25);
    // The histogram counted every interval; the gap is in a bin above 7 s.
    expect(f.histogram.counts.reduce((a, b) => a + b, 0)).toBe(86_400);
    const gapBin = f.histogram.edgesMs.findIndex((e) => e >= 7_500);
    expect(f.histogram.counts[gapBin]).toBe(1);
    const rest = snap.features[1]!;
    expect(rest.restPolls.reduce((a, b) => a + b, 0)).toBe(24);
    expect(rest.restErrors.reduce((a, b) => a + b, 0)).toBe(23);
    expect(JSON.stringify(snap).length).toBeLessThan(400_000);
  });

  it('mismatches: the first ones keep their diff and payloads, every one is counted in its bucket', () => {
    const s = new RunSeries([{ name: 'positions', expectedMs: 500, periodic: true }], T0, 1_000);
    const n = MAX_MISMATCH_DETAILS + 50;
    for (let i = 0; i < n; i++) s.decision(0, mismatch(T0 + i * 10_000, i));
    s.decision(0, { kind: 'unmatched', key: 'ACC1', at: T0 + 5_000, reason: 'ws-gap' });
    s.decision(0, { kind: 'agree', key: 'ACC1', at: T0 + 6_000, noise: [], restamped: false });
    const snap = s.snapshot();
    const f = snap.features[0]!;
    expect(f.mismatches.reduce((a, b) => a + b, 0)).toBe(n);
    expect(f.mismatchDetails).toHaveLength(MAX_MISMATCH_DETAILS);
    expect(snap.dropped.mismatchDetails).toBe(50);
    expect(f.mismatchDetails[3]).toMatchObject({
      key: 'ACC3', restSentAt: T0 + 30_000 - 12, restAt: T0 + 30_000, wsAt: T0 + 30_000 - 46, skewMs: -40,
      fields: [{ path: 'positions[0].quantity', rest: 8, ws: 9 }],
      // the differing field first
      rest: [['positions[0].quantity', '8'], ['account_id', 'ACC3']], ws: [['positions[0].quantity', '9'], ['account_id', 'ACC3']],
    });
    expect(f.skippedMarks).toEqual([{ at: T0 + 5_000, key: 'ACC1', reason: 'ws-gap' }]);
    expect(f.skipped.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('gaps and closes until the run ends; the socket the tool closes itself is not the backend\'s', () => {
    const s = new RunSeries([{ name: 'positions', expectedMs: 500, periodic: true }], T0, 1_000);
    s.close(T0 + HOUR, 1006, '');
    s.gap(T0 + HOUR, T0 + HOUR + 900, 2);
    s.end();
    s.close(T0 + 2 * HOUR, 1006, '');
    const snap = s.snapshot();
    expect(snap.closes).toEqual([{ at: T0 + HOUR, code: 1006, reason: '' }]);
    expect(snap.gaps).toEqual([{ from: T0 + HOUR, to: T0 + HOUR + 900, missed: 2 }]);
  });
});
