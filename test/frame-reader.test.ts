import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import type WebSocket from 'ws';
import { attachTextFrameReader } from '../src/stream/frame-reader.js';
import { WsClient, type WsMessage } from '../src/stream/ws-client.js';

/**
 * The fast path must read exactly what ws's receiver would, wherever the socket's reads
 * split the stream, and leave every other frame (and every protocol error) to ws.
 */

interface ReceiverLike {
  write(chunk: Buffer): boolean;
  destroyed: boolean;
  errored: Error | null;
  on(event: string, fn: (...args: never[]) => void): void;
}
const Receiver = (wsModule as unknown as { Receiver: new (o: object) => ReceiverLike }).Receiver;

/** One server frame (RFC 6455 5.2): unmasked unless asked. */
function frame(opcode: number, payload: Buffer | string, o: { fin?: boolean; mask?: boolean; rsv1?: boolean } = {}): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const n = body.length;
  const b0 = (o.fin === false ? 0 : 0x80) | (o.rsv1 ? 0x40 : 0) | opcode;
  const m = o.mask ? 0x80 : 0;
  let head: Buffer;
  if (n < 126) head = Buffer.from([b0, m | n]);
  else if (n < 65536) head = Buffer.from([b0, m | 126, n >> 8, n & 255]);
  else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = m | 127;
    head.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    head.writeUInt32BE(n >>> 0, 6);
  }
  if (!o.mask) return Buffer.concat([head, body]);
  // A zero mask leaves the payload as it is; the bit alone is the protocol error.
  return Buffer.concat([head, Buffer.alloc(4), body]);
}
const text = (s: string | Buffer, o?: { fin?: boolean; mask?: boolean; rsv1?: boolean }) => frame(1, s, o);

/** A ws receiver with the reader in front, fed `chunks`; what it hands out, in order. */
async function feed(chunks: Buffer[], maxPayload = 0, maxBufferedChunks = 0, withReader = true): Promise<{ events: string[]; fast: number }> {
  const receiver = new Receiver({ isServer: false, skipUTF8Validation: true, allowSynchronousEvents: true, maxPayload, maxBufferedChunks });
  const events: string[] = [];
  receiver.on('message', (d: Buffer, binary: boolean) => events.push(binary ? `binary:${d.toString('hex')}` : `text:${d.toString()}`));
  receiver.on('ping', (d: Buffer) => events.push(`ping:${d.toString()}`));
  receiver.on('pong', (d: Buffer) => events.push(`pong:${d.toString()}`));
  receiver.on('conclude', (code: number) => events.push(`close:${code}`));
  receiver.on('error', (e: Error & { code?: string }) => events.push(`error:${e.code}`));
  let fast = 0;
  const attached = withReader && attachTextFrameReader({ _receiver: receiver } as unknown as WebSocket, (buf, s, e) => {
    fast += 1;
    events.push(`text:${buf.toString('utf8', s, e)}`);
  });
  expect(attached).toBe(withReader);
  for (const c of chunks) {
    // As ws's socket handler: nothing more once the receiver has concluded or failed.
    if (events.some((e) => e.startsWith('close:')) || receiver.errored) break;
    receiver.write(c);
    // Reads come apart in time: whatever ws defers lands between them.
    await new Promise((r) => setImmediate(r));
  }
  // ws emits a protocol error on the next tick (the receiver is marked errored at once).
  await new Promise((r) => setImmediate(r));
  return { events, fast };
}

/** The stream cut at the given offsets. */
function cut(stream: Buffer, at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...at].sort((a, b) => a - b)) {
    out.push(stream.subarray(from, p));
    from = p;
  }
  out.push(stream.subarray(from));
  return out.filter((c) => c.length > 0);
}

