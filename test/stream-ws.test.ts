import { once } from 'node:events';
import { createServer, type Server, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { WsClient, backoffDelay } from '../src/stream/ws-client.js';

/** A real ws server on 127.0.0.1:0; `onConnection` decides what it does. */
async function wsServer(opts: { autoPong?: boolean; verify?: (req: IncomingMessage) => boolean } = {}) {
  const http: Server = createServer();
  const wss = new WebSocketServer({
    server: http,
    autoPong: opts.autoPong ?? true,
    verifyClient: opts.verify ? (info, cb) => cb(opts.verify!(info.req), 401, 'Unauthorized') : undefined,
  });
  const requests: IncomingMessage[] = [];
  wss.on('connection', (_ws, req) => requests.push(req));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  return {
    wss,
    requests,
    url: `ws://127.0.0.1:${port}/ws/`,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function waitFor<T>(emitter: WsClient, event: 'open' | 'reconnect' | 'close' | 'error' | 'dead', timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (e: unknown) => { clearTimeout(t); resolve(e as T); });
  });
}

describe('WsClient', () => {
  it('sends the token as ?token= and bearer header, parses messages, counts bad frames without crashing', async () => {
    const srv = await wsServer();
    cleanups.push(() => srv.close());
    srv.wss.on('connection', (ws: WebSocket) => {
      ws.send(JSON.stringify({ type: 'heartbeat', data: { tick: 1 } }));
      ws.send(Buffer.from([1, 2, 3]), { binary: true });
      ws.send('not json {');
      ws.send(JSON.stringify({ data: { no: 'type' } }));
      ws.send(JSON.stringify([1, 2]));
      ws.send(JSON.stringify({ type: 'positions', data: { account_id: 'A' } }));
    });
    const c = new WsClient({ url: srv.url, token: 's3cret', tokenIn: 'both', keepBadFrames: 2, pingIntervalMs: 0 });
    cleanups.push(() => c.stop());
    const types: string[] = [];
    const done = new Promise<void>((resolve) => c.on('message', (m) => { types.push(m.type); if (m.type === 'positions') resolve(); }));
    c.start();
    await done;
    expect(types).toEqual(['heartbeat', 'positions']);
    const req = srv.requests[0]!;
    expect(req.url).toBe('/ws/?token=s3cret');
    expect(req.headers.authorization).toBe('Bearer s3cret');
    const s = c.stats();
    expect(s.badFrames).toMatchObject({ binary: 1, nonJson: 1, noType: 2 });
    expect(s.badFrames.samples).toHaveLength(2);
    expect(s.badFrames.samples[1]!.sample).toBe('not json {');
    expect(s.url).toContain('token=***');
    expect(s.url).not.toContain('s3cret');
    expect(s.state).toBe('connected');
  });

  it('a text frame that is not UTF-8 is a bad frame, not a dropped connection; a real U+FFFD is data', async () => {
    const srv = await wsServer();
    cleanups.push(() => srv.close());
    srv.wss.on('connection', (ws: WebSocket) => {
      // {"type":"positions","data":{"x":"<0xC3 0x28>"}}: 0xC3 needs a continuation byte.
      const bad = Buffer.concat([Buffer.from('{"type":"positions","data":{"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]);
      ws.send(bad, { binary: false });
      // A surrogate half encoded as UTF-8 (CESU-8) is not UTF-8 either.
      ws.send(Buffer.concat([Buffer.from('{"type":"positions","data":{"x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}')]), { binary: false });
      ws.send(JSON.stringify({ type: 'positions', data: { x: 'replacement \uFFFD char' } }));
      ws.send(JSON.stringify({ type: 'heartbeat', data: {} }));
    });
    const c = new WsClient({ url: srv.url, token: null, pingIntervalMs: 0 });
    cleanups.push(() => c.stop());
    const got: unknown[] = [];
    const done = new Promise<void>((resolve) => c.on('message', (m) => { got.push(m.data); if (m.type === 'heartbeat') resolve(); }));
    c.start();
    await done;
    expect(got).toEqual([{ x: 'replacement \uFFFD char' }, {}]);
    const s = c.stats();
    expect(s.badFrames).toMatchObject({ invalidUtf8: 2, binary: 0, nonJson: 0, noType: 0 });
    expect(s.badFrames.samples[0]).toMatchObject({ kind: 'invalid-utf8' });
    expect(s.badFrames.samples[0]!.sample).toBe('{"type":"positions","data":{"x":"\uFFFD("}}');
    expect(s.connects).toBe(1);
    expect(s.closeCodes).toEqual({});
    expect(s.state).toBe('connected');
  });

  it('header-only token stays out of the URL', async () => {
    const srv = await wsServer();
    cleanups.push(() => srv.close());
    const c = new WsClient({ url: srv.url, token: 'tok', tokenIn: 'header', pingIntervalMs: 0 });
    cleanups.push(() => c.stop());
    c.start();
    await waitFor(c, 'open');
    expect(srv.requests[0]!.url).toBe('/ws/');
    expect(srv.requests[0]!.headers.authorization).toBe('Bearer tok');
  });

  it('measures ws-level and protocol ping round trips', async () => {
    const srv = await wsServer();
    cleanups.push(() => srv.close());
    srv.wss.on('connection', (ws: WebSocket) => {
      ws.on('message', (raw) => {
        const m = JSON.parse(String(raw)) as { type: string; timestamp: number };
        // Answered 40 ms late: the round trip measured must include the wait.
        if (m.type === 'ping') setTimeout(() => ws.send(JSON.stringify({ type: 'pong', timestamp: m.timestamp })), 40);
      });
    });
    const c = new WsClient({ url: srv.url, pingIntervalMs: 50 });
    cleanups.push(() => c.stop());
    const kinds = new Set<string>();
    const both = new Promise<void>((resolve) => c.on('pong', (p) => { kinds.add(p.kind); if (kinds.size === 2) resolve(); }));
    c.start();
    await both;
    const s = c.stats();
    expect(s.rtt.ws.count).toBeGreaterThan(0);
    expect(s.rtt.protocol.count).toBeGreaterThan(0);
    expect(s.rtt.protocol.lastMs).toBeGreaterThanOrEqual(35);
    // A protocol pong is the client's own business, not a message.
    expect(s.messages).toBe(0);
  });

  it('reconnects after the server drops it, measuring the gap', async () => {
    const srv = await wsServer();
    cleanups.push(() => srv.close());
    const c = new WsClient({ url: srv.url, pingIntervalMs: 0, backoff: { initialMs: 20, maxMs: 50 } });
    cleanups.push(() => c.stop());
    c.start();
    await waitFor(c, 'open');
    const closedAt = Date.now();
    for (const ws of srv.wss.clients) ws.close(1012, 'restart');
    const r = await waitFor<{ gapMs: number }>(c, 'reconnect');
    // The gap is the time without a socket: at least the first backoff (20 ms), at most the time it took.
    expect(r.gapMs).toBeGreaterThanOrEqual(15);
    expect(r.gapMs).toBeLessThanOrEqual(Date.now() - closedAt + 5);
    const s = c.stats();
    expect(s.reconnects).toBe(1);
    expect(s.connects).toBe(2);
    expect(s.gaps.count).toBe(1);
    expect(s.lastClose?.code).toBe(1012);
  });

  it('terminates a socket whose pongs stop, then reconnects', async () => {
    const srv = await wsServer({ autoPong: false });
    cleanups.push(() => srv.close());
    const c = new WsClient({ url: srv.url, pingIntervalMs: 40, pongTimeoutMs: 100, backoff: { initialMs: 20, maxMs: 50 } });
    cleanups.push(() => c.stop());
    c.start();
    await waitFor(c, 'open');
    const dead = await waitFor<{ reason: string }>(c, 'dead');
    expect(dead.reason).toMatch(/no pong/);
    await waitFor(c, 'reconnect');
    expect(c.stats().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('reports the handshake status of a refused connection (401)', async () => {
    const srv = await wsServer({ verify: () => false });
    cleanups.push(() => srv.close());
    const c = new WsClient({ url: srv.url, reconnect: false, pingIntervalMs: 0 });
    cleanups.push(() => c.stop());
    const err = waitFor<{ handshakeStatus: number | null; during: string }>(c, 'error');
    const closed = waitFor(c, 'close');
    c.start();
    const e = await err;
    expect(e.handshakeStatus).toBe(401);
    expect(e.during).toBe('handshake');
    await closed;
    expect(c.state).toBe('closed');
    expect(c.stats().lastHandshakeStatus).toBe(401);
  });

  it('gives up a handshake the server never answers, after handshakeTimeout', async () => {
    const sockets: Socket[] = [];
    const tcp = createTcpServer((s) => { sockets.push(s); });
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    cleanups.push(() => { sockets.forEach((s) => s.destroy()); return new Promise((r) => tcp.close(r)); });
    const port = (tcp.address() as AddressInfo).port;
    const c = new WsClient({ url: `ws://127.0.0.1:${port}/ws/`, reconnect: false, handshakeTimeoutMs: 150, pingIntervalMs: 0 });
    cleanups.push(() => c.stop());
    const err = waitFor<{ message: string }>(c, 'error');
    c.start();
    expect((await err).message).toMatch(/timed out/i);
    expect(c.stats().connects).toBe(0);
  });

  it('backoff grows exponentially, is capped, and jitter only shortens it', () => {
    const b = { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.5 };
    expect(backoffDelay(1, b, () => 0)).toBe(100);
    expect(backoffDelay(3, b, () => 0)).toBe(400);
    expect(backoffDelay(10, b, () => 0)).toBe(1_000);
    expect(backoffDelay(10, b, () => 1)).toBe(500);
  });
});
