import { constants } from 'node:fs';
import { access, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { Output } from '../output/format.js';
import type { ReportDocument } from './document.js';

/**
 * `--report FILE.html`, checked before the run starts: hours of evidence must not end in
 * "cannot write". Returns the absolute path.
 */
export async function reportTarget(cwd: string, file: string): Promise<string> {
  const path = resolve(cwd, file);
  const hint = 'pass --report a file in a folder you can write, such as --report cutover.html';
  const isDir = await stat(path).then((s) => s.isDirectory(), () => false);
  if (isDir) throw new UsageError(`--report ${file} is a folder, not a file`, hint);
  try {
    await access(dirname(path), constants.W_OK);
  } catch (err) {
    throw new UsageError(`cannot write the report to ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : 'the folder is not writable'}`, hint);
  }
  return path;
}

/**
 * Render and write the report (to a temporary name, then renamed: a reader never sees half
 * a file). Prints where it went on stderr. Returns the exit code to use: a run that asked
 * for a report and did not get one does not exit 0.
 */
export async function writeReport(out: Output, path: string, doc: ReportDocument, code: number): Promise<number> {
  const { renderReport } = await import('./html.js');
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, renderReport(doc));
    await rename(tmp, path);
  } catch (err) {
    out.io.stderr.write(`error: cannot write the report to ${path}: ${(err as Error).message}\n`);
    return code === 0 ? 2 : code;
  }
  out.io.stderr.write(`report written to ${path}\n`);
  return code;
}
