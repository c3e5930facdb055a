import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CutoverError } from '../errors.js';
import type { IO } from '../io.js';

/** SARIF 2.1.0, shared by `audit --sarif` and `init --check --sarif`: the schema, URIs and the write. */
export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** `a b/c#d.py` -> `a%20b/c%23d.py`: a SARIF uri is a URI reference, each segment encoded. */
export function sarifUri(relPath: string): string {
  return relPath.split(/[\\/]/).map(encodeURIComponent).join('/');
}

/** Writes the document (relative to the cwd); a file it cannot write is a clear error, not a stack. */
export async function writeSarifFile(io: IO, file: string, doc: unknown): Promise<void> {
  const target = resolve(io.cwd, file);
  try {
    await writeFile(target, JSON.stringify(doc, null, 2) + '\n');
  } catch (err) {
    throw new CutoverError('E_SARIF_WRITE', `cannot write the SARIF file ${target}: ${(err as Error).message}`, { hint: 'check that the directory exists and is writable' });
  }
}
