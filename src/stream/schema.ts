/** Schema checks of WS payloads, kept off the engine's class: compiled and typeof-based for the hot path. */

/**
 * A function that reads each required field by its literal name. Compiled because a loop
 * of `d[name]` over several names is a megamorphic keyed load per field, while `d["symbol"]`
 * is a named load whose inline cache stays monomorphic (every frame of a type parses to
 * the same object shape): this check was the largest single cost per message. The names
 * go in through JSON.stringify, so a field name is only ever a string literal.
 */
export function requiredCheck(fields: string[]): (d: Record<string, unknown>, typeofs: string[]) => boolean {
  const body = fields.map((f, i) => `if (typeof d[${JSON.stringify(f)}] !== t[${i}]) return false;`).join('\n');
  return new Function('d', 't', `${body}\nreturn true;`) as (d: Record<string, unknown>, typeofs: string[]) => boolean;
}

export function jsonType(v: unknown): string {
  const t = typeof v;
  if (t !== 'object') return t;
  return v === null ? 'null' : Array.isArray(v) ? 'array' : 'object';
}
