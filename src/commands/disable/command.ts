import { action, changeCommand, type Register } from '../register.js';
import type { DisableOptions } from './run.js';

export const register: Register = (program, io, setExit) => {
  changeCommand(program, 'disable', 'roll a feature back to the REST path (live, no restart)', `
A rollback is the same kind of write as an enable: atomic, audited, published. Disabling a
feature while a later one is still on is allowed, with a warning.

Examples:
  $ thor-cutover disable account_balance --reason "rollback: balances lag"
  $ thor-cutover disable positions --dry-run --json`)
    .action(action(io, setExit, async (ctx, [feature]) => {
      const { runDisable } = await import('./run.js');
      const { renderDisable } = await import('./render.js');
      return renderDisable(ctx.out, await runDisable(ctx, feature!, ctx.opts as DisableOptions));
    }));
};
