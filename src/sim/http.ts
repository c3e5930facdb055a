import type { IncomingMessage, ServerResponse } from 'node:http';
import { UsageError } from '../errors.js';
import type { SimCore } from './core.js';
import { formatFault, toFault, type FaultSpec } from './faults.js';
import type { Served } from './served.js';

const CONTROL_PATH = '/_sim/faults';
const STATS_PATH = '/_sim/stats';
const MAX_CONTROL_BODY = 64 * 1024;

export const trimSlash = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);

export function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m ? m[1]! : null;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function renameFields(item: object, fieldMap: Record<string, string>): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) out[fieldMap[k] ?? k] = v;
  return out;
}

/** restItemsPath `results` -> {"results": body}; empty -> the body itself. */
function wrap(path: string, body: unknown): unknown {
  return path ? path.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), body) : body;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_CONTROL_BODY) { reject(new UsageError('body too large')); req.destroy(); return; }
      chunks.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The HTTP side: each feature's REST endpoint (under the active faults), health, the flags as
 * this backend sees them, and the control routes (GET|POST /_sim/faults, GET /_sim/stats).
 */
export class SimHttp {
  /** Requests a stall fault never answers; closed on shutdown. */
  readonly stalled = new Set<ServerResponse>();
  private readonly restRoutes: Map<string, Served>;
  private readonly healthPath: string;
  private readonly flagsPath: string;

  constructor(private readonly core: SimCore, private readonly setFaults: (list: FaultSpec[]) => void) {
    const { config, served } = core.o;
    this.restRoutes = new Map(served.map((s) => [trimSlash(s.cfg.restPath), s]));
    this.healthPath = trimSlash(config.backend.healthPath);
    this.flagsPath = trimSlash(config.backend.flagsPath);
  }

  /** The request handler: a failure inside it is a 500, never a crash of the simulator. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    this.handle(req, res).catch((err: Error) => {
      this.core.o.log(`http: ${err.message}`);
      if (!res.headersSent) json(res, 500, { detail: 'simulator error' });
    });
  };

  private async control(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    const core = this.core;
    if (method === 'GET') return json(res, 200, { faults: core.faults.list, specs: core.faults.list.map(formatFault) });
    if (method !== 'POST') return json(res, 405, { detail: 'GET or POST' }, { allow: 'GET, POST' });
    try {
      const body = JSON.parse(await readBody(req)) as { faults?: unknown };
      if (!Array.isArray(body.faults)) throw new UsageError('body must be {"faults": ["drift=positions:5", ...]}');
      this.setFaults(body.faults.map(toFault));
      return json(res, 200, { faults: core.faults.list, specs: core.faults.list.map(formatFault) });
    } catch (err) {
      return json(res, 400, { detail: (err as Error).message });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const core = this.core;
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = trimSlash(url.pathname);
    const method = req.method ?? 'GET';
    if (path === CONTROL_PATH) return this.control(req, res, method);
    if (method !== 'GET' && method !== 'HEAD') return json(res, 405, { detail: 'method not allowed' }, { allow: 'GET' });
    if (path === this.healthPath) return json(res, 200, { ok: true });
    if (path === STATS_PATH) return json(res, 200, { ...core.stats, messages: core.stats.messages });
    if (path === this.flagsPath) return json(res, 200, core.watcher!.view());
    const s = this.restRoutes.get(path);
    if (!s) return json(res, 404, { detail: 'not found' });
    const token = core.o.token;
    if (s.scoped && token && bearer(req) !== token) {
      return json(res, 401, { detail: 'Authentication credentials were not provided or are wrong.' }, { 'www-authenticate': 'Bearer' });
    }
    return this.rest(s, res);
  }

  /** One REST answer of a feature: stalled, a 500, re-stamped, renamed (fieldMap), wrapped (restItemsPath). */
  private rest(s: Served, res: ServerResponse): void {
    const { faults } = this.core;
    if (faults.stalled(s.cfg.name)) {
      // Never answered: the client's own timeout is what the fault tests. Closed on shutdown.
      this.stalled.add(res);
      res.on('close', () => this.stalled.delete(res));
      return;
    }
    const fraction = faults.rest500Fraction(s.cfg.name);
    if (fraction > 0 && this.core.o.faultRnd() < fraction) return json(res, 500, { detail: 'simulated server error (fault rest500)' });
    let raw = s.rest();
    // restamp: the REST view stamps each item when it is read, not when the state was made.
    if (faults.restamped(s.cfg.name)) {
      const now = this.core.iso();
      raw = Array.isArray(raw) ? raw.map((i: object) => ({ ...i, timestamp: now })) : { ...(raw as object), timestamp: now };
    }
    const fieldMap = s.cfg.fieldMap;
    const mapped = Object.keys(fieldMap).length === 0 ? raw
      : Array.isArray(raw) ? raw.map((i: object) => renameFields(i, fieldMap)) : renameFields(raw as object, fieldMap);
    return json(res, 200, wrap(s.cfg.restItemsPath, mapped));
  }
}
