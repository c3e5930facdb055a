import { spawn } from 'node:child_process';
import { CutoverError, ExitCode } from '../errors.js';

/**
 * git, always with an argument array and never through a shell: a path or a pattern such
 * as `a b;$(touch pwned)` is one argument, so it can never run a command.
 */
interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export class GitError extends CutoverError {
  constructor(message: string, hint?: string) {
    super('E_GIT', message, { hint, exitCode: ExitCode.ERROR });
  }
}

/** Directories of other people's code (and caches) that are never audited. */
export const VENDORED_DIRS = ['node_modules', 'vendor', '.git', 'venv', '.venv', '__pycache__', 'site-packages', '.tox'];

const EXCLUDES = VENDORED_DIRS.filter((d) => d !== '.git').map((d) => `:(exclude,glob)**/${d}/**`);

function git(args: string[], cwd: string, signal: AbortSignal): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    // GIT_OPTIONAL_LOCKS=0: an audit must not take index.lock in a tree someone is committing in.
    const child = spawn('git', args, { cwd, signal, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 128, stdout: Buffer.concat(out), stderr: err.trim() }));
  });
}

function splitZ(buf: Buffer): string[] {
  return buf.toString('utf8').split('\0').filter((s) => s !== '');
}

/** Why the search is not a git one (the walker takes over). */
export interface NotGit {
  notGit: string;
}

export interface GitCandidates {
  /** Tracked files that hold at least one of the patterns. */
  candidates: Set<string>;
  /** Set when git could not compile the user's patterns as PCRE: every tracked file was read. */
  perlFallback: string | null;
}

async function grepFiles(root: string, mode: '-E' | '-P', patterns: string[], ignoreCase: boolean, word: boolean, signal: AbortSignal): Promise<GitResult> {
  const args = ['grep', '-l', '-z', '-I', '--no-color', mode];
  if (ignoreCase) args.push('-i');
  if (word) args.push('-w');
  for (const p of patterns) args.push('-e', p);
  args.push('--', '.', ...EXCLUDES);
  return git(args, root, signal);
}

/**
 * The tracked files under the root (vendored directories excluded), in git's order; or why
 * the tree is not a git one (the walker takes over).
 */
export async function gitTracked(root: string, signal: AbortSignal): Promise<string[] | NotGit> {
  let ls: GitResult;
  try {
    ls = await git(['ls-files', '-z', '--', '.', ...EXCLUDES], root, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { notGit: 'git is not installed' };
    throw err;
  }
  if (ls.code !== 0) {
    if (/not a git repository|must be run in a work tree/i.test(ls.stderr)) return { notGit: 'not a git work tree' };
    throw new GitError(`git ls-files failed in ${root}: ${ls.stderr || `exit ${ls.code}`}`);
  }
  return splitZ(ls.stdout);
}

/**
 * The files worth reading, found the way a user would with `git grep -l -i -w -E`, on the
 * tracked files only (so .gitignore is honoured by construction and git skips binaries: -I).
 */
export async function gitCandidates(root: string, tracked: readonly string[], word: string[], perl: string[], ignoreCase: boolean, signal: AbortSignal): Promise<GitCandidates> {
  const [wordRes, perlRes] = await Promise.all([
    word.length ? grepFiles(root, '-E', word, ignoreCase, true, signal) : null,
    perl.length ? grepFiles(root, '-P', perl, ignoreCase, false, signal) : null,
  ]);
  const candidates = new Set<string>();
  if (wordRes) {
    // git grep: 0 = found, 1 = nothing found, anything else = git could not search.
    if (wordRes.code > 1) throw new GitError(`git grep failed in ${root}: ${wordRes.stderr || `exit ${wordRes.code}`}`);
    for (const f of splitZ(wordRes.stdout)) candidates.add(f);
  }
  let perlFallback: string | null = null;
  if (perlRes) {
    if (perlRes.code > 1) {
      // A JavaScript regex git's PCRE rejects (or a git built without PCRE): read every file in JS instead.
      perlFallback = perlRes.stderr.split('\n')[0] || `git grep -P exit ${perlRes.code}`;
      for (const f of tracked) candidates.add(f);
    } else for (const f of splitZ(perlRes.stdout)) candidates.add(f);
  }
  return { candidates, perlFallback };
}
