import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { loadConfig } from '../src/config/load.js';
import type { Config, FeatureConfig } from '../src/config/types.js';
import { createEngine, type Engine } from '../src/stream/engine.js';
import type { StreamEvent } from '../src/stream/types.js';

/** A tiny backend made by the test: one REST path and the /ws/ stream, driven by `tick`. */
async function backend(rest: (path: string) => unknown, onSocket?: (ws: WebSocket) => void) {
  const http: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(rest(req.url ?? '')));
  });
  const wss = new WebSocketServer({ server: http });
  if (onSocket) wss.on('connection', onSocket);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    broadcast: (obj: unknown) => { for (const c of wss.clients) c.send(JSON.stringify(obj)); },
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

function configFor(url: string, feature: (f: FeatureConfig[]) => FeatureConfig): Config {
  const c = loadConfig({ cwd: mkdtempSync(join(tmpdir(), 'stream-engine-')), env: {}, url });
  return { ...c, features: [feature(c.features)] };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

async function until(engine: Engine, ok: () => boolean, maxMs = 8_000): Promise<void> {
  const t0 = Date.now();
  await new Promise<void>((resolve) => {
    const t = setInterval(() => { if (ok() || Date.now() - t0 > maxMs) { clearInterval(t); resolve(); } }, 25);
  });
  await engine.stop();
}

describe('engine against a small backend', () => {
  it('fields that differ REST against REST are volatile: reported as noise, not as mismatches', async () => {
    let version = 0;
    const item = () => ({ account_id: 'A1', cash: 100 + version, portfolio_value: 5, buying_power: 7, timestamp: `v${version}`, generated_at: `${Date.now()}-${Math.random()}` });
    const b = await backend(() => item());
    cleanups.push(b.close);
    const timer = setInterval(() => { version += 1; b.broadcast({ type: 'account_balance', data: item() }); }, 100);
    cleanups.push(async () => clearInterval(timer));
    const config = configFor(b.url, (fs) => ({ ...fs.find((f) => f.name === 'account_balance')!, intervalMs: 100 }));
    const engine = createEngine({ config, aaEvery: 3, slackMs: 60, sessions: { mode: 'none' } });
    const events: StreamEvent[] = [];
    engine.onAny((e) => events.push(e));
    await engine.start();
    await until(engine, () => engine.snapshot().overall.features[0]!.match.compared >= 8);
    const f = engine.snapshot().overall.features[0]!;
    expect(f.match.mismatched).toBe(0);
    expect(f.match.agreedWithNoise).toBeGreaterThan(0);
    expect(f.noise.map((n) => n.field)).toEqual(['generated_at']);
    expect(f.noise[0]!.counted).toBe(false);
    expect(engine.snapshot().overall.findings).toEqual([]);
    expect(events.filter((e) => e.type === 'noise')).toMatchObject([{ feature: 'account_balance', field: 'generated_at' }]);
  });

  it('on-change cadence: a REST change that WS carries too late is stale, named by feature and key', async () => {
    const status = { 1: 'OPEN', 2: 'OPEN' } as Record<number, string>;
    const item = (id: number, st: string) => ({ market_id: id, country: id === 1 ? 'USA' : 'Japan', status: st, seconds_to_next_event: 0 });
    const b = await backend(() => [item(1, status[1]!), item(2, status[2]!)]);
    cleanups.push(b.close);
    let n = 0;
    const timer = setInterval(() => {
      n += 1;
      // Both markets change every 400 ms; WS carries market 1 at once and market 2 only 700 ms later.
      if (n % 4 === 0) {
        for (const id of [1, 2]) status[id] = status[id] === 'OPEN' ? 'CLOSED' : 'OPEN';
        b.broadcast({ type: 'market_status', data: item(1, status[1]!) });
        const late = status[2]!;
        setTimeout(() => b.broadcast({ type: 'market_status', data: item(2, late) }), 700);
      }
    }, 100);
    cleanups.push(async () => clearInterval(timer));
    const config = configFor(b.url, (fs) => {
      const g = fs.find((f) => f.name === 'global_market')!;
      return { ...g, cadence: 'on-change', intervalMs: 100, thresholds: { ...g.thresholds, maxStalenessMs: 300 } };
    });
    const engine = createEngine({ config, sessions: { mode: 'none' } });
    const stale: StreamEvent[] = [];
    engine.onEvent('stale', (e) => stale.push(e));
    await engine.start();
    await until(engine, () => stale.length >= 2 && (engine.snapshot().overall.features[0]!.staleness?.changes ?? 0) >= 6);
    const f = engine.snapshot().overall.features[0]!;
    expect(f.interval).toBeNull();
    expect(new Set(stale.map((e) => e.type === 'stale' && e.key))).toEqual(new Set(['2']));
    expect(f.staleness!.stale).toBeGreaterThanOrEqual(2);
    expect(f.staleness!.maxMs).not.toBeNull();
    expect(f.staleness!.maxMs!).toBeLessThanOrEqual(300);
    const finding = engine.snapshot().overall.findings.find((x) => x.check === 'stale')!;
    expect(finding.message).toMatch(/^global_market: \d+ of \d+ REST changes did not reach WS within 300 ms$/);
  });
});
