import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { BIN, ROOT, cliEnv, type RunResult } from './cli.js';

/** A long-running CLI (history --follow, simulate, parity) a test talks to while it runs. */
export interface LiveCli {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  waitStdout(re: RegExp, ms?: number): Promise<void>;
  waitStderr(re: RegExp, ms?: number): Promise<void>;
  /** SIGINT, then the result; SIGKILL after a grace period so no test hangs. */
  interrupt(graceMs?: number): Promise<RunResult>;
  done: Promise<RunResult>;
}

export function spawnCli(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; killAfterMs?: number } = {}): LiveCli {
  const env = cliEnv(opts.env);
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const hardStop = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 60_000);
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (code, signal) => { clearTimeout(hardStop); resolve({ code, signal, stdout: out, stderr: err }); });
  });
  const wait = (get: () => string, re: RegExp, ms = 10_000) => new Promise<void>((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (re.test(get())) return resolve();
      if (child.exitCode !== null || Date.now() - t0 > ms) {
        return reject(new Error(`timed out waiting for ${re} (exit ${child.exitCode})\nstdout: ${out}\nstderr: ${err}`));
      }
      setTimeout(tick, 25);
    };
    tick();
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitStdout: (re, ms) => wait(() => out, re, ms),
    waitStderr: (re, ms) => wait(() => err, re, ms),
    interrupt: async (graceMs = 5_000) => {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await done;
      clearTimeout(timer);
      return r;
    },
    done,
  };
}
