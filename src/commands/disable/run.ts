import type { CommandContext } from '../context.js';
import { runChange, type ChangeOptions, type ChangeResult } from '../flag-change.js';

/** --reason, --actor, --dry-run (a rollback is never refused: no --force). */
export type DisableOptions = Omit<ChangeOptions, 'force'>;

/** Roll a feature back to the REST path: the same kind of atomic, audited write as an enable. */
export function runDisable(ctx: CommandContext, feature: string, opts: DisableOptions): Promise<ChangeResult> {
  return runChange(ctx, feature, false, opts);
}
