import type { Output } from '../../output/format.js';
import { printChange } from '../flag-change-render.js';
import type { ChangeResult } from '../flag-change.js';

/** The outcome (a warning when a later feature is still on); returns the exit code. */
export function renderDisable(out: Output, r: ChangeResult): number {
  return printChange(out, r);
}
