import { parseDuration } from './duration.js';

/** Field readers of the config file: each checks one field's type and records every problem (never stops at the first). */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = { [k: string]: Json };

/** Collects every problem instead of stopping at the first: a user fixes them in one go. */
export class Problems {
  readonly list: string[] = [];
  add(location: string, expected: string, got?: unknown): void {
    const gotText = got === undefined ? '' : `, got: ${JSON.stringify(got)?.slice(0, 60)}`;
    this.list.push(`location: ${location}, expected: ${expected}${gotText}`);
  }
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function unknownKeys(o: Obj, allowed: readonly string[], loc: string, p: Problems): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) p.add(`${loc}.${k}`, `one of the known fields (${allowed.join(', ')})`);
  }
}

export function str(o: Obj, k: string, loc: string, p: Problems): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') { p.add(`${loc}.${k}`, 'non-empty string', v); return undefined; }
  return v;
}

export function num(o: Obj, k: string, loc: string, p: Problems, min = 0): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) { p.add(`${loc}.${k}`, `number >= ${min}`, v); return undefined; }
  return v;
}

export function bool(o: Obj, k: string, loc: string, p: Problems): boolean | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') { p.add(`${loc}.${k}`, 'true or false', v); return undefined; }
  return v;
}

export function strList(o: Obj, k: string, loc: string, p: Problems, allowSingle = false): string[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (allowSingle && typeof v === 'string' && v !== '') return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) {
    p.add(`${loc}.${k}`, allowSingle ? 'string or array of strings' : 'array of strings', v);
    return undefined;
  }
  return v as string[];
}

export function duration(o: Obj, k: string, loc: string, p: Problems): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  if (ms === null || ms <= 0) { p.add(`${loc}.${k}`, 'duration such as "10s", "250ms" or a number of milliseconds', v); return undefined; }
  return ms;
}
