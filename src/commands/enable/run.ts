import type { CommandContext } from '../context.js';
import { runChange, type ChangeOptions, type ChangeResult } from '../flag-change.js';

/** --reason, --actor, --dry-run, --force. */
export type EnableOptions = ChangeOptions;

/** Switch a feature to the WebSocket path: the order guard and the verify gate, then one atomic, audited write. */
export function runEnable(ctx: CommandContext, feature: string, opts: EnableOptions): Promise<ChangeResult> {
  return runChange(ctx, feature, true, opts);
}