/** A small deterministic PRNG, so a failing split can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const mid = 'm'.repeat(300);
const badUtf8 = Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
/** Every kind of frame a server may send, in one stream, and what a reader must hand out. */
const mixed = Buffer.concat([
  text('{"type":"a"}'),
  text(mid), // 16-bit length
  frame(2, Buffer.from([1, 2, 3])),
  frame(9, 'p1'),
  text('frag-', { fin: false }),
  frame(9, 'p2'), // a control frame inside a fragmented message
  frame(0, 'men', { fin: false }),
  frame(0, 'ted'),
  text(''),
  text(badUtf8),
  frame(10, 'q'),
  text('{"type":"last"}'),
  frame(2, Buffer.from([4, 5])), // ws's again, after a fast frame that may be split
]);
const mixedEvents = [
  'text:{"type":"a"}', `text:${mid}`, 'binary:010203', 'ping:p1', 'ping:p2', 'text:frag-mented', 'text:',
  `text:${badUtf8.toString()}`, 'pong:q', 'text:{"type":"last"}', 'binary:0405',
];
/** Whole text frames outside the fragmented message: the ones the fast path takes. */
const mixedFast = 5;

describe('TextFrameReader in front of ws', () => {
  it('hands out every frame in order, and takes the whole text frames itself', async () => {
    expect(await feed([mixed])).toEqual({ events: mixedEvents, fast: mixedFast });
  });

  it('reads the same wherever the reads split the stream (every single cut, every double cut, one byte at a time)', async () => {
    for (let p = 1; p < mixed.length; p++) {
      expect(await feed(cut(mixed, [p])), `cut at ${p}`).toEqual({ events: mixedEvents, fast: mixedFast });
    }
    for (let p = 1; p < mixed.length; p += 3) {
      for (let q = p + 1; q < Math.min(mixed.length, p + 40); q++) {
        expect(await feed(cut(mixed, [p, q])), `cuts at ${p}, ${q}`).toEqual({ events: mixedEvents, fast: mixedFast });
      }
    }
    expect(await feed([...mixed].map((b) => Buffer.from([b])))).toEqual({ events: mixedEvents, fast: mixedFast });
  });

  it('reads a 64-bit-length frame and the frames around it under random splits', async () => {
    const big = JSON.stringify({ type: 'big', data: 'x'.repeat(70_000) });
    const stream = Buffer.concat([text('{"type":"a"}'), text(big), frame(9, 'p'), text('{"type":"b"}')]);
    const want = ['text:{"type":"a"}', `text:${big}`, 'ping:p', 'text:{"type":"b"}'];
    const rand = rng(7);
    for (let round = 0; round < 50; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => 1 + Math.floor(rand() * (stream.length - 1)));
      expect((await feed(cut(stream, cuts))).events, `round ${round}`).toEqual(want);
    }
  });

  it('leaves a text frame too large to carry across reads to ws, which still delivers it', async () => {
    const huge = 'h'.repeat(300 * 1024);
    const stream = Buffer.concat([text(huge), text('{"type":"after"}')]);
    const split = await feed(cut(stream, [1 << 16, 2 << 16, 3 << 16, 4 << 16]));
    // Handed to ws: only the frame after it is the reader's.
    expect(split.events).toEqual([`text:${huge}`, 'text:{"type":"after"}']);
    expect(split.fast).toBe(1);
    // In one read it is a whole frame like any other.
    expect((await feed([stream])).fast).toBe(2);
  });

  it('puts a large text frame that comes in small reads together itself, within the chunk limit of ws', async () => {
    const big = JSON.stringify({ type: 'big', data: 'y'.repeat(200_000) });
    const stream = Buffer.concat([text(big), text('{"type":"after"}')]);
    const pieces = (size: number, of: Buffer) => Array.from({ length: Math.ceil(of.length / size) }, (_, i) => of.subarray(i * size, (i + 1) * size));
    expect(await feed(pieces(100, stream))).toEqual({ events: [`text:${big}`, 'text:{"type":"after"}'], fast: 2 });
    // A frame in more reads than ws would buffer fails as it does without the reader.
    const mid = text('z'.repeat(2_000));
    expect((await feed(pieces(1, mid), 0, 100)).events).toEqual(['error:WS_ERR_TOO_MANY_BUFFERED_PARTS']);
  });

  it('stays out of the way of a ws client that checks UTF-8 or defers its events', () => {
    for (const o of [{ skipUTF8Validation: false, allowSynchronousEvents: true }, { skipUTF8Validation: true, allowSynchronousEvents: false }]) {
      const receiver = new Receiver({ isServer: false, ...o });
      expect(attachTextFrameReader({ _receiver: receiver } as unknown as WebSocket, () => {}), JSON.stringify(o)).toBe(false);
    }
  });

  it('hands out exactly what ws alone does, for random streams of every frame kind split at random', async () => {
    const rand = rng(2026);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const body = (n: number) => Buffer.alloc(n, 0x78);
    const sizes = [0, 1, 5, 125, 126, 200, 65_535, 65_536, 70_000];
    for (let round = 0; round < 150; round++) {
      const parts: Buffer[] = [];
      let fragmented = false;
      for (let i = 1 + Math.floor(rand() * 10); i > 0; i--) {
        const k = rand();
        if (k < 0.45) parts.push(text(body(pick(sizes))));
        else if (k < 0.52) parts.push(frame(2, body(pick(sizes))));
        else if (k < 0.62) parts.push(frame(pick([9, 10]), body(Math.floor(rand() * 10))));
        else if (k < 0.72) { parts.push(frame(fragmented ? 0 : 1, body(pick(sizes) % 300), { fin: false })); fragmented = true; }
        else if (k < 0.8) { if (fragmented) parts.push(frame(0, body(3))); fragmented = false; }
        else if (k < 0.83) parts.push(frame(8, Buffer.from([0x03, 0xe8])));
        else if (k < 0.86) parts.push(text(body(3), { mask: true }));
        else if (k < 0.88) parts.push(text(body(3), { rsv1: true }));
        else if (k < 0.9) parts.push(frame(3, body(3)));
        else parts.push(text(body(pick(sizes))));
      }
      const stream = Buffer.concat(parts);
      const small = rand() < 0.3;
      const cuts = Array.from({ length: small ? Math.min(400, stream.length) : 1 + Math.floor(rand() * 20) }, () => 1 + Math.floor(rand() * (stream.length - 1)));
      const chunks = cut(stream, cuts);
      const maxPayload = rand() < 0.2 ? pick([100, 1_000, 70_000]) : 0;
      const alone = await feed(chunks, maxPayload, 0, false);
      const withReader = await feed(chunks, maxPayload);
      expect(withReader.events, `round ${round}`).toEqual(alone.events);
    }
  }, 60_000);

  it('reads nothing after a close frame', async () => {
    const stream = Buffer.concat([text('{"type":"a"}'), frame(8, Buffer.from([0x03, 0xe8])), text('{"type":"b"}')]);
    expect((await feed([stream])).events).toEqual(['text:{"type":"a"}', 'close:1000']);
    expect((await feed(cut(stream, [16]))).events).toEqual(['text:{"type":"a"}', 'close:1000']);
  });

  it('leaves protocol errors to ws and reads nothing after them', async () => {
    const after = text('{"type":"after"}');
    const cases: [string, Buffer, number, string][] = [
      ['a masked frame from the server', text('{"type":"m"}', { mask: true }), 0, 'WS_ERR_UNEXPECTED_MASK'],
      ['RSV1 without an extension', text('{"type":"r"}', { rsv1: true }), 0, 'WS_ERR_UNEXPECTED_RSV_1'],
      ['a text frame over maxPayload', text('x'.repeat(200)), 100, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'],
      ['a new text frame inside a fragmented message', Buffer.concat([text('a', { fin: false }), text('b')]), 0, 'WS_ERR_INVALID_OPCODE'],
      ['a fragmented ping', frame(9, 'p', { fin: false }), 0, 'WS_ERR_EXPECTED_FIN'],
      ['a reserved opcode', frame(3, 'z'), 0, 'WS_ERR_INVALID_OPCODE'],
    ];
    for (const [name, bad, maxPayload, code] of cases) {
      const stream = Buffer.concat([text('{"type":"before"}'), bad, after]);
      const whole = await feed([stream], maxPayload);
      expect(whole.events, name).toEqual(['text:{"type":"before"}', `error:${code}`]);
      const split = await feed([...stream].map((b) => Buffer.from([b])), maxPayload);
      expect(split.events, `${name}, one byte at a time`).toEqual(['text:{"type":"before"}', `error:${code}`]);
    }
  });
});

