import { afterEach, describe, expect, it } from 'vitest';
import { parseFault, startSimulator, type Simulator, type SimulatorOptions } from '../src/sim/index.js';
import { Collector, defaultConfig, getJson, median } from './sim-support.js';

const config = defaultConfig();
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function sim(faults: string[], opts: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const s = await startSimulator({ config, port: 0, seed: 3, speed: 20, faults: faults.map(parseFault), ...opts });
  open.push(s);
  return s;
}
async function client(url: string): Promise<Collector> {
  const c = await Collector.connect(url);
  open.push(c);
  return c;
}
const dataOf = (c: Collector, type: string) => c.of(type).map((f) => f.msg!.data!);

describe('simulate: fault specs', () => {
  it('parses every documented spelling and rejects bad ones with E_FAULT', () => {
    expect(parseFault('drift=positions:5')).toEqual({ kind: 'drift', feature: 'positions', value: 5 });
    expect(parseFault('slow=account_balance:2')).toEqual({ kind: 'slow', feature: 'account_balance', value: 2 });
    expect(parseFault('drop=intraday:NQ')).toEqual({ kind: 'drop', feature: 'intraday', key: 'NQ' });
    expect(parseFault('missing=positions:timestamp')).toEqual({ kind: 'missing', feature: 'positions', key: 'timestamp' });
    expect(parseFault('error=10')).toEqual({ kind: 'error', value: 10 });
    expect(parseFault('disconnect=30s')).toEqual({ kind: 'disconnect', value: 30 });
    expect(parseFault('badframes=1.5m')).toEqual({ kind: 'badframes', value: 90 });
    expect(parseFault('rest500=positions:0.25')).toEqual({ kind: 'rest500', feature: 'positions', value: 0.25 });
    expect(parseFault('stall=intraday')).toEqual({ kind: 'stall', feature: 'intraday' });
    for (const bad of ['explode=1', 'drift=positions', 'drift=positions:0', 'rest500=positions:2', 'error=', 'disconnect=soon', 'drop=intraday', 'stall=']) {
      expect(() => parseFault(bad), bad).toThrow(expect.objectContaining({ code: 'E_FAULT' }));
    }
  });

  it('refuses a fault on a feature the simulator does not serve', async () => {
    await expect(startSimulator({ config, port: 0, faults: [parseFault('drift=balance:2')] })).rejects.toMatchObject({ code: 'E_FAULT' });
  });
});

