import { Chalk, type ChalkInstance } from 'chalk';
import type { IO } from '../io.js';

/**
 * The one place that decides about colour. NO_COLOR wins, then --no-color, then
 * FORCE_COLOR, then whether the stream is a terminal. Glyphs are always printed, so
 * every screen reads the same without colour.
 */
export interface Style {
  color: boolean;
  c: ChalkInstance;
  ok(text: string): string;
  bad(text: string): string;
  warn(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
  glyph: { pass: string; fail: string; warn: string; info: string; ws: string; rest: string; next: string };
}

export function colorEnabled(io: IO, noColorFlag: boolean, stream: 'stdout' | 'stderr' = 'stdout'): boolean {
  const env = io.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (noColorFlag) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream === 'stdout' ? io.stdoutIsTTY : io.stderrIsTTY;
}

export function makeStyle(color: boolean): Style {
  const c = new Chalk({ level: color ? 1 : 0 });
  return {
    color,
    c,
    ok: (t) => c.green(t),
    bad: (t) => c.red(t),
    warn: (t) => c.yellow(t),
    dim: (t) => c.dim(t),
    bold: (t) => c.bold(t),
    glyph: { pass: '✔', fail: '✖', warn: '!', info: '·', ws: '✅', rest: '⚪', next: '→' },
  };
}
