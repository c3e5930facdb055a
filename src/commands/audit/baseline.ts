import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CutoverError, ExitCode } from '../../errors.js';
import type { IO } from '../../io.js';
import type { Kind } from './patterns.js';

/**
 * A baseline for CI, as knip, ESLint and code scanning keep one: today's findings, recorded so
 * that a gate fails only on new ones. Entries are keyed by file, kind and the line's text with
 * its whitespace normalised, never by line number: an edit elsewhere in the file keeps them.
 * The same line twice in a file is two entries (`count`), so a copy of a leftover is new.
 */
export const BASELINE_KIND = 'audit-baseline';

export interface BaselineEntry {
  file: string;
  kind: Kind;
  text: string;
  count: number;
}

export interface BaselineFile {
  schemaVersion: 1;
  kind: typeof BASELINE_KIND;
  entries: BaselineEntry[];
}

/** A finding's line text as the baseline keys it: trimmed, runs of whitespace as one space. */
export function normaliseLine(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

function keyOf(file: string, kind: Kind, text: string): string {
  return `${file}\u0000${kind}\u0000${normaliseLine(text)}`;
}

export function buildBaseline(found: { path: string; kind: Kind; text: string }[]): BaselineFile {
  const counts = new Map<string, BaselineEntry>();
  for (const f of found) {
    const k = keyOf(f.path, f.kind, f.text);
    const e = counts.get(k);
    if (e) e.count++;
    else counts.set(k, { file: f.path, kind: f.kind, text: normaliseLine(f.text), count: 1 });
  }
  const entries = [...counts.values()].sort((a, b) => a.file.localeCompare(b.file) || a.kind.localeCompare(b.kind) || a.text.localeCompare(b.text));
  return { schemaVersion: 1, kind: BASELINE_KIND, entries };
}

/** Consumes entries as findings match them: each entry covers `count` findings. */
export class BaselineMatcher {
  private readonly left = new Map<string, number>();
  readonly total: number;
  constructor(b: BaselineFile) {
    for (const e of b.entries) this.left.set(keyOf(e.file, e.kind, e.text), (this.left.get(keyOf(e.file, e.kind, e.text)) ?? 0) + e.count);
    this.total = b.entries.reduce((n, e) => n + e.count, 0);
  }
  take(file: string, kind: Kind, text: string): boolean {
    const k = keyOf(file, kind, text);
    const n = this.left.get(k) ?? 0;
    if (n <= 0) return false;
    this.left.set(k, n - 1);
    return true;
  }
  /** Entries no finding matched any more (fixed since): worth re-writing the baseline. */
  get unused(): number {
    let n = 0;
    for (const v of this.left.values()) n += v;
    return n;
  }
}

function baselineError(message: string, hint: string): CutoverError {
  return new CutoverError('E_BASELINE', message, { hint, exitCode: ExitCode.ERROR });
}

export async function readBaseline(io: IO, file: string): Promise<BaselineFile> {
  const target = resolve(io.cwd, file);
  let text: string;
  try {
    text = await readFile(target, 'utf8');
  } catch (err) {
    throw baselineError(`cannot read the baseline ${target}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      'write one first: thor-cutover audit --all --write-baseline ' + file);
  }
  let doc: unknown;
  try { doc = JSON.parse(text); } catch (err) {
    throw baselineError(`the baseline ${target} is not JSON: ${(err as Error).message}`, 'write it again with --write-baseline');
  }
  const d = doc as Partial<BaselineFile>;
  if (!d || typeof d !== 'object' || d.kind !== BASELINE_KIND || d.schemaVersion !== 1 || !Array.isArray(d.entries)
    || !d.entries.every((e) => e && typeof e.file === 'string' && typeof e.kind === 'string' && typeof e.text === 'string' && Number.isInteger(e.count) && e.count > 0)) {
    throw baselineError(`${target} is not a thor-cutover audit baseline (schemaVersion 1, kind "${BASELINE_KIND}", entries of {file, kind, text, count})`, 'write it again with --write-baseline');
  }
  return d as BaselineFile;
}

/** Written to a temporary file and renamed: an interrupted write never leaves half a baseline. */
export async function writeBaseline(io: IO, file: string, b: BaselineFile): Promise<string> {
  const target = resolve(io.cwd, file);
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(b, null, 2) + '\n');
    await rename(tmp, target);
  } catch (err) {
    throw baselineError(`cannot write the baseline ${target}: ${(err as Error).message}`, 'check that the directory exists and is writable');
  }
  return target;
}
