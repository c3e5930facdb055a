import { action, jsonOption, type Register } from '../register.js';
import type { DemoOptions } from './run.js';

export const register: Register = (program, io, setExit, runCommand) => {
  const cmd = program
    .command('demo')
    .description('rehearse the whole runbook end to end against the built-in simulator (no Redis or backend needed)')
    .option('--fast', 'the same in a few seconds (high speed, short sessions): what CI runs')
    .addHelpText('after', `
Each step prints the real command it runs and its real output. The flags live in an
in-process store, or in Redis under a throw-away prefix when THOR_CUTOVER_REDIS_URL is set
(removed at the end). Exit 0 when every step behaved as expected; otherwise 1, naming the
step that did not.

Examples:
  $ thor-cutover demo            # about a minute
  $ thor-cutover demo --fast     # a few seconds`);
  jsonOption(cmd, 'the steps and their outcomes (the commands\' own output is not included)');
  cmd.action(action(io, setExit, async (ctx) => {
    const { runDemo } = await import('./run.js');
    const { demoPrinter, printDemo } = await import('./render.js');
    return printDemo(ctx.out, await runDemo(ctx, ctx.opts as DemoOptions, runCommand, demoPrinter(ctx.out)));
  }));
};
