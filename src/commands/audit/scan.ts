import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditConfig } from '../../config/types.js';
import type { Allower } from './allow.js';
import { analyzeFile, type Finding } from './analyze.js';
import { gitCandidates } from './git-grep.js';
import type { Matcher } from './patterns.js';
import { walk } from './walker.js';

/** What the search saw, so a report can say what it did not look at. */
export interface ScanStats {
  engine: 'git-grep' | 'walker';
  /** Why the walker ran instead of git grep. */
  engineNote: string | null;
  /** Files the search covered (git: tracked files; walker: files not ignored). */
  files: number;
  /** Files read and analysed (git: only those git grep named). */
  read: number;
  skipped: {
    binary: number;
    ignored: number;
    vendored: number;
    symlinks: number;
    /** Files over audit.maxFileBytes that were not read: the scan is partial. */
    tooLarge: string[];
    /** Whole files allowed by a path entry and too large to read: allowed unread, not partial. */
    allowedUnread: string[];
  };
  /** Every limit that cut the scan short, in words; non-empty = partial. */
  limits: string[];
  /** Set when git grep -P could not take the user's patterns and JS read every file. */
  perlFallback: string | null;
  interrupted: boolean;
}

export interface ScanResult {
  findings: Finding[];
  stats: ScanStats;
}

/** Files read at once: enough to hide disk latency, few enough not to exhaust descriptors. */
const READ_CONCURRENCY = 16;
/** As git and grep decide: a NUL in the first 8000 bytes makes a file binary. */
const BINARY_SNIFF = 8000;

export async function scan(root: string, m: Matcher, audit: AuditConfig, allow: Allower, context: number, signal: AbortSignal): Promise<ScanResult> {
  const stats: ScanStats = {
    engine: 'walker', engineNote: null, files: 0, read: 0,
    skipped: { binary: 0, ignored: 0, vendored: 0, symlinks: 0, tooLarge: [], allowedUnread: [] },
    limits: [], perlFallback: null, interrupted: false,
  };
  let toRead: string[];
  try {
    toRead = await search(root, m, audit, stats, signal);
  } catch (err) {
    // Ctrl-C kills git mid-search: that is an interrupted audit, not a git failure.
    if (signal.aborted) { stats.interrupted = true; return { findings: [], stats }; }
    throw err;
  }

  const perFile: Finding[][] = new Array(toRead.length);
  let next = 0;
  const worker = async () => {
    while (next < toRead.length && !signal.aborted) {
      const i = next++;
      const rel = toRead[i]!;
      const abs = join(root, rel);
      const fileAllowedBy = allow.file(rel);
      // lstat: git tracks a symlink as its target path, and git grep matches that text; reading
      // through it would audit a file outside the tree.
      const st = await lstat(abs);
      if (st.isSymbolicLink()) { stats.skipped.symlinks++; continue; }
      if (!st.isFile()) continue;
      if (st.size > audit.maxFileBytes) {
        if (fileAllowedBy) stats.skipped.allowedUnread.push(rel);
        else stats.skipped.tooLarge.push(rel);
        continue;
      }
      const buf = await readFile(abs);
      if (buf.subarray(0, BINARY_SNIFF).includes(0)) { stats.skipped.binary++; continue; }
      stats.read++;
      perFile[i] = analyzeFile(rel, buf.toString('utf8'), m, { context, allow, fileAllowedBy });
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, toRead.length) }, worker));
  if (signal.aborted) stats.interrupted = true;
  stats.skipped.tooLarge.sort();
  if (stats.skipped.tooLarge.length) {
    stats.limits.push(`${stats.skipped.tooLarge.length} file(s) over audit.maxFileBytes (${audit.maxFileBytes} bytes) not read: ${stats.skipped.tooLarge.slice(0, 5).join(', ')}${stats.skipped.tooLarge.length > 5 ? ', ...' : ''}`);
  }
  return { findings: perFile.flatMap((f) => f ?? []), stats };
}

/** The files to read: git grep's candidates in a work tree, else every file the walk finds. */
async function search(root: string, m: Matcher, audit: AuditConfig, stats: ScanStats, signal: AbortSignal): Promise<string[]> {
  const g = await gitCandidates(root, m.gitWordPatterns, m.gitPerlPatterns, m.ignoreCase, signal);
  // A directory inside a work tree with nothing tracked (a copy under an ignored folder, a new
  // checkout not yet added) would pass with zero files searched: walk it instead.
  if (!('notGit' in g) && g.tracked.length > 0) {
    stats.engine = 'git-grep';
    stats.perlFallback = g.perlFallback;
    let covered = g.tracked;
    if (g.tracked.length > audit.maxFiles) {
      covered = g.tracked.slice(0, audit.maxFiles);
      stats.limits.push(`${g.tracked.length} tracked files, over audit.maxFiles (${audit.maxFiles}): only the first ${audit.maxFiles} were audited`);
    }
    stats.files = covered.length;
    const inScope = covered === g.tracked ? null : new Set(covered);
    return [...g.candidates].filter((f) => !inScope || inScope.has(f)).sort();
  }
  stats.engineNote = 'notGit' in g ? g.notGit : 'no tracked files under the path';
  const w = await walk(root, { maxFiles: audit.maxFiles, signal });
  Object.assign(stats.skipped, { ignored: w.ignored, vendored: w.vendored, symlinks: w.symlinks });
  if (w.truncated) stats.limits.push(`more than audit.maxFiles (${audit.maxFiles}) files: the walk stopped there`);
  stats.files = w.files.length;
  return w.files;
}
