import { Command, CommanderError } from 'commander';
import { redactText } from './redact.js';
import { CutoverError, ExitCode } from './errors.js';
import { processIO, type IO } from './io.js';
import { packageVersion } from './package.js';
import { commandsFor } from './commands/index.js';
import type { SetExit } from './commands/register.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0    done (an idempotent no-op included)
  1    ran, but refused a change or found a problem (check failed, mismatches, leftovers)
  2    usage, config, connection or internal error: could not run
  3    inconclusive: a check saw too little to judge (no data is never a pass)
  130  interrupted (Ctrl-C)`;


/** The program, with the commands `argv` needs (every one when it names none: help). */
export function buildProgram(io: IO, setExit: SetExit, argv: readonly string[] = []): Command {
  const program = new Command('thor-cutover')
    .description('Cut a trading backend over from REST polling to a WebSocket stream, one feature at a time.')
    .version(packageVersion(), '-V, --version')
    .option('-c, --config <path>', 'config file (default: ./thor-cutover.config.json, or THOR_CUTOVER_CONFIG)')
    .option('--redis <url>', 'Redis URL (default: THOR_CUTOVER_REDIS_URL, the config, then redis://127.0.0.1:6379)')
    .option('--prefix <prefix>', 'Redis key prefix (default: {thor:cutover})')
    .option('--no-color', 'no colour in the output (NO_COLOR is honoured too)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s),
    })
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride();
  for (const register of commandsFor(argv)) register(program, io, setExit, main);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput(program.configureOutput());
  return program;
}

export async function main(argv: string[], io: IO): Promise<number> {
  let code: number = ExitCode.OK;
  const program = buildProgram(io, (c) => { code = c; }, argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    return reportError(io, err);
  }
}

export function reportError(io: IO, err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version "fail" with exit code 0 in commander's terms.
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.OK;
    if (err.code === 'commander.help') return ExitCode.OK;
    return ExitCode.ERROR;
  }
  if (err instanceof CutoverError) {
    // Last line of defence: whatever a library put in a message, no URL leaves with its secrets.
    io.stderr.write(`error: ${redactText(err.message)}\n`);
    if (err.hint) io.stderr.write(`hint: ${redactText(err.hint)}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  io.stderr.write(`error: unexpected failure (this is a bug in thor-cutover, please report it)\n${redactText(e?.stack ?? String(err))}\n`);
  return ExitCode.ERROR;
}


/** The bin's entry: the one place that touches process.exitCode and signals. */
export async function runFromProcess(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    // A second Ctrl-C means now: whatever is in flight is abandoned.
    if (interrupts > 1) process.exit(ExitCode.INTERRUPTED);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `thor-cutover ... | head`: the reader left; there is nobody to tell, so stop quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  const code = await main(process.argv.slice(2), processIO(controller.signal));
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.exitCode = code;
  // The work is done and its output written. A socket a library failed to release (a TLS
  // handshake that never completed, say) must not hold the prompt: exit after a grace
  // period that only runs if something else still keeps the process alive.
  // Never cut off output still queued for a slow pipe: wait for it to drain first.
  const exitWhenFlushed = (): void => {
    for (const stream of [process.stdout, process.stderr]) {
      if (stream.writableLength > 0) { stream.once('drain', exitWhenFlushed); return; }
    }
    process.exit(code);
  };
  setTimeout(exitWhenFlushed, 500).unref();
}
