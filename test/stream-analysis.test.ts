import { describe, expect, it } from 'vitest';
import { DEFAULT_FEATURES, DEFAULT_THRESHOLDS } from '../src/config/defaults.js';
import type { FeatureConfig } from '../src/config/types.js';
import { FeatureMatcher, compareFlat, flatten, applyFieldMap, valuesEqual, ignoredBy, type Decision } from '../src/stream/match.js';
import { NoiseTracker } from '../src/stream/noise.js';
import { FixedSessions, MarketSessions } from '../src/stream/sessions.js';
import { BucketArena, classifyInterval, intervalLimits, IntervalStats, LoopStalls, Quantiles } from '../src/stream/stats.js';

function feature(name: string, over: Partial<FeatureConfig> = {}): FeatureConfig {
  const d = DEFAULT_FEATURES.find((f) => f.name === name)!;
  return { ...d, thresholds: { ...DEFAULT_THRESHOLDS }, ...over };
}

const never = () => false;

function decideAll(m: FeatureMatcher, now: number, inGap: (a: number, b: number) => boolean = never): Decision[] {
  return m.decide(now, inGap).decisions;
}

describe('interval analysis', () => {
  it('classifies late (>1.5x), missed (>2x, beats lost) and bursts (<0.5x)', () => {
    const l = intervalLimits(1_000);
    expect(classifyInterval(1_000, l)).toEqual({ kind: 'ok', beatsLost: 0 });
    expect(classifyInterval(1_600, l).kind).toBe('late');
    expect(classifyInterval(3_000, l)).toEqual({ kind: 'missed', beatsLost: 2 });
    expect(classifyInterval(400, l).kind).toBe('burst');
    // The slack widens every boundary by an absolute amount.
    expect(classifyInterval(80, intervalLimits(50, 25)).kind).toBe('ok');
  });

  it('keeps quantiles and counts in bounded memory', () => {
    const s = new IntervalStats(100);
    const l = intervalLimits(100);
    for (let i = 0; i < 10_000; i++) { const ms = i % 100 === 0 ? 400 : 100; const c = classifyInterval(ms, l); s.add(ms, c.kind, c.beatsLost); }
    const sum = s.summary();
    expect(sum.count).toBe(10_000);
    expect(sum.p50).toBe(100);
    expect(sum.max).toBe(400);
    expect(sum.missedGaps).toBe(100);
    expect(sum.missedBeats).toBe(300);
  });

  it('fine quantiles are within 1.6%, coarse (per key) within 12.5%, both with the exact max', () => {
    const fine = new Quantiles('fine');
    const coarse = new Quantiles('coarse');
    // 1..100000 ms once each: the true p50 is 50000, p95 95000, p99 99000.
    for (let v = 1; v <= 100_000; v++) { fine.record(v); coarse.record(v); }
    const f = fine.summary();
    const c = coarse.summary();
    for (const [p, truth] of [['p50', 50_000], ['p95', 95_000], ['p99', 99_000]] as const) {
      expect(Math.abs(f[p]! - truth) / truth).toBeLessThan(0.016);
      expect(Math.abs(c[p]! - truth) / truth).toBeLessThan(0.125);
    }
    expect(f.max).toBe(100_000);
    expect(c.max).toBe(100_000);
    // Small values are exact in both.
    const small = new Quantiles('coarse');
    for (const v of [3, 3, 3, 7, 9]) small.record(v);
    expect(small.summary()).toMatchObject({ p50: 3, max: 9, count: 5 });
  });

  it('histograms from one arena keep their own counts, across its blocks', () => {
    const arena = new BucketArena('coarse', 4);
    const qs = Array.from({ length: 10 }, () => new Quantiles(arena));
    // Key i: 100 values of (i + 1) * 1000 ms, and one of 10 ms.
    qs.forEach((q, i) => { for (let k = 0; k < 100; k++) q.record((i + 1) * 1000); q.record(10); });
    qs.forEach((q, i) => {
      const s = q.summary();
      expect(s.count).toBe(101);
      expect(Math.abs(s.p50! - (i + 1) * 1000) / ((i + 1) * 1000)).toBeLessThanOrEqual(0.125);
      expect(s.max).toBe((i + 1) * 1000);
    });
  });
});

describe('LoopStalls', () => {
  it('a blocked event loop is measured, including a stall that is only ending now', async () => {
    const st = new LoopStalls(10, 20);
    st.start();
    await new Promise((r) => setTimeout(r, 30));
    const from = Date.now();
    while (Date.now() - from < 120) { /* block the loop */ }
    // Before any timer ran again: the open stall still counts.
    expect(st.overlap(from, Date.now())).toBeGreaterThanOrEqual(80);
    await new Promise((r) => setTimeout(r, 30));
    expect(st.count).toBeGreaterThanOrEqual(1);
    expect(st.maxMs).toBeGreaterThanOrEqual(80);
    expect(st.overlap(from - 1_000, from - 500)).toBe(0);
    st.stop();
  });
});

