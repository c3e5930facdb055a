import { Option, type Command } from 'commander';
import { parseDuration } from '../config/duration.js';
import { UsageError } from '../errors.js';
import type { IO } from '../io.js';
import { CONFIG_KEY, makeContext, type CommandContext, type RunCommand } from './context.js';

/** commander hands the action its exit code through this. */
export type SetExit = (code: number) => void;

/**
 * Each command folder's command.ts exports one of these; src/commands/index.ts lists them.
 * `runCommand` runs another command as the CLI would (the demo runs the runbook with it):
 * cli.ts hands it down, so nothing imports cli.ts.
 */
export type Register = (program: Command, io: IO, setExit: SetExit, runCommand: RunCommand) => void;

/**
 * Wrap a command's action: build the context (config, output) once, run, report the exit
 * code. Errors propagate to main(), which prints them in one place.
 */
export function action(
  io: IO,
  setExit: SetExit,
  run: (ctx: CommandContext, args: string[]) => Promise<number>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const positional = args.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a.map(String) : a === undefined ? [] : [String(a)]));
    setExit(await run(await makeContext(io, cmd), positional));
  };
}

/** The backend to talk to: parity, verify, doctor, audit's flag join. */
export function backendOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'backend base URL (default: http://127.0.0.1:8000, THOR_CUTOVER_URL)')
    .option('--ws-url <url>', 'WebSocket URL (default: derived from --url, path /ws/)')
    .addOption(new Option('--token <token>', 'API token: ?token= and/or bearer header (THOR_CUTOVER_TOKEN)'));
}

/** --timeout as parity means it: one REST call or WS handshake (backend.timeout, over the file's). */
export function backendTimeoutOption(cmd: Command): Command {
  const o = new Option('--timeout <duration>', 'timeout of one REST call or WS handshake (default: the config, 5s)').argParser(durationArg('--timeout'));
  (o as Option & { [CONFIG_KEY]?: string })[CONFIG_KEY] = 'timeoutMs';
  return cmd.addOption(o);
}

export function jsonOption(cmd: Command, what = 'the result'): Command {
  return cmd.option('--json', `print ${what} as one JSON document (with schemaVersion)`);
}

/** Parse an integer option, with a usage error that names the flag. */
export function intArg(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new UsageError(`${name} takes a whole number >= ${min}, got "${value}"`);
    }
    return n;
  };
}

/** Parse a duration option ("90s", "15m", "250ms"), above zero, with a usage error that names the flag. */
export function durationArg(name: string) {
  return (value: string): number => {
    const ms = parseDuration(value);
    if (ms === null || ms <= 0) throw new UsageError(`${name} takes a duration above zero such as 250ms, 90s or 15m, got "${value}"`);
    return ms;
  };
}

/** Parse a number option above zero (--speed), with a usage error that names the flag. */
export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} takes a number above zero, got "${value}"`);
    return n;
  };
}

/** enable and disable share their options; only the verb differs. */
export function changeCommand(program: Command, verb: 'enable' | 'disable', description: string, examples: string): Command {
  const cmd = program
    .command(`${verb} <feature>`)
    .description(description)
    .option('-r, --reason <text>', 'why: recorded in the audit stream and shown by status/history')
    .option('--actor <name>', 'who: recorded with the change (default: THOR_CUTOVER_ACTOR, else user@host)')
    .option('-n, --dry-run', 'say what would change, write nothing')
    .addHelpText('after', examples);
  return jsonOption(cmd, 'the outcome');
}
