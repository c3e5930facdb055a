import type { Command } from 'commander';
import { action, jsonOption, type Register } from '../register.js';

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

export const register: Register = (program, io, setExit) => {
  changeCommand(program, 'enable', 'switch a feature to the WebSocket path (live: backends pick it up within a second)', `
The cutover order is enforced: a feature is refused while an earlier one is still off,
or while the feature before it has no passing \`thor-cutover verify\` covering the
required sessions (config verify.requiredSessions, default 1) since it was enabled;
--force overrides both (recorded as forced). Enabling what is already on changes nothing.

Examples:
  $ thor-cutover enable account_balance --reason "week 1 cutover"
  $ thor-cutover enable positions --dry-run
  $ thor-cutover enable intraday --force --reason "hotfix, positions verified by hand"`)
    .option('-f, --force', 'enable even if an earlier feature is still off or unverified (recorded as forced)')
    .action(action(io, setExit, async (ctx, [feature]) => {
      const { runChange } = await import('./change.js');
      const { printChange } = await import('./render.js');
      const o = ctx.opts as { reason?: string; actor?: string; dryRun?: boolean; force?: boolean };
      return printChange(ctx.out, await runChange(ctx, feature!, true, o));
    }));
};
