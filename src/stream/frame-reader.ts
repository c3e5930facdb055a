import type WebSocket from 'ws';

/**
 * The WS client's fast path for the one frame that arrives at full rate: a whole,
 * unfragmented, unmasked text frame from the server (RFC 6455 section 5.2, first byte
 * 0x81). Such a frame is handed straight to `onText` as a range of the socket's own
 * chunk: no Buffer per message, no fragment list, no two event emits.
 *
 * Every other byte (binary frames, fragmented messages, ping/pong/close, anything
 * malformed) goes, in order and unchanged, to ws's own Receiver, which does the rest of
 * the protocol as before: auto-pong, the close handshake, fragment assembly, protocol
 * errors and their close codes. The reader only splits the byte stream at frame
 * boundaries; it never judges a frame ws would reject (a masked or reserved-bit text
 * frame is not fast, so ws sees it and fails the connection as it always did).
 *
 * In `bench/parity-throughput.mjs` this is most of what separates parity from a bare ws
 * client: the frame path costs well under half of ws's per message.
 */

/** A text frame split across socket reads is put together here up to this size (header included); a larger one goes to ws. */
const MAX_CARRY = 256 * 1024;

export type TextSink = (buf: Buffer, start: number, end: number) => void;

export class TextFrameReader {
  /** The first bytes of a frame header that the next chunk completes (fewer than 14). */
  private carry: Buffer | null = null;
  /** A fast frame arriving over several reads, put together here: each byte is copied once. */
  private asm: Buffer | null = null;
  private asmFilled = 0;
  private asmHeader = 0;
  /** Bytes of a frame being handed to ws that are still to come. */
  private passing = 0;
  /** After a close frame or anything ws will fail on: every byte goes to ws from now on. */
  private passAll = false;
  /** A fragmented message is under way: its frames (and any between them) are ws's. */
  private fragmented = false;
  private readonly maxPayload: number;

  private readonly carryLimit: number;

  /**
   * `pass` writes bytes to ws's receiver and returns its backpressure answer (false: pause
   * the socket), or null once the receiver has failed (nothing more is read).
   * `maxChunks`: ws's maxBufferedChunks. A frame we put together never reaches ws, so it is
   * kept below the size that could arrive in more reads than ws would have buffered.
   */
  constructor(private readonly pass: (bytes: Buffer) => boolean | null, private readonly onText: TextSink, maxPayload = 0, maxChunks = 0) {
    this.maxPayload = maxPayload > 0 ? maxPayload : Number.MAX_SAFE_INTEGER;
    this.carryLimit = maxChunks > 0 ? Math.min(MAX_CARRY, maxChunks) : MAX_CARRY;
  }

  /** One chunk off the socket; returns false when the socket should pause (as ws's receiver would). */
  write(chunk: Buffer): boolean {
    if (this.passAll) return this.pass(chunk) ?? false;
    let off = 0;
    let ok = true;
    if (this.passing > 0) {
      const k = Math.min(this.passing, chunk.length);
      this.passing -= k;
      off = k;
      const r = this.pass(k === chunk.length ? chunk : chunk.subarray(0, k));
      if (r === null) return this.fail();
      ok = r;
      if (off === chunk.length) return ok;
    }
    if (this.carry !== null) {
      // A header split across reads: at most 13 bytes, completed from this chunk's first 14.
      const carry = this.carry;
      this.carry = null;
      const head = Buffer.concat([carry, chunk.subarray(off, off + 14)]);
      const h = this.header(head, 0);
      if (h === 0 || !this.isFast(head[0]!, head[1]!) || h + this.len > this.carryLimit) {
        // Not a frame we put together (or a read too small to finish the header): the
        // general loop over the two joined, which copies this chunk once.
        return this.frames(Buffer.concat([carry, off === 0 ? chunk : chunk.subarray(off)]), 0) && ok;
      }
      this.assemble(carry, 0, carry.length, h);
    }
    if (this.asm !== null) {
      const asm = this.asm;
      const k = Math.min(asm.length - this.asmFilled, chunk.length - off);
      chunk.copy(asm, this.asmFilled, off, off + k);
      this.asmFilled += k;
      off += k;
      if (this.asmFilled < asm.length) return ok;
      this.asm = null;
      this.onText(asm, this.asmHeader, asm.length);
    }
    return this.frames(chunk, off) && ok;
  }

