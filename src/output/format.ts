import type TableCtor from 'cli-table3';
import type { IO } from '../io.js';
import { colorEnabled, makeStyle, type Style } from './style.js';

/** Every --json document carries this; bump it when a field changes meaning or goes away. */
export const SCHEMA_VERSION = 1;

export type Format = 'tty' | 'plain' | 'json';

/** How a command's result is rendered: decided once, from flags and the terminal. */
export interface Output {
  io: IO;
  format: Format;
  /** Style for stdout (tables, checklists). */
  style: Style;
  /** Style for stderr (notes, warnings, progress). */
  errStyle: Style;
  /** Progress lines: only on a TTY stderr and never with --json. */
  progress: boolean;
  /** cli-table3, loaded only when a terminal will show a boxed table (start-up: issue 18). */
  Table: typeof TableCtor | null;
}

export interface OutputOptions {
  json?: boolean;
  color?: boolean; // commander's --no-color sets color=false
}

export async function makeOutput(io: IO, opts: OutputOptions): Promise<Output> {
  const noColor = opts.color === false;
  const format: Format = opts.json ? 'json' : io.stdoutIsTTY ? 'tty' : 'plain';
  // A pipe gets tab-separated rows; only a terminal (stdout, or stderr for a live view) boxes.
  const boxes = !opts.json && (io.stdoutIsTTY || io.stderrIsTTY);
  return {
    io,
    format,
    style: makeStyle(format !== 'json' && colorEnabled(io, noColor, 'stdout')),
    errStyle: makeStyle(colorEnabled(io, noColor, 'stderr')),
    progress: io.stderrIsTTY && !opts.json,
    Table: boxes ? (await import('cli-table3')).default : null,
  };
}

export function jsonDocument(kind: string, data: object): string {
  return JSON.stringify({ schemaVersion: SCHEMA_VERSION, kind, ...data }, null, 2) + '\n';
}

export function printJson(out: Output, kind: string, data: object): void {
  out.io.stdout.write(jsonDocument(kind, data));
}

/** A note for the human at the terminal: stderr, never mixed into data on stdout. */
export function note(out: Output, text: string): void {
  out.io.stderr.write(text + '\n');
}

export function warn(out: Output, text: string): void {
  out.io.stderr.write(`${out.errStyle.warn('warning:')} ${text}\n`);
}

/**
 * A table: boxed and aligned on a terminal; tab-separated rows with no header on a pipe,
 * so `cut -f` and `awk -F'\t'` work on it.
 */
export function renderTable(out: Output, head: string[], rows: string[][], plainRows?: string[][]): string {
  if (out.format === 'tty') {
    const table = boxTable(out, head, out.style);
    for (const row of rows) table.push(row);
    return table.toString() + '\n';
  }
  return (plainRows ?? rows).map((r) => r.map(tsvCell).join('\t')).join('\n') + ((plainRows ?? rows).length ? '\n' : '');
}

/** An empty boxed table with the house style; only on a terminal (out.Table is loaded then). */
export function boxTable(out: Output, head: string[], style: Style): InstanceType<typeof TableCtor> {
  if (!out.Table) throw new Error('boxTable: cli-table3 was not loaded (no terminal)');
  return new out.Table({
    head: head.map((h) => style.bold(h)),
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
}

/**
 * Text that other people wrote (a reason, an actor, a backend's message) with its control
 * characters shown, not obeyed: an escape sequence in a reason must not repaint a terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function tsvCell(value: string): string {
  return value.replace(/[\t\n\r]/g, ' ');
}

/** "3m ago", "2h ago", "5d ago": for terminals; pipes get ISO times. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 0) return 'in the future';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function formatTime(out: Output, iso: string | undefined): string {
  if (!iso) return '-';
  return out.format === 'tty' ? relativeTime(iso) : iso;
}

/** 1500 -> "1.5s", 90000 -> "1m30s", 250 -> "250ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, '')}s`;
  // Round once, then split: 119.7 s is 2m, not 1m60s.
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  if (m < 60) return s ? `${m}m${String(s).padStart(2, '0')}s` : `${m}m`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}