describe('simulate: each fault, seen from a plain client', () => {
  it('drift: every Nth WS message of the feature differs from REST at the same timestamp', async () => {
    const s = await sim(['drift=account_balance:2'], { speed: 20 });
    const c = await client(s.wsUrl);
    const pairs: { ws: Record<string, unknown>; rest: Record<string, unknown> }[] = [];
    await c.until(() => c.of('account_balance').length >= 1, 5_000);
    while (pairs.length < 4) {
      const n = c.of('account_balance').length;
      await c.until(() => c.of('account_balance').length > n, 5_000, 'next account_balance');
      const ws = dataOf(c, 'account_balance').at(-1)!;
      const rest = (await getJson(s.url + '/api/account/balance/')).body;
      if (rest.timestamp === ws.timestamp) pairs.push({ ws, rest });
    }
    const drifted = pairs.filter((p) => p.ws.cash !== p.rest.cash);
    expect(drifted.length).toBeGreaterThan(0);
    expect(drifted.length).toBeLessThan(pairs.length);
    for (const p of drifted) expect(Math.abs((p.ws.cash as number) - (p.rest.cash as number))).toBeCloseTo(1, 5);
  });

  it('slow: the feature arrives factor times less often on WS; the others keep their pace', async () => {
    const s = await sim(['slow=account_balance:3'], { speed: 40 }); // 250 ms -> 750 ms
    const c = await client(s.wsUrl);
    await c.until(() => c.of('account_balance').length >= 4, 6_000, '4 slowed messages');
    const gaps = (type: string) => c.of(type).slice(1).map((f, i) => f.at - c.of(type)[i]!.at);
    const slow = median(gaps('account_balance'));
    const normal = median(gaps('positions'));
    console.log(`slow=account_balance:3 at speed 40: account_balance every ${Math.round(slow)} ms, positions every ${Math.round(normal)} ms`);
    expect(slow).toBeGreaterThan(600);
    expect(normal).toBeLessThan(400);
  });

  it('drop: one symbol never appears on WS while REST still has it', async () => {
    const s = await sim(['drop=intraday:NQ']);
    const c = await client(s.wsUrl);
    await c.until(() => c.of('intraday_bar').length >= 30, 5_000, '30 bars');
    const symbols = new Set(dataOf(c, 'intraday_bar').map((d) => d.symbol));
    expect([...symbols].sort()).toEqual(['ES', 'RTY', 'YM']);
    const rest = (await getJson(s.url + '/api/intraday/bars/')).body;
    expect(rest.map((b: { symbol: string }) => b.symbol)).toContain('NQ');
  });

  it('missing: a required field is absent from WS payloads, present in REST', async () => {
    const s = await sim(['missing=positions:timestamp']);
    const c = await client(s.wsUrl);
    await c.until(() => c.of('positions').length >= 2, 5_000);
    for (const d of dataOf(c, 'positions')) expect(d).not.toHaveProperty('timestamp');
    expect((await getJson(s.url + '/api/positions/')).body).toHaveProperty('timestamp');
  });

  it('error: an error_message every N rehearsal seconds', async () => {
    const s = await sim(['error=2'], { speed: 10 }); // every 200 ms
    const c = await client(s.wsUrl);
    await c.until(() => c.of('error_message').length >= 3, 5_000, '3 error messages');
    expect(typeof c.of('error_message')[0]!.msg!.data!.message).toBe('string');
  });

  it('disconnect: the server closes every WS connection every N s', async () => {
    const s = await sim(['disconnect=5'], { speed: 10 }); // every 500 ms
    const a = await client(s.wsUrl);
    const b = await client(s.wsUrl);
    await a.until(() => a.closeCode !== null && b.closeCode !== null, 3_000, 'both closed');
    expect(a.closeCode).toBe(1012);
    await a.until(() => s.stats().clients === 0, 3_000, 'the server to drop both');
  });

  it('rest500: that fraction of the feature\'s REST calls answer 500', async () => {
    const s = await sim(['rest500=positions:0.5']);
    const codes: number[] = [];
    for (let i = 0; i < 40; i++) codes.push((await getJson(s.url + '/api/positions/')).status);
    const errors = codes.filter((c) => c === 500).length;
    expect(errors).toBeGreaterThan(8);
    expect(errors).toBeLessThan(32);
    expect(codes.filter((c) => c === 200).length).toBe(40 - errors);
    expect((await getJson(s.url + '/api/account/balance/')).status).toBe(200);
  });

  it('stall: the endpoint never answers (the client times out); the others answer', async () => {
    const s = await sim(['stall=positions']);
    const t = performance.now();
    await expect(fetch(s.url + '/api/positions/', { signal: AbortSignal.timeout(400) })).rejects.toThrow(/abort|timeout/i);
    expect(performance.now() - t).toBeGreaterThanOrEqual(350);
    expect((await getJson(s.url + '/api/account/balance/')).status).toBe(200);
  });

  it('badframes: non-JSON and truncated frames arrive', async () => {
    const s = await sim(['badframes=2'], { speed: 10 });
    const c = await client(s.wsUrl);
    await c.until(() => c.frames.filter((f) => f.msg === null).length >= 2, 5_000, '2 bad frames');
    const bad = c.frames.filter((f) => f.msg === null).map((f) => f.raw);
    expect(bad.some((r) => r.startsWith('{'))).toBe(true); // a truncated JSON message
    expect(bad.some((r) => !r.startsWith('{'))).toBe(true);
  });

  it('faults can be replaced at run time through POST /_sim/faults', async () => {
    const s = await sim([]);
    const c = await client(s.wsUrl);
    await c.until(() => c.of('intraday_bar').length >= 8, 5_000);
    const post = async (body: unknown) => {
      const res = await fetch(s.url + '/_sim/faults', { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(3_000) });
      return { status: res.status, body: (await res.json()) as { specs: string[] } };
    };
    const ok = await post({ faults: ['drop=intraday:ES', 'rest500=intraday:1'] });
    expect(ok.status).toBe(200);
    expect(ok.body.specs).toEqual(['drop=intraday:ES', 'rest500=intraday:1']);
    expect((await getJson(s.url + '/_sim/faults')).body.faults).toEqual([
      { kind: 'drop', feature: 'intraday', key: 'ES' }, { kind: 'rest500', feature: 'intraday', value: 1 },
    ]);
    const from = c.frames.length;
    await c.until(() => c.frames.length > from + 20, 5_000);
    expect(c.frames.slice(from).filter((f) => f.msg?.type === 'intraday_bar' && f.msg.data!.symbol === 'ES')).toHaveLength(0);
    expect((await getJson(s.url + '/api/intraday/bars/')).status).toBe(500);

    expect((await post({ faults: ['explode=1'] })).status).toBe(400);
    expect(s.faults()).toHaveLength(2); // a bad request changes nothing
    expect((await post({ faults: [] })).status).toBe(200);
    expect((await getJson(s.url + '/api/intraday/bars/')).status).toBe(200);
  });
});
