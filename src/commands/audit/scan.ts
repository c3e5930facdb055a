import { lstat, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AuditConfig, FeatureConfig } from '../../config/types.js';
import { ModuleIndex } from '../../django/modules.js';
import { DjangoProject } from '../../django/urls.js';
import type { Allower } from './allow.js';
import { analyzeFile, type Finding, type RouteHit } from './analyze.js';
import { gitCandidates, gitTracked } from '../../scan/git-grep.js';
import type { Matcher } from './patterns.js';
import { featureRoutes } from './routes.js';
import { walk } from '../../scan/walker.js';

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
  /** What the URL configs said: the root urlconf, how many were read, what could not be followed. */
  urls: {
    root: string | null;
    rootFrom: string | null;
    urlconfs: number;
    routes: number;
    unresolved: { file: string; line: number; what: string }[];
  };
}

export interface ScanResult {
  findings: Finding[];
  stats: ScanStats;
}

/** Files read at once: enough to hide disk latency, few enough not to exhaust descriptors. */
const READ_CONCURRENCY = 16;
/** As git and grep decide: a NUL in the first 8000 bytes makes a file binary. */
const BINARY_SNIFF = 8000;

export interface ScanOptions {
  features: readonly FeatureConfig[];
  ignoreCase: boolean;
  /** The matcher, given the views the feature's routes name in this tree. */
  matcher(discovered: Map<string, Map<string, string | null>>): Matcher;
  audit: AuditConfig;
  allow: Allower;
  context: number;
  signal: AbortSignal;
  /** false: do not read the URL configs (no route kind asked for). */
  readUrls: boolean;
  /** Files never audited (the tool's own config and baseline: they name every legacy term). */
  exclude: ReadonlySet<string>;
}

/** The tool's own config names every legacy term by design: never a finding. */
export const OWN_FILES = /(^|\/)thor-cutover\.config\.json$/;

export async function scan(root: string, o: ScanOptions): Promise<ScanResult> {
  const { audit, allow, context, signal } = o;
  const stats: ScanStats = {
    engine: 'walker', engineNote: null, files: 0, read: 0,
    skipped: { binary: 0, ignored: 0, vendored: 0, symlinks: 0, tooLarge: [], allowedUnread: [] },
    limits: [], perlFallback: null, interrupted: false,
    urls: { root: null, rootFrom: null, urlconfs: 0, routes: 0, unresolved: [] },
  };
  let toRead: string[];
  let m: Matcher;
  let routeHits = new Map<string, RouteHit[]>();
  let urlconfs = new Set<string>();
  let modules: ModuleIndex | undefined;
  try {
    const files = await listFiles(root, audit, stats, signal);
    modules = new ModuleIndex(files.all);
    // git grep for the configured names starts now, while the URL configs are read: the
    // search costs what the bare git grep costs. Views the routes name that the config does
    // not are searched for after, in a second, small grep.
    const base = o.matcher(new Map());
    const project = o.readUrls ? new DjangoProject({ files: files.all, read: (f) => readSource(root, f, audit.maxFileBytes) }, modules) : null;
    const [first, map] = await Promise.all([files.candidates(base), project?.urls() ?? null]);
    let discovered = new Map<string, Map<string, string | null>>();
    if (map) {
      const fr = featureRoutes(map, o.features, o.ignoreCase);
      routeHits = fr.hits;
      discovered = fr.discovered;
      urlconfs = new Set(map.urlconfs);
      stats.urls = { root: map.root, rootFrom: map.rootFrom, urlconfs: map.urlconfs.length, routes: map.routes.filter((r) => r.include === null).length, unresolved: map.unresolved };
    }
    m = discovered.size ? o.matcher(discovered) : base;
    const had = new Set(base.gitWordPatterns);
    const extra = m.gitWordPatterns.filter((p) => !had.has(p));
    const found = new Set(first);
    if (extra.length) for (const f of await files.candidates({ ...m, gitWordPatterns: extra, gitPerlPatterns: [] })) found.add(f);
    toRead = [...found].sort().filter((f) => !o.exclude.has(f) && !OWN_FILES.test(f));
    const have = new Set(toRead);
    for (const f of routeHits.keys()) if (!have.has(f)) toRead.push(f);
  } catch (err) {
    // Ctrl-C kills git mid-search: that is an interrupted audit, not a git failure.
    if (signal.aborted) { stats.interrupted = true; return { findings: [], stats }; }
    throw err;
  }

  const allDocs = /^docs$/i.test(basename(root));
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
      perFile[i] = analyzeFile(rel, buf.toString('utf8'), m, { context, allow, fileAllowedBy, urlconf: urlconfs.has(rel), routeHits: routeHits.get(rel), modules, allDocs });
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

/** A source file for the URL reader: never through a symlink, never a huge one. */
async function readSource(root: string, rel: string, maxBytes: number): Promise<string | null> {
  try {
    const abs = join(root, rel);
    const st = await lstat(abs);
    if (!st.isFile() || st.size > maxBytes) return null;
    return await readFile(abs, 'utf8');
  } catch {
    return null;
  }
}

interface FileList {
  /** Every file the search covers. */
  all: string[];
  /** The files worth reading for this matcher. */
  candidates(m: Matcher): Promise<string[]>;
}

/** The files: git's tracked files in a work tree (git grep picks the candidates), else a walk. */
async function listFiles(root: string, audit: AuditConfig, stats: ScanStats, signal: AbortSignal): Promise<FileList> {
  const tracked = await gitTracked(root, signal);
  // A directory inside a work tree with nothing tracked (a copy under an ignored folder, a new
  // checkout not yet added) would pass with zero files searched: walk it instead.
  if (Array.isArray(tracked) && tracked.length > 0) {
    stats.engine = 'git-grep';
    let covered = tracked;
    if (tracked.length > audit.maxFiles) {
      covered = tracked.slice(0, audit.maxFiles);
      stats.limits.push(`${tracked.length} tracked files, over audit.maxFiles (${audit.maxFiles}): only the first ${audit.maxFiles} were audited`);
    }
    stats.files = covered.length;
    const inScope = covered === tracked ? null : new Set(covered);
    return {
      all: covered,
      async candidates(m) {
        const g = await gitCandidates(root, tracked, m.gitWordPatterns, m.gitPerlPatterns, m.ignoreCase, signal);
        stats.perlFallback ??= g.perlFallback;
        return [...g.candidates].filter((f) => !inScope || inScope.has(f)).sort();
      },
    };
  }
  stats.engineNote = Array.isArray(tracked) ? 'no tracked files under the path' : tracked.notGit;
  const w = await walk(root, { maxFiles: audit.maxFiles, signal });
  Object.assign(stats.skipped, { ignored: w.ignored, vendored: w.vendored, symlinks: w.symlinks });
  if (w.truncated) stats.limits.push(`more than audit.maxFiles (${audit.maxFiles}) files: the walk stopped there`);
  stats.files = w.files.length;
  return { all: w.files, candidates: async () => [...w.files] };
}