// ------------------------------------------------------------------ over a real socket

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/**
 * A WebSocket server written by hand on a TCP socket: it answers the handshake, then
 * writes `stream` in pieces of `piece` bytes, one piece per turn of the event loop, and
 * records the frames the client sends back.
 */
async function rawServer(stream: Buffer, piece: number) {
  const fromClient: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    let head = '';
    let upgraded = false;
    sock.on('data', (d) => {
      if (upgraded) {
        // Client frames are masked; the opcode is enough here.
        fromClient.push(d[0]! & 0x0f);
        return;
      }
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      const key = /sec-websocket-key: *(\S+)/i.exec(head)![1]!;
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      // The first piece goes out with the handshake answer, as a fast server's would.
      sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      let off = 0;
      const next = () => {
        if (off >= stream.length || sock.destroyed) return;
        sock.write(stream.subarray(off, off + piece));
        off += piece;
        setImmediate(next);
      };
      next();
    });
    sock.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/`, fromClient };
}

describe('WsClient with the fast path, over a socket that delivers a few bytes at a time', () => {
  it('gets every message in order, answers pings, counts bad frames, and sees the close code', async () => {
    const msgs = Array.from({ length: 200 }, (_, i) => JSON.stringify({ type: i % 2 ? 'positions' : 'account_balance', data: { i, pad: 'p'.repeat(i % 150) } }));
    const stream = Buffer.concat([
      ...msgs.slice(0, 100).map((m) => text(m)),
      frame(9, 'are you there'),
      frame(2, Buffer.from([9, 9])),
      text('not json'),
      text(JSON.stringify({ type: 'positions', data: { i: 'frag' } }).slice(0, 10), { fin: false }),
      frame(0, JSON.stringify({ type: 'positions', data: { i: 'frag' } }).slice(10)),
      ...msgs.slice(100).map((m) => text(m)),
      frame(8, Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye')])),
      text(JSON.stringify({ type: 'positions', data: { i: 'after close' } })),
    ]);
    const srv = await rawServer(stream, 7);
    const c = new WsClient({ url: srv.url, token: null, pingIntervalMs: 0, reconnect: false });
    cleanups.push(() => c.stop());
    const got: WsMessage[] = [];
    c.on('message', (m: WsMessage) => got.push(m));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => c.once('close', resolve));
    c.start();
    const { code, reason } = await closed;
    expect(code).toBe(4000);
    expect(reason).toBe('bye');
    const want = [...msgs.slice(0, 100), JSON.stringify({ type: 'positions', data: { i: 'frag' } }), ...msgs.slice(100)];
    expect(got.map((m) => m.text)).toEqual(want);
    expect(got.map((m) => m.bytes)).toEqual(want.map((m) => Buffer.byteLength(m)));
    const s = c.stats();
    expect(s.messages).toBe(201);
    expect(s.badFrames).toMatchObject({ binary: 1, nonJson: 1 });
    // The client answered the ping (0xA) and the close (0x8).
    expect(srv.fromClient).toContain(0xa);
    expect(srv.fromClient).toContain(0x8);
  });
});
