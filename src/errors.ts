/**
 * The error contract. Every error a user can cause or meet carries a stable `code`
 * (scripts match on it, never on message text), an exit code and an optional hint.
 * Anything else that reaches the top level is a bug and is printed with its stack.
 */

export const ExitCode = {
  OK: 0,
  /** Ran, but refused a change or found a problem (a check failed, mismatches, leftovers). */
  FAILED: 1,
  /** Usage, config, connection or internal error: could not run. */
  ERROR: 2,
  /** A check that saw too little to judge. No data is never a pass. */
  INCONCLUSIVE: 3,
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CutoverError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: ExitCodeValue;

  constructor(code: string, message: string, opts: { hint?: string; exitCode?: ExitCodeValue; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? ExitCode.ERROR;
  }
}

export class UsageError extends CutoverError {
  constructor(message: string, hint?: string, code = 'E_USAGE') {
    super(code, message, { hint, exitCode: ExitCode.ERROR });
  }
}

export class ConfigError extends CutoverError {
  readonly problems: string[];
  constructor(message: string, problems: string[] = [], hint?: string) {
    super('E_CONFIG', message, { hint, exitCode: ExitCode.ERROR });
    this.problems = problems;
  }
}

export class StoreUnavailableError extends CutoverError {
  constructor(message: string, hint?: string, cause?: unknown, code = 'E_STORE_UNAVAILABLE') {
    super(code, message, { hint, exitCode: ExitCode.ERROR, cause });
  }
}

/** A backend (HTTP or WebSocket) could not be reached at all. */
export class ConnectionError extends CutoverError {
  constructor(message: string, hint?: string, cause?: unknown, code = 'E_CONNECTION') {
    super(code, message, { hint, exitCode: ExitCode.ERROR, cause });
  }
}

/** A change the tool will not make (order guard, verify gate). Exit 1. */
export class RefusedError extends CutoverError {
  constructor(message: string, hint?: string, code = 'E_REFUSED') {
    super(code, message, { hint, exitCode: ExitCode.FAILED });
  }
}

export function isCutoverError(err: unknown): err is CutoverError {
  return err instanceof CutoverError;
}
