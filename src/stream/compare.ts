/** Flattened payloads and how two of them compare: values, time stamps, versions, keys. */

export type Flat = Map<string, unknown>;

export interface FieldDiff {
  path: string;
  rest: unknown;
  ws: unknown;
}

export interface CompareResult {
  diffs: FieldDiff[];
  /** Top-level or object fields present on one side only: schema drift, not a mismatch. */
  restOnly: string[];
  wsOnly: string[];
}

/** `{a:{b:1}, c:[{d:2}]}` -> a.b=1, c[0].d=2. Empty objects and arrays are leaves. */
export function flatten(value: unknown, prefix = '', out: Flat = new Map()): Flat {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(prefix, value);
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
    return out;
  }
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    if (keys.length === 0 && prefix) out.set(prefix, value);
    for (const k of keys) flatten((value as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  out.set(prefix, value);
  return out;
}

export const NUMERIC = /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

export function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return null;
}

/** Numbers and numeric strings compare as numbers within `tolerance`; the rest strictly. */
export function valuesEqual(a: unknown, b: unknown, tolerance: number): boolean {
  if (a === b) return true;
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== null && y !== null) return Math.abs(x - y) <= tolerance;
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

/** A field named like a time stamp: `timestamp`, `updated_at`, `as_of`, `server_time`... */
export const STAMP_NAME = /(^|[._])(timestamp|ts|time|datetime|date|updated|modified|as_?of|generated|computed|received|sent|created)(_at|_time|_ts)?$|_at$/i;

export function stampValue(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && v > 1e9;
  return typeof v === 'string' && v.length >= 10 && !Number.isNaN(Date.parse(v));
}

/**
 * The difference is only a time stamp: a field named like one whose values on both sides
 * are times. A backend that stamps an item when it is read (or re-stamps it between
 * broadcasts) shows the same state with another stamp; that is not a disagreement.
 */
export function isStampDiff(d: FieldDiff): boolean {
  const name = d.path.slice(d.path.lastIndexOf(']') + 1);
  return STAMP_NAME.test(name) && stampValue(d.rest) && stampValue(d.ws);
}

/** Top-level fields of an item that are time stamps (and not part of its key). */
export function stampPaths(flat: Flat, key: readonly string[]): string[] {
  const out: string[] = [];
  for (const [path, v] of flat) {
    if (path.includes('.') || path.includes('[') || key.includes(path)) continue;
    if (STAMP_NAME.test(path) && stampValue(v)) out.push(path);
  }
  return out;
}

/** A version as something to order by: a time, a number, or null (order by arrival). */
export function versionOrder(v: string): number | null {
  if (/^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

export function ignoredBy(ignoreFields: string[]): (path: string) => boolean {
  if (ignoreFields.length === 0) return () => false;
  return (path) => ignoreFields.some((ig) => path === ig || path.startsWith(`${ig}.`) || path.startsWith(`${ig}[`));
}

/** Rename WS field paths to REST names (fieldMap: WS name -> REST name). */
export function applyFieldMap(flat: Flat, fieldMap: Record<string, string>): Flat {
  const entries = Object.entries(fieldMap);
  if (entries.length === 0) return flat;
  const out: Flat = new Map();
  for (const [path, v] of flat) {
    let renamed = path;
    for (const [from, to] of entries) {
      if (path === from || path.startsWith(`${from}.`) || path.startsWith(`${from}[`)) { renamed = to + path.slice(from.length); break; }
    }
    out.set(renamed, v);
  }
  return out;
}

export function compareFlat(rest: Flat, ws: Flat, tolerance: number, ignored: (path: string) => boolean): CompareResult {
  const diffs: FieldDiff[] = [];
  const restOnly: string[] = [];
  const wsOnly: string[] = [];
  for (const [path, rv] of rest) {
    if (ignored(path)) continue;
    if (!ws.has(path)) {
      // Inside an array a missing element is a different value (a position more or less), not a schema change.
      if (path.includes('[')) diffs.push({ path, rest: rv, ws: undefined });
      else restOnly.push(path);
      continue;
    }
    const wv = ws.get(path);
    if (!valuesEqual(rv, wv, tolerance)) diffs.push({ path, rest: rv, ws: wv });
  }
  for (const [path, wv] of ws) {
    if (rest.has(path) || ignored(path)) continue;
    if (path.includes('[')) diffs.push({ path, rest: undefined, ws: wv });
    else wsOnly.push(path);
  }
  return { diffs, restOnly, wsOnly };
}

/** One key field's value as text: an object or array as its JSON, never "[object Object]". */
export function keyPart(v: unknown): string {
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The key of an item by the given fields, or null when one is missing. */
export function keyOf(item: Record<string, unknown>, fields: string[]): string | null {
  if (fields.length === 1) {
    const v = item[fields[0]!];
    return v === undefined || v === null ? null : keyPart(v);
  }
  let key = '';
  for (let i = 0; i < fields.length; i++) {
    const v = item[fields[i]!];
    if (v === undefined || v === null) return null;
    key += i === 0 ? keyPart(v) : ` ${keyPart(v)}`;
  }
  return key;
}
