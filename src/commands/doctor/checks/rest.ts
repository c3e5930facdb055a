import type { Config, FeatureConfig } from '../../../config/types.js';
import { formatDuration } from '../../../output/format.js';
import { extractItems, type RestClient, type RestResponse } from '../../../stream/rest-poller.js';
import { check, type Check } from '../types.js';

/** The flags as the backend reports them at `backend.flagsPath`. */
export interface EndpointFlags {
  path: string;
  at: number;
  status: number | null;
  /** null when the endpoint did not answer with flags. */
  flags: Record<string, boolean> | null;
  /** Per feature, where the backend says it took the flag from (`redis`, `env`), when it says. */
  source: Record<string, string>;
  error: string | null;
}

export async function checkRest(config: Config, client: RestClient, signal: AbortSignal): Promise<{ checks: Check[]; flags: EndpointFlags }> {
  const [checks, flags] = await Promise.all([
    Promise.all(config.features.map(async (f) => restCheck(config, f, await client.get(f.restPath, signal), client))),
    readFlags(config, client, signal),
  ]);
  return { checks, flags };
}

function detailOf(body: unknown): string {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const d = (body as Record<string, unknown>).detail ?? (body as Record<string, unknown>).error ?? (body as Record<string, unknown>).message;
    if (typeof d === 'string') return `: "${d.slice(0, 100)}"`;
  }
  return '';
}

function restCheck(config: Config, f: FeatureConfig, r: RestResponse, client: RestClient): Check {
  const id = `rest.${f.name}`;
  const title = `REST ${f.name}`;
  const url = client.url(f.restPath);
  const fail = (measured: string, hint: string) => check('rest', id, title, 'fail', measured, hint);
  const token = config.backend.token !== null;
  switch (r.outcome) {
    case 'ok':
      break;
    case 'http-error':
      switch (r.statusClass) {
        case 'not-found':
          return fail(`404 Not Found at GET ${url}${detailOf(r.body)}`,
            `the backend has no route at ${f.restPath}. If it serves ${f.name} elsewhere, set features.${f.name}.restPath in the config (thor-cutover.config.json or --config); check the paths in the backend's urls.py`);
        case 'unauthorized':
        case 'forbidden':
          return fail(`${r.status} ${r.status === 401 ? 'Unauthorized' : 'Forbidden'} at GET ${url}${detailOf(r.body)}`, token
            ? 'the backend refused the token sent (--token / THOR_CUTOVER_TOKEN / backend.token): wrong, expired, or without permission for this endpoint'
            : 'no token was sent and this endpoint needs one: pass --token or set THOR_CUTOVER_TOKEN');
        case 'redirect':
          return fail(`${r.status} redirect at GET ${url}`,
            'often a missing trailing slash (Django APPEND_SLASH) or http -> https: fix --url or the restPath');
        case 'server-error':
          return fail(`${r.status} at GET ${url}${detailOf(r.body)}`, 'the view raised or a proxy in front failed: see the backend logs');
        default:
          return fail(`${r.status} at GET ${url}${detailOf(r.body)}`, 'the backend rejected the request: see the backend logs');
      }
    case 'timeout':
      return fail(`no answer from GET ${url} within ${formatDuration(client.timeoutMs)}`,
        'the view (or the database behind it) is stuck, or a proxy holds the request; a longer backend.timeout only helps a slow one');
    case 'aborted':
      return fail(`no answer from GET ${url} before the --timeout`, 'the view is slow or stuck; raise --timeout if it is only slow');
    case 'connect-error':
      return fail(`cannot connect to ${url}: ${/ECONNREFUSED/.test(r.error ?? '') ? 'connection refused' : r.error ?? 'error'}`, 'is the backend running at that address? set --url or THOR_CUTOVER_URL');
    case 'non-json':
      return fail(`${r.status} at GET ${url} but ${r.error ?? 'not JSON'}`,
        'an HTML page where JSON was expected: a login redirect, the frontend app, or a proxy error page; check --url and the restPath');
    case 'shape':
      return fail(`${r.status} at GET ${url} but ${r.error ?? 'unexpected shape'}`, `set features.${f.name}.restItemsPath / restShape to where the payload is`);
  }

  const got = extractItems(f, r.body);
  if ('error' in got) {
    return fail(`${r.status} in ${formatDuration(r.ms)} but ${got.error}`,
      `set features.${f.name}.restItemsPath (where the payload sits, e.g. "results") and restShape ("object" or "array")`);
  }
  const items = got.items;
  const base = `${r.status} in ${formatDuration(r.ms)} · ${items.length} item${items.length === 1 ? '' : 's'}`;
  if (items.length === 0) {
    return check('rest', id, title, 'warn', `${base}: nothing to check the fields on`, 'an empty list: the job that fills this endpoint may not have run yet');
  }
  // requiredFields are named as on the WS payload; fieldMap renames them to the REST names.
  const required = f.requiredFields.map((w) => f.fieldMap[w] ?? w);
  const missing = required.filter((name) => items.some((item) => !(name in item)));
  if (missing.length) {
    const short = items.filter((item) => missing.some((m) => !(m in item))).length;
    // A body that wraps the payload ({"results": {...}}) misses every field at the top but has them one level down.
    const wrapper = f.restItemsPath ? null : findWrapper(r.body, required);
    if (wrapper) {
      return fail(`${base} · missing required ${missing.join(', ')} at the top, but "${wrapper}" holds them`,
        `the payload is wrapped: set features.${f.name}.restItemsPath to "${wrapper}"`);
    }
    return fail(`${base} · missing required ${missing.join(', ')} (in ${short} of ${items.length})`,
      `the payload differs from PROTOCOL.md: map renamed fields with features.${f.name}.fieldMap, or set features.${f.name}.requiredFields`);
  }
  return check('rest', id, title, 'pass', `${base} · required fields present`);
}

async function readFlags(config: Config, client: RestClient, signal: AbortSignal): Promise<EndpointFlags> {
  const path = config.backend.flagsPath;
  const r = await client.get(path, signal);
  const result: EndpointFlags = { path, at: r.at, status: r.status, flags: null, source: {}, error: r.error ?? null };
  if (r.outcome !== 'ok') return result;
  // `{"flags": {...}}` (the simulator, and PROTOCOL-style backends) or a bare object of booleans.
  const body = r.body as Record<string, unknown> | null;
  const raw = body && typeof body === 'object' && body.flags && typeof body.flags === 'object' ? body.flags as Record<string, unknown> : body;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) { result.error = 'no flags object in the body'; return result; }
  const flags: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'boolean') flags[k] = v;
  if (Object.keys(flags).length === 0) { result.error = 'no boolean flags in the body'; return result; }
  result.flags = flags;
  const source = body?.source;
  if (source && typeof source === 'object' && !Array.isArray(source)) {
    for (const [k, v] of Object.entries(source)) if (typeof v === 'string') result.source[k] = v;
  }
  return result;
}

/** The dot path (two levels at most) of an object, or a list of them, with most of the required fields. */
function findWrapper(body: unknown, required: string[], prefix = '', depth = 0): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || depth >= 2) return null;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${k}` : k;
    const probe = Array.isArray(v) ? v[0] : v;
    if (typeof probe === 'object' && probe !== null && !Array.isArray(probe)) {
      const has = required.filter((name) => name in probe).length;
      if (has > 0 && has * 2 >= required.length) return path;
      const deeper = findWrapper(v, required, path, depth + 1);
      if (deeper) return deeper;
    }
  }
  return null;
}
