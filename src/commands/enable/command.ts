import { action, changeCommand, type Register } from '../register.js';
import type { EnableOptions } from './run.js';

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
      const { runEnable } = await import('./run.js');
      const { renderEnable } = await import('./render.js');
      return renderEnable(ctx.out, await runEnable(ctx, feature!, ctx.opts as EnableOptions));
    }));
};
