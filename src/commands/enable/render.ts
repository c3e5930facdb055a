import type { Output } from '../../output/format.js';
import { printChange } from '../flag-change-render.js';
import type { ChangeResult } from '../flag-change.js';

/** The outcome (refusals on stderr for people, the JSON for scripts); returns the exit code. */
export function renderEnable(out: Output, r: ChangeResult): number {
  return printChange(out, r);
}
