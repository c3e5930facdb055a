import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_FEATURES } from '../src/config/defaults.js';
import type { FeatureConfig } from '../src/config/types.js';
import { RestClient, RestPoller, classifyStatus, extractItems, type PollResult } from '../src/stream/rest-poller.js';

async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const srv = createServer(handler);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => { srv.closeAllConnections(); return new Promise((r) => srv.close(r)); } };
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const positions = { ...DEFAULT_FEATURES[1]!, thresholds: {} } as unknown as FeatureConfig;

describe('RestClient', () => {
  it('classifies answers: ok, HTTP errors, non-JSON, timeouts, refused connections', async () => {
    let auth: string | undefined;
    const srv = await httpServer((req, res) => {
      auth = req.headers.authorization;
      if (req.url === '/ok') json(res, 200, { a: 1 });
      else if (req.url === '/500') json(res, 500, { detail: 'boom' });
      else if (req.url === '/html') { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>'); }
      else if (req.url === '/stall') { /* never answers */ }
      else json(res, 404, { detail: 'nope' });
    });
    cleanups.push(srv.close);
    const c = new RestClient({ baseUrl: srv.url + '/', token: 't0k', timeoutMs: 300 });
    cleanups.push(() => c.close());
    const ok = await c.get('/ok');
    expect(ok).toMatchObject({ outcome: 'ok', status: 200, statusClass: 'ok', body: { a: 1 } });
    expect(auth).toBe('Bearer t0k');
    expect(await c.get('/500')).toMatchObject({ outcome: 'http-error', status: 500, statusClass: 'server-error', error: 'HTTP 500' });
    expect(await c.get('/missing')).toMatchObject({ outcome: 'http-error', statusClass: 'not-found' });
    const html = await c.get('/html');
    expect(html.outcome).toBe('non-json');
    expect(html.error).toContain('text/html');
    const stall = await c.get('/stall');
    expect(stall.outcome).toBe('timeout');
    expect(stall.error).toMatch(/300 ms/);

    const closed = await httpServer(() => undefined);
    await closed.close();
    const c2 = new RestClient({ baseUrl: closed.url, timeoutMs: 300 });
    cleanups.push(() => c2.close());
    expect((await c2.get('/x')).outcome).toBe('connect-error');
  });

  it('classifyStatus names what a status means', () => {
    expect([200, 302, 401, 403, 404, 422, 503].map(classifyStatus)).toEqual(['ok', 'redirect', 'unauthorized', 'forbidden', 'not-found', 'client-error', 'server-error']);
  });

  it('extractItems follows restItemsPath and restShape, and says what is wrong', () => {
    expect(extractItems({ restItemsPath: '', restShape: 'object' }, { a: 1 })).toEqual({ items: [{ a: 1 }] });
    expect(extractItems({ restItemsPath: 'results', restShape: 'array' }, { results: [{ a: 1 }, { a: 2 }] })).toEqual({ items: [{ a: 1 }, { a: 2 }] });
    expect(extractItems({ restItemsPath: 'data.items', restShape: 'array' }, { data: { items: [] } })).toEqual({ items: [] });
    expect(extractItems({ restItemsPath: 'results', restShape: 'array' }, { other: 1 })).toEqual({ error: 'no "results" in the response body' });
    expect(extractItems({ restItemsPath: '', restShape: 'array' }, { a: 1 })).toEqual({ error: 'expected an array at (body), got object' });
    expect(extractItems({ restItemsPath: '', restShape: 'object' }, [1])).toEqual({ error: 'expected an object at (body), got an array' });
  });
});

describe('RestPoller', () => {
  it('polls at the interval, pairs A/A reads, and records a wrong shape as an error', async () => {
    let n = 0;
    const srv = await httpServer((req, res) => {
      n += 1;
      if (req.url === '/api/positions/') json(res, 200, { account_id: 'A', positions: [], timestamp: 't', request_id: n });
      else json(res, 200, { not: 'an array' });
    });
    cleanups.push(srv.close);
    const client = new RestClient({ baseUrl: srv.url, timeoutMs: 1_000 });
    cleanups.push(() => client.close());
    const results: PollResult[] = [];
    const bars = { ...positions, name: 'intraday', restPath: '/bars', restShape: 'array' as const };
    const poller = new RestPoller({ client, aaEvery: 2, targets: [{ feature: positions, intervalMs: 30 }, { feature: bars, intervalMs: 30 }], onResult: (r) => results.push(r) });
    poller.start();
    await new Promise<void>((resolve) => {
      const t = setInterval(() => { if (results.filter((r) => r.feature === 'positions' && !r.aaFirst).length >= 4) { clearInterval(t); resolve(); } }, 10);
    });
    await poller.stop();
    const pos = results.filter((r) => r.feature === 'positions');
    const aa = pos.filter((r) => r.aaFirst);
    // The first poll and every second one are doubled.
    expect(aa.length).toBeGreaterThanOrEqual(2);
    expect(aa[0]!.aaFirst![0]!.request_id).not.toBe(aa[0]!.items![0]!.request_id);
    const bar = results.find((r) => r.feature === 'intraday')!;
    expect(bar.items).toBeNull();
    expect(bar.response).toMatchObject({ outcome: 'shape', error: 'expected an array at (body), got object' });
  });
});
