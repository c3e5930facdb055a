import type { IO } from '../io.js';

/**
 * The one place that decides about colour. NO_COLOR wins, then --no-color, then
 * FORCE_COLOR, then whether the stream is a terminal. Glyphs are always printed, so
 * every screen reads the same without colour.
 */
export interface Style {
  color: boolean;
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

/**
 * One SGR style: open and close codes around the text. A close of the same kind inside the
 * text (a nested style) re-opens ours after it, and each line is closed and re-opened, so
 * a style never leaks into the next line or past a nested one (what chalk does).
 */
function sgr(open: number, close: number): (text: string) => string {
  const on = `\x1b[${open}m`;
  const off = `\x1b[${close}m`;
  return (text) => `${on}${text.replaceAll(off, off + on).replaceAll('\n', `${off}\n${on}`)}${off}`;
}

const PAINT = { ok: sgr(32, 39), bad: sgr(31, 39), warn: sgr(33, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
const plain = (text: string): string => text;

export function makeStyle(color: boolean): Style {
  const p = color ? PAINT : { ok: plain, bad: plain, warn: plain, dim: plain, bold: plain };
  return {
    color,
    ...p,
    glyph: { pass: '✔', fail: '✖', warn: '!', info: '·', ws: '✅', rest: '⚪', next: '→' },
  };
}