describe('field comparison', () => {
  it('numbers and numeric strings compare as numbers within tolerance', () => {
    expect(valuesEqual(100, '100.0', 1e-6)).toBe(true);
    expect(valuesEqual('1.50', '1.5', 1e-6)).toBe(true);
    expect(valuesEqual(100, 100.01, 0.1)).toBe(true);
    expect(valuesEqual(100, 101, 0.1)).toBe(false);
    expect(valuesEqual('2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 0)).toBe(true);
    expect(valuesEqual('abc', 'abd', 0)).toBe(false);
  });

  it('reports differing paths, skips ignored fields, and tells one-side fields apart', () => {
    const rest = flatten({ a: 1, b: { c: '2' }, pos: [{ q: 1 }, { q: 2 }], only_rest: 1, ts: 5 });
    const ws = applyFieldMap(flatten({ a: 1, b: { c: 3 }, pos: [{ q: 1 }], only_ws: true, stamp: 9 }), { stamp: 'ts' });
    const r = compareFlat(rest, ws, 1e-6, ignoredBy(['ts']));
    expect(r.diffs).toEqual([{ path: 'b.c', rest: '2', ws: 3 }, { path: 'pos[1].q', rest: 2, ws: undefined }]);
    expect(r.restOnly).toEqual(['only_rest']);
    expect(r.wsOnly).toEqual(['only_ws']);
  });
});

describe('FeatureMatcher', () => {
  const opts = { graceMs: 100, retentionMs: 10_000, maxStalenessMs: 500 };

  it('version mode: same version compared; a version WS never carried is unmatched, not a mismatch', () => {
    const m = new FeatureMatcher(feature('account_balance'), opts);
    const item = (ts: string, cash: number) => ({ account_id: 'A1', cash, portfolio_value: 10, buying_power: 5, timestamp: ts });
    m.addWs('A1', item('t1', 100), 1_000);
    m.addWs('A1', item('t2', 101), 2_000);
    m.addRest([item('t1', 100)], 2_100, 2_110);
    m.addRest([item('t2', 999)], 2_100, 2_110);
    m.addRest([item('t9', 100)], 2_100, 2_110);
    // The agreeing one is decided at once; the others wait for their window, and a version
    // WS never carried two more grace periods (a slow stream may still carry it).
    expect(decideAll(m, 2_120).map((d) => d.kind)).toEqual(['agree']);
    const later = [...decideAll(m, 2_300), ...decideAll(m, 2_500)];
    expect(later.map((d) => d.kind)).toEqual(['mismatch', 'unmatched']);
    const mm = later[0]!;
    if (mm.kind !== 'mismatch') throw new Error('expected a mismatch');
    expect(mm.record).toMatchObject({ key: 'A1', version: 't2', fields: [{ path: 'cash', rest: 999, ws: 101 }] });
    expect(mm.record.skewMs).toBe(2_000 - 2_105);
  });

  it('version mode: a REST version that WS carries later (within the window) agrees', () => {
    const m = new FeatureMatcher(feature('account_balance'), opts);
    const item = (ts: string) => ({ account_id: 'A1', cash: 1, portfolio_value: 2, buying_power: 3, timestamp: ts });
    m.addWs('A1', item('t1'), 1_000);
    m.addRest([item('t2')], 1_010, 1_020);
    expect(decideAll(m, 1_030)).toEqual([]);
    m.addWs('A1', item('t2'), 1_050);
    expect(decideAll(m, 1_060).map((d) => d.kind)).toEqual(['agree']);
  });

  it('window mode: a forming bar agrees with any WS update within the grace window', () => {
    const m = new FeatureMatcher(feature('intraday'), opts);
    const bar = (close: number) => ({ symbol: 'ES', timestamp: 'M1', open: 1, high: 5, low: 1, close, volume: close * 10 });
    m.addWs('ES M1', bar(2), 1_000);
    m.addWs('ES M1', bar(3), 1_050);
    m.addRest([bar(4)], 1_060, 1_070);
    expect(decideAll(m, 1_080)).toEqual([]);
    m.addWs('ES M1', bar(4), 1_100);
    expect(decideAll(m, 1_110).map((d) => d.kind)).toEqual(['agree']);
    // Nothing equal in the window, and WS never moves on past it: a mismatch against the
    // nearest message, once two more grace periods have passed (to 1_430).
    m.addRest([bar(9)], 1_120, 1_130);
    expect(decideAll(m, 1_400)).toEqual([]);
    const d = decideAll(m, 1_500);
    expect(d.map((x) => x.kind)).toEqual(['mismatch']);
    if (d[0]!.kind === 'mismatch') expect(d[0]!.record.fields.map((f) => f.path)).toEqual(['close', 'volume']);
  });

  it('a key WS never carried is missing, and a window inside a WS gap is unmatched', () => {
    const m = new FeatureMatcher(feature('intraday'), opts);
    const bar = { symbol: 'NQ', timestamp: 'M1', open: 1, high: 1, low: 1, close: 1, volume: 1 };
    m.addRest([bar], 1_000, 1_010);
    // The window (to 1_110) and two more grace periods (to 1_310) before it is called missing.
    expect(decideAll(m, 1_300)).toEqual([]);
    expect(decideAll(m, 1_350).map((d) => d.kind)).toEqual(['missing-ws']);
    m.addWs('NQ M1', { ...bar, close: 2 }, 900);
    m.addRest([bar], 1_300, 1_310);
    const d = decideAll(m, 1_500, () => true);
    expect(d).toMatchObject([{ kind: 'unmatched', reason: 'ws-gap' }]);
  });

  it('version mode: a REST version between two WS carried is a skipped state; the same version differing is a mismatch', () => {
    const m = new FeatureMatcher(feature('account_balance'), opts);
    const iso = (s: number) => new Date(Date.UTC(2026, 11, 3, 14, 30, s)).toISOString();
    const item = (s: number, cash: number) => ({ account_id: 'A1', cash, portfolio_value: 10, buying_power: 5, timestamp: iso(s) });
    m.addWs('A1', item(1, 100), 1_000);
    // WS never carries second 2 (the channel layer dropped it); REST shows it, then WS moves on.
    m.addRest([item(2, 101)], 1_010, 1_020);
    m.addWs('A1', item(3, 102), 1_050);
    // The same version as WS carried, with another cash: a disagreement.
    m.addRest([item(3, 999)], 1_060, 1_070);
    const d = decideAll(m, 1_200);
    expect(d.map((x) => x.kind)).toEqual(['skipped', 'mismatch']);
    if (d[0]!.kind !== 'skipped') throw new Error('expected a skipped state');
    expect(d[0]!.record).toMatchObject({ key: 'A1', version: iso(2), fields: [{ path: 'cash', rest: 101, ws: 100 }, { path: 'timestamp' }] });
  });

  it('a REST item re-stamped at read time agrees when only its time stamp differs', () => {
    const m = new FeatureMatcher(feature('account_balance'), opts);
    const item = (ts: string, cash: number) => ({ account_id: 'A1', cash, portfolio_value: 10, buying_power: 5, timestamp: ts });
    m.addWs('A1', item('2026-12-03T14:30:01.000Z', 100), 1_000);
    m.addRest([item('2026-12-03T14:30:01.870Z', 100)], 1_010, 1_020);
    m.addRest([item('2026-12-03T14:30:01.900Z', 555)], 1_010, 1_020);
    const d = decideAll(m, 1_400);
    expect(d).toMatchObject([{ kind: 'agree', restamped: true }, { kind: 'unmatched', reason: 'version-not-carried' }]);
  });

  it('window mode: a bar state between two WS carried is skipped; a field WS holds steady that REST shows otherwise is a mismatch', () => {
    const m = new FeatureMatcher(feature('intraday'), opts);
    const bar = (close: number, open = 1) => ({ symbol: 'ES', timestamp: 'M1', open, high: Math.max(5, close), low: 1, close, volume: close * 10 });
    m.addWs('ES M1', bar(2), 1_000);
    m.addWs('ES M1', bar(3), 1_010);
    // REST shows close 4 (volume 40), which WS never carried: WS went from 3 to 5.
    m.addRest([bar(4)], 1_020, 1_030);
    m.addWs('ES M1', bar(5), 1_060);
    expect(decideAll(m, 1_200).map((d) => d.kind)).toEqual(['skipped']);
    // open is 1 in every WS message; REST says 7: no timing explains that.
    m.addRest([bar(6, 7)], 1_220, 1_230);
    m.addWs('ES M1', bar(8), 1_260);
    const d = decideAll(m, 1_400);
    expect(d.map((x) => x.kind)).toEqual(['mismatch']);
    if (d[0]!.kind === 'mismatch') expect(d[0]!.record.fields.map((f) => f.path)).toContain('open');
  });

  it('window mode: one wrong WS message is a mismatch even though the next one moves on', () => {
    const m = new FeatureMatcher(feature('intraday'), opts);
    const bar = (close: number, open = 1) => ({ symbol: 'ES', timestamp: 'M1', open, high: 9, low: 1, close, volume: close * 10 });
    m.addWs('ES M1', bar(2), 1_000);
    m.addWs('ES M1', bar(3), 1_010);
    m.addWs('ES M1', bar(4, 2), 1_020); // drifted: open 2 where the state has 1
    m.addRest([bar(4)], 1_025, 1_030);
    m.addWs('ES M1', bar(5), 1_060);
    expect(decideAll(m, 1_300).map((d) => d.kind)).toEqual(['mismatch']);
  });

  it('volatile fields (REST differs from itself) are noise, not mismatches', () => {
    const noise = new NoiseTracker();
    expect(noise.addPair(['request_id'])).toEqual(['request_id']);
    const m = new FeatureMatcher(feature('global_market', { ignoreFields: [] }), { ...opts, noise });
    const st = (rid: number) => ({ market_id: 1, country: 'USA', status: 'OPEN', seconds_to_next_event: 5, request_id: rid });
    m.addWs('1', st(1), 1_000);
    m.addRest([st(2)], 1_010, 1_020);
    const d = decideAll(m, 1_200);
    expect(d).toMatchObject([{ kind: 'agree', noise: [{ path: 'request_id' }] }]);
    expect(noise.volatileFields()).toEqual([{ field: 'request_id', restRate: 1, wsRate: 1, counted: false }]);
  });

  it('key values that are objects are keys by their JSON: apart, and matched to REST by it', () => {
    const m = new FeatureMatcher(feature('global_market'), opts);
    const st = (id: { x: number }) => ({ market_id: id, country: 'USA', status: id.x === 1 ? 'OPEN' : 'CLOSED', seconds_to_next_event: 1 });
    for (let i = 0; i < 50; i++) {
      for (const x of [1, 2]) {
        const d = st({ x });
        m.addToLeaf(m.wsLeaf(d)!, d, 1_000 + i);
      }
    }
    expect(m.hasKey('{"x":1}')).toBe(true);
    expect(m.hasKey('{"x":2}')).toBe(true);
    m.addRest([st({ x: 1 }), st({ x: 2 })], 1_100, 1_105);
    expect(decideAll(m, 1_300)).toMatchObject([{ kind: 'agree', key: '{"x":1}' }, { kind: 'agree', key: '{"x":2}' }]);
  });

  it('event cadence: a REST change must reach WS within the staleness limit', () => {
    const f = feature('global_market', { cadence: 'on-change' });
    const m = new FeatureMatcher(f, opts);
    const st = (status: string) => ({ market_id: 1, country: 'USA', status, seconds_to_next_event: 1 });
    m.addWs('1', st('CLOSED'), 900);
    m.addRest([st('CLOSED')], 1_000, 1_005);
    expect(m.addRest([st('OPEN')], 1_100, 1_105).staleness).toEqual([]);
    expect(m.addWs('1', st('OPEN'), 1_300)).toEqual([{ key: '1', at: 1_100, ms: 200 }]);
    m.addRest([st('PREOPEN')], 2_000, 2_005);
    expect(m.decide(2_400, never).stale).toEqual([]);
    expect(m.decide(2_600, never).stale).toEqual([{ key: '1', at: 2_000, ms: null }]);
  });
});

describe('sessions', () => {
  it('market sessions: a session under way at connect is partial; OPEN -> not OPEN is one session', () => {
    const s = new MarketSessions('USA');
    const st = (country: string, status: string) => ({ market_id: 1, country, status });
    expect(s.onStatus(st('USA', 'OPEN'), 1)).toMatchObject({ kind: 'open', session: { index: 0, partial: true } });
    expect(s.onStatus(st('Japan', 'CLOSED'), 2)).toBeNull();
    expect(s.onStatus(st('USA', 'OPEN'), 3)).toBeNull();
    expect(s.onStatus(st('USA', 'CLOSED'), 4)).toMatchObject({ kind: 'close', session: { index: 0, partial: true, closedAt: 4 } });
    expect(s.completed()).toBe(0);
    expect(s.onStatus(st('USA', 'OPEN'), 5)).toMatchObject({ kind: 'open', session: { index: 1, partial: false } });
    expect(s.onStatus(st('USA', 'PREOPEN'), 6)).toMatchObject({ kind: 'close', session: { index: 1, endStatus: 'PREOPEN' } });
    expect(s.completed()).toBe(1);
  });

  it('market sessions: starting CLOSED, the first OPEN is a whole session', () => {
    const s = new MarketSessions('USA');
    expect(s.onStatus({ country: 'USA', status: 'CLOSED' }, 1)).toBeNull();
    expect(s.onStatus({ country: 'USA', status: 'OPEN' }, 2)).toMatchObject({ session: { index: 1, partial: false } });
  });

  it('fixed windows roll back to back', () => {
    const s = new FixedSessions(100);
    expect(s.tick(0)).toMatchObject([{ kind: 'open', session: { index: 1 } }]);
    expect(s.tick(250).map((c) => `${c.kind}${c.session.index}`)).toEqual(['close1', 'open2', 'close2', 'open3']);
    expect(s.completed()).toBe(2);
  });
});