  /** Header size of the frame at off (0: not all there); its payload length goes to `len`. */
  private len = 0;
  private header(buf: Buffer, off: number): number {
    const n = buf.length - off;
    if (n < 2) return 0;
    const b1 = buf[off + 1]!;
    let len = b1 & 0x7f;
    let h = 2;
    if (len === 126) {
      if (n < 4) return 0;
      len = buf.readUInt16BE(off + 2);
      h = 4;
    } else if (len === 127) {
      if (n < 10) return 0;
      len = buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6);
      h = 10;
    }
    if (b1 & 0x80) h += 4;
    this.len = len;
    return h;
  }

  /** A whole text frame, unmasked, outside a fragmented message, within ws's size limit. */
  private isFast(b0: number, b1: number): boolean {
    return b0 === 0x81 && (b1 & 0x80) === 0 && !this.fragmented && this.len <= this.maxPayload;
  }

  private fail(): boolean {
    this.passAll = true;
    this.carry = null;
    this.asm = null;
    return false;
  }

  /** Start putting together the fast frame whose first bytes are buf[from..to), header h bytes. */
  private assemble(buf: Buffer, from: number, to: number, h: number): void {
    this.asm = Buffer.allocUnsafe(h + this.len);
    buf.copy(this.asm, 0, from, to);
    this.asmFilled = to - from;
    this.asmHeader = h;
  }

  private frames(buf: Buffer, off: number): boolean {
    const n = buf.length;
    let ok = true;
    /** Start of a run of ws's frames not yet handed over (-1: none). */
    let passFrom = -1;
    for (;;) {
      const h = this.header(buf, off);
      if (h === 0) break;
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      const len = this.len;
      const end = off + h + len;
      if (this.isFast(b0, b1)) {
        // ws gets its frames before this one, whole or split, so they stay in order and
        // ws never holds a piece of a frame that is ours.
        if (passFrom >= 0) {
          const r = this.pass(buf.subarray(passFrom, off));
          if (r === null) return this.fail();
          ok = r && ok;
          passFrom = -1;
        }
        if (end > n) {
          if (len + h <= this.carryLimit) {
            this.assemble(buf, off, n, h);
            off = n;
            break;
          }
          // Too large to put together: ws does (and hands it over as a message).
          passFrom = off;
          this.passing = end - n;
          off = n;
          break;
        }
        this.onText(buf, off + h, end);
        off = end;
        continue;
      }
      // ws's frame. Ping, pong, binary and a fragment's pieces are well-formed and reading
      // goes on after them; after a close frame, or a frame ws will fail the connection
      // for, ws reads nothing more, and neither do we.
      if (passFrom < 0) passFrom = off;
      const opcode = b0 & 0x0f;
      const control = opcode === 9 || opcode === 10;
      const wellFormed = (b0 & 0x70) === 0 && (b1 & 0x80) === 0 && len <= this.maxPayload &&
        (opcode <= 2 || (control && (b0 & 0x80) !== 0 && len <= 125));
      if (!wellFormed || opcode === 8) {
        this.passAll = true;
        off = n;
        break;
      }
      if (opcode <= 2) this.fragmented = (b0 & 0x80) === 0;
      if (end > n) {
        this.passing = end - n;
        off = n;
        break;
      }
      off = end;
    }
    if (passFrom >= 0) {
      const r = this.pass(buf.subarray(passFrom, off));
      if (r === null) return this.fail();
      ok = r && ok;
    }
    // What is left is the start of a header (a fast frame's start went to `assemble`).
    if (off < n) this.carry = Buffer.from(buf.subarray(off));
    return ok;
  }
}

interface ReceiverInternals {
  write(chunk: Buffer): boolean;
  destroyed: boolean;
  /** Set as soon as a write fails (the stream is destroyed, and says so, a tick later). */
  errored: Error | null;
  _maxPayload?: number;
  _maxBufferedChunks?: number;
  _skipUTF8Validation?: boolean;
  _allowSynchronousEvents?: boolean;
}

/**
 * Put a TextFrameReader in front of an open ws client's receiver: ws's socket handler
 * then feeds the reader, which hands ws what is not a fast text frame. The ws client must
 * be made with `skipUTF8Validation: true` (the sink checks UTF-8) and
 * `allowSynchronousEvents: true`. Returns false (and changes nothing) when this ws does
 * not look like that; everything then goes through ws's 'message' event as usual.
 *
 * Call it from the 'open' listener: ws has set up its receiver, and the first data
 * (even bytes that came with the handshake response) has not been read yet.
 */
export function attachTextFrameReader(ws: WebSocket, onText: TextSink): boolean {
  const receiver = (ws as unknown as { _receiver?: ReceiverInternals })._receiver;
  if (!receiver || typeof receiver.write !== 'function' || Object.prototype.hasOwnProperty.call(receiver, 'write')) return false;
  // The reader does not check UTF-8 (its caller must), and ws's own frames must come out
  // as they go in, not a tick later, or they would fall behind the fast ones.
  if (receiver._skipUTF8Validation !== true || receiver._allowSynchronousEvents !== true) return false;
  const write = receiver.write.bind(receiver);
  const pass = (bytes: Buffer): boolean | null => {
    if (receiver.destroyed || receiver.errored) return null;
    const ok = write(bytes);
    // After a protocol error ws reads nothing more, and neither do we.
    return receiver.destroyed || receiver.errored ? null : ok;
  };
  const reader = new TextFrameReader(pass, onText, receiver._maxPayload ?? 0, receiver._maxBufferedChunks ?? 0);
  receiver.write = (chunk: Buffer) => reader.write(chunk);
  return true;
}
