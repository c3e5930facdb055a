import { ExitCode } from '../../errors.js';
import { action, intArg, jsonOption, type Register } from '../register.js';
import type { HistoryOptions } from './run.js';

export const register: Register = (program, io, setExit) => {
  const cmd = program
    .command('history')
    .description('the audit stream of flag changes, newest first; --follow prints changes live')
    .option('--feature <name>', 'only this feature')
    .option('-l, --limit <n>', 'at most this many entries', intArg('--limit', 1), 20)
    .option('-f, --follow', 'after the history, print each change as it is published, until Ctrl-C')
    .addHelpText('after', `
Examples:
  $ thor-cutover history --feature account_balance
  $ thor-cutover history --limit 100 --json > audit.json
  $ thor-cutover history --follow            # one line per change, live; Ctrl-C to stop (exit 130)`);
  jsonOption(cmd, 'the entries (with --follow: one JSON object per line)');
  cmd.action(action(io, setExit, async (ctx) => {
    const { followHistory, runHistory } = await import('./run.js');
    const { followPrinter, printHistory } = await import('./render.js');
    const o = ctx.opts as unknown as HistoryOptions;
    if (o.follow) {
      await followHistory(ctx, o, followPrinter(ctx.out));
      return ExitCode.INTERRUPTED;
    }
    printHistory(ctx.out, await runHistory(ctx, o));
    return ExitCode.OK;
  }));
};
