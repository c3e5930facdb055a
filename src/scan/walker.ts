import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { VENDORED_DIRS } from './git-grep.js';

/**
 * The search outside a git work tree: every file under the root that .gitignore (at any
 * depth) does not exclude, skipping vendored directories. Symlinks are never followed:
 * one pointing out of the tree would audit someone else's code, one pointing inside would
 * audit a file twice.
 */
export interface WalkResult {
  /** Files to read, relative to the root with `/` separators, in walk order. */
  files: string[];
  ignored: number;
  vendored: number;
  symlinks: number;
  /** Set when maxFiles stopped the walk: how many files were left out is unknown. */
  truncated: boolean;
}

interface Scope {
  /** Directory the .gitignore sits in, relative to the root ('' for the root). */
  dir: string;
  ig: Ignore;
}

const VENDORED = new Set(VENDORED_DIRS);

async function readGitignore(absDir: string): Promise<Ignore | null> {
  try {
    return ignore().add(await readFile(join(absDir, '.gitignore'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') return null;
    throw err;
  }
}

function isIgnored(scopes: Scope[], rel: string, isDir: boolean): boolean {
  for (const s of scopes) {
    const sub = s.dir ? rel.slice(s.dir.length + 1) : rel;
    if (s.ig.ignores(isDir ? `${sub}/` : sub)) return true;
  }
  return false;
}

export async function walk(root: string, opts: { maxFiles: number; signal: AbortSignal }): Promise<WalkResult> {
  const res: WalkResult = { files: [], ignored: 0, vendored: 0, symlinks: 0, truncated: false };
  const stack: { rel: string; scopes: Scope[] }[] = [{ rel: '', scopes: [] }];
  while (stack.length) {
    if (opts.signal.aborted) break;
    const { rel, scopes: parent } = stack.pop()!;
    const abs = rel ? join(root, rel) : root;
    const own = await readGitignore(abs);
    const scopes = own ? [...parent, { dir: rel, ig: own }] : parent;
    const entries = await readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const e of entries) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymbolicLink()) { res.symlinks++; continue; }
      if (e.isDirectory()) {
        if (VENDORED.has(e.name)) { res.vendored++; continue; }
        if (isIgnored(scopes, childRel, true)) { res.ignored++; continue; }
        subdirs.push(childRel);
      } else if (e.isFile()) {
        if (isIgnored(scopes, childRel, false)) { res.ignored++; continue; }
        if (res.files.length >= opts.maxFiles) { res.truncated = true; return res; }
        res.files.push(childRel);
      }
    }
    // Reverse so the stack pops them in name order: output is stable run to run.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push({ rel: subdirs[i]!, scopes });
  }
  return res;
}
