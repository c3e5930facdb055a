import { once } from 'node:events';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';

/** The default config (PROTOCOL.md), untouched by this machine's env or files. */
export function defaultConfig(over: { redisUrl?: string; prefix?: string } = {}): Config {
  return loadConfig({ cwd: '/nonexistent-thor-cutover-test', env: {}, redisUrl: over.redisUrl, prefix: over.prefix });
}

export interface Frame {
  raw: string;
  at: number;
  /** null when the frame is not JSON. */
  msg: { type: string; data?: Record<string, unknown>; timestamp?: unknown } | null;
}

/** A plain WS client that keeps every frame, as a user's `wscat` would show them. */
export class Collector {
  readonly frames: Frame[] = [];
  closeCode: number | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const raw = data.toString();
      let msg: Frame['msg'] = null;
      try { msg = JSON.parse(raw); } catch { /* kept as a bad frame */ }
      this.frames.push({ raw, at: performance.now(), msg });
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('close', (code) => { this.closeCode = code; for (const w of this.waiters.splice(0)) w(); });
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<Collector> {
    const ws = new WebSocket(url, { headers, handshakeTimeout: 3_000 });
    ws.on('error', () => {});
    const c = new Collector(ws);
    await once(ws, 'open');
    return c;
  }

  of(type: string): Frame[] {
    return this.frames.filter((f) => f.msg?.type === type);
  }

  /** Wait until the predicate holds over what was received (bounded: no test hangs). */
  async until(pred: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what} (${this.frames.length} frames)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = once(this.ws, 'close');
    this.ws.terminate();
    await closed;
  }
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}
