import { spawn } from 'node:child_process';
import type { IO } from '../../src/io.js';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'thor-cutover.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill after this many ms (the test then sees signal SIGKILL): no test hangs. */
  timeoutMs?: number;
  input?: string;
  /** Send SIGINT when stdout first contains this text. */
  interruptOn?: string | RegExp;
}

/**
 * The environment a spawned CLI gets: this process's, without any THOR_CUTOVER_* or
 * WS_FEATURE_* of the machine (a test states its own), with NO_COLOR, plus the test's.
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('THOR_CUTOVER_') && !k.startsWith('WS_FEATURE_')) env[k] = v;
  }
  env.NO_COLOR = '1';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Spawn the built CLI as a user runs it: NO_COLOR, no TTY, stdout and stderr apart. */
export function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const env = cliEnv(opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (opts.interruptOn && !interrupted) {
        const hit = typeof opts.interruptOn === 'string' ? stdout.includes(opts.interruptOn) : opts.interruptOn.test(stdout);
        if (hit) { interrupted = true; child.kill('SIGINT'); }
      }
    });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * An IO for running `main()` in-process as a terminal or a pipe would: what it writes is
 * collected in `stdout` / `stderr`. NO_COLOR unless the test's env says otherwise.
 */
export function captureIO(o: { stdoutIsTTY?: boolean; stderrIsTTY?: boolean; env?: Record<string, string>; cwd?: string; interrupted?: AbortSignal } = {}) {
  const seen = { stdout: '', stderr: '' };
  const io: IO = {
    stdout: { write: (s: string) => { seen.stdout += s; return true; } },
    stderr: { write: (s: string) => { seen.stderr += s; return true; } },
    stdoutIsTTY: o.stdoutIsTTY ?? false,
    stderrIsTTY: o.stderrIsTTY ?? false,
    env: o.env ?? { NO_COLOR: '1' },
    cwd: o.cwd ?? '/',
    interrupted: o.interrupted ?? new AbortController().signal,
  };
  return { io, seen };
}
