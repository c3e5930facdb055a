import { changeCommand } from '../enable/command.js';
import { action, type Register } from '../register.js';

export const register: Register = (program, io, setExit) => {
  changeCommand(program, 'disable', 'roll a feature back to the REST path (live, no restart)', `
A rollback is the same kind of write as an enable: atomic, audited, published. Disabling a
feature while a later one is still on is allowed, with a warning.

Examples:
  $ thor-cutover disable account_balance --reason "rollback: balances lag"
  $ thor-cutover disable positions --dry-run --json`)
    .action(action(io, setExit, async (ctx, [feature]) => {
      const { runChange } = await import('../enable/change.js');
      const { printChange } = await import('../enable/render.js');
      const o = ctx.opts as { reason?: string; actor?: string; dryRun?: boolean };
      return printChange(ctx.out, await runChange(ctx, feature!, false, o));
    }));
};
