import { Agent, request } from 'undici';
import type { FeatureConfig } from '../config/types.js';
import { untilAborted } from '../abort.js';

/**
 * REST side: one keep-alive pool for every call, explicit timeouts (undici's defaults are
 * 300 s), every body consumed, the status checked by us. A call never throws for what a
 * backend can do wrong: the outcome says what happened.
 */

export type RestOutcome = 'ok' | 'http-error' | 'timeout' | 'connect-error' | 'non-json' | 'shape' | 'aborted';
export type StatusClass = 'ok' | 'redirect' | 'unauthorized' | 'forbidden' | 'not-found' | 'client-error' | 'server-error';

export interface RestResponse {
  path: string;
  /** When the request was sent and when the answer (or the failure) came. */
  sentAt: number;
  at: number;
  ms: number;
  status: number | null;
  statusClass: StatusClass | null;
  outcome: RestOutcome;
  /** The parsed body when it was JSON (any status). */
  body?: unknown;
  bytes: number;
  /** Short description of what went wrong. */
  error?: string;
}

export interface RestClientOptions {
  baseUrl: string;
  token?: string | null;
  timeoutMs: number;
  /** Sockets per origin; one per feature poller is plenty. */
  connections?: number;
}

export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'ok';
  if (status >= 300 && status < 400) return 'redirect';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status < 500) return 'client-error';
  return 'server-error';
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** A REST payload of this feature set is kilobytes; past this it is not one to compare. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export class RestClient {
  private readonly agent: Agent;
  private readonly base: string;
  private readonly headers: Record<string, string>;
  readonly timeoutMs: number;

  constructor(opts: RestClientOptions) {
    this.timeoutMs = opts.timeoutMs;
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.headers = { accept: 'application/json' };
    if (opts.token) this.headers.authorization = `Bearer ${opts.token}`;
    this.agent = new Agent({
      connect: { timeout: opts.timeoutMs },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 30_000,
      connections: opts.connections ?? 8,
    });
  }

  url(path: string): string {
    return this.base + (path.startsWith('/') ? path : `/${path}`);
  }

  async get(path: string, signal?: AbortSignal): Promise<RestResponse> {
    const sentAt = Date.now();
    const done = (r: Omit<RestResponse, 'path' | 'sentAt' | 'at' | 'ms'>): RestResponse => {
      const at = Date.now();
      return { path, sentAt, at, ms: at - sentAt, ...r };
    };
    // undici's body timeout bounds the gap between two chunks, not the whole answer: a
    // server trickling one byte a second would never finish. This bounds the whole call.
    // (Past undici's own timeouts, whose timers are coarse, so theirs speak first when they apply.)
    const totalMs = this.timeoutMs * 2 + 1_000;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), totalMs);
    const combined = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
    let status: number | null = null;
    try {
      const res = await request(this.url(path), { method: 'GET', headers: this.headers, dispatcher: this.agent, signal: combined });
      status = res.statusCode;
      // Always read the body: an unread body keeps the socket from going back to the pool.
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          res.body.destroy();
          return done({ status, statusClass: classifyStatus(status), outcome: 'non-json', bytes: size, error: `body larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB: not read` });
        }
        chunks.push(chunk);
      }
      const text = Buffer.concat(chunks).toString('utf8');
      const statusClass = classifyStatus(status);
      let body: unknown;
      let json = true;
      try { body = JSON.parse(text); } catch { json = false; }
      if (statusClass !== 'ok') {
        return done({ status, statusClass, outcome: 'http-error', bytes: text.length, ...(json ? { body } : {}), error: `HTTP ${status}` });
      }
      if (!json) {
        const ct = res.headers['content-type'];
        return done({ status, statusClass, outcome: 'non-json', bytes: text.length, error: `not JSON (${String(ct ?? 'no content-type')}): ${JSON.stringify(text.slice(0, 60))}` });
      }
      return done({ status, statusClass, outcome: 'ok', body, bytes: text.length });
    } catch (err) {
      const e = err as Error & { code?: string };
      if (signal?.aborted) return done({ status, statusClass: status === null ? null : classifyStatus(status), outcome: 'aborted', bytes: 0, error: 'aborted' });
      if (deadline.signal.aborted) {
        return done({ status, statusClass: status === null ? null : classifyStatus(status), outcome: 'timeout', bytes: 0, error: `no complete answer within ${totalMs} ms` });
      }
      const code = e.code ?? '';
      // Anything else (refused, reset, DNS, a socket closed mid-body) means the endpoint cannot be read.
      const outcome: RestOutcome = TIMEOUT_CODES.has(code) ? 'timeout' : 'connect-error';
      const message = outcome === 'timeout' ? `no answer within ${this.timeoutMs} ms (${code})` : `${code || e.name}: ${e.message}`;
      return done({ status, statusClass: status === null ? null : classifyStatus(status), outcome, bytes: 0, error: message });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drop every socket now, in-flight requests included (a stalled endpoint must not hold up exit). */
  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

/**
 * The items of a REST body, by the feature's `restItemsPath` and `restShape`. A body of
 * the wrong shape is an error the report names, with where it looked.
 */
export function extractItems(feature: Pick<FeatureConfig, 'restItemsPath' | 'restShape'>, body: unknown): { items: Record<string, unknown>[] } | { error: string } {
  let node: unknown = body;
  const where = feature.restItemsPath || '(body)';
  if (feature.restItemsPath) {
    for (const part of feature.restItemsPath.split('.')) {
      if (typeof node !== 'object' || node === null || Array.isArray(node) || !(part in node)) {
        return { error: `no "${feature.restItemsPath}" in the response body` };
      }
      node = (node as Record<string, unknown>)[part];
    }
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (feature.restShape === 'object') {
    if (isObject(node)) return { items: [node] };
    return { error: `expected an object at ${where}, got ${Array.isArray(node) ? 'an array' : typeof node}` };
  }
  if (!Array.isArray(node)) return { error: `expected an array at ${where}, got ${node === null ? 'null' : typeof node}` };
  const items = node.filter(isObject);
  if (items.length !== node.length) return { error: `expected an array of objects at ${where}` };
  return { items };
}

export interface PollResult {
  feature: string;
  response: RestResponse;
  /** Items when the call succeeded and the body had the configured shape. */
  items: Record<string, unknown>[] | null;
  /** Set on the second call of an A/A pair: the first call's items. */
  aaFirst: Record<string, unknown>[] | null;
}

export interface PollTarget {
  feature: FeatureConfig;
  /** Already divided by --speed. */
  intervalMs: number;
}

export interface RestPollerOptions {
  client: RestClient;
  targets: PollTarget[];
  onResult: (r: PollResult) => void;
  /** Every Nth poll of a feature (and its first) is followed at once by a second one: the A/A pair. 0 = never. */
  aaEvery?: number;
}

/**
 * Polls each feature at its interval, one call in flight per feature (a slow endpoint
 * slows its own polls, never piles them up).
 */
export class RestPoller {
  private readonly controller = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private started = false;

  constructor(private readonly opts: RestPollerOptions) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const t of this.opts.targets) this.loops.push(this.loop(t));
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.all(this.loops);
  }

  private async loop(t: PollTarget): Promise<void> {
    const { client, onResult } = this.opts;
    const aaEvery = this.opts.aaEvery ?? 20;
    const signal = this.controller.signal;
    let n = 0;
    while (!signal.aborted) {
      const began = Date.now();
      const first = await this.poll(t, client, signal, null);
      if (first === null) return;
      onResult(first);
      if (aaEvery > 0 && n % aaEvery === 0 && first.items) {
        const second = await this.poll(t, client, signal, first.items);
        if (second === null) return;
        onResult(second);
      }
      n += 1;
      const wait = Math.max(0, t.intervalMs - (Date.now() - began));
      // At least a timer's turn between polls, even when a poll overran its interval.
      if (await untilAborted(signal, Math.max(1, wait))) return;
    }
  }

  private async poll(t: PollTarget, client: RestClient, signal: AbortSignal, aaFirst: PollResult['items']): Promise<PollResult | null> {
    const response = await client.get(t.feature.restPath, signal);
    if (response.outcome === 'aborted') return null;
    let items: PollResult['items'] = null;
    if (response.outcome === 'ok') {
      const got = extractItems(t.feature, response.body);
      if ('items' in got) items = got.items;
      else {
        response.outcome = 'shape';
        response.error = got.error;
      }
    }
    return { feature: t.feature.name, response, items, aaFirst };
  }
}
