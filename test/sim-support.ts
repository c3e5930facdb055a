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

/**
 * The built CLI running `simulate` as a user starts it, kept alive so the test can talk to
 * it before stopping it (runCli only stops on its own schedule).
 */
export async function spawnSimulate(args: string[], env: Record<string, string> = {}): Promise<{
  url: string; wsUrl: string; stdout: () => string; stderr: () => string;
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}> {
  const { spawn } = await import('node:child_process');
  const { BIN, cliEnv } = await import('./support/cli.js');
  const child = spawn(process.execPath, [BIN, 'simulate', ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => { clearTimeout(kill); resolve(code); }));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^simulating on .*$/m.exec(out);
      if (m) resolve(m[0]);
    });
    void exited.then((code) => reject(new Error(`simulate exited (${code}) before listening: ${err}`)));
  });
  const m = /on (http:\/\/\S+) \((ws:\/\/\S+)\)/.exec(line)!;
  return {
    url: m[1]!,
    wsUrl: m[2]!,
    stdout: () => out,
    stderr: () => err,
    async stop(signal) {
      const t = performance.now();
      child.kill(signal);
      const code = await exited;
      return { code, ms: performance.now() - t };
    },
  };
}
