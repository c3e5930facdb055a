/**
 * The process boundary, passed down instead of touching `process` directly, so `main()`
 * runs the same in a test as from the shell.
 */
export interface Writable {
  write(chunk: string): unknown;
}

export interface IO {
  stdout: Writable;
  stderr: Writable;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the user asks to stop (Ctrl-C / SIGTERM). Long-running commands race it. */
  interrupted: AbortSignal;
}

export function processIO(signal: AbortSignal): IO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
    interrupted: signal,
  };
}
