import { ExitCode } from '../errors.js';
import { printJson, type Output } from '../output/format.js';
import type { ChangeResult } from './flag-change.js';

const state = (on: boolean) => (on ? 'WS' : 'REST');

/** Prints the outcome of enable/disable and returns its exit code. */
export function printChange(out: Output, r: ChangeResult): number {
  const code = r.result === 'refused' ? ExitCode.FAILED : ExitCode.OK;
  for (const w of r.warnings) out.io.stderr.write(`${out.errStyle.warn('warning:')} ${w}\n`);
  // A refusal is an error for people (stderr) and a result for scripts (the JSON below).
  if (r.refusal) out.io.stderr.write(`error: ${r.refusal.message}\nhint: ${r.refusal.hint}\n`);
  if (out.format === 'json') {
    printJson(out, 'change', r);
    return code;
  }
  const s = out.style;
  const w = out.io.stdout;
  switch (r.result) {
    case 'changed':
      if (r.previous === r.enabled) {
        // The hash had no field: the backend was following its env var; now Redis decides.
        w.write(`${s.ok(s.glyph.pass)} ${r.feature}: ${s.bold(state(r.enabled))}, now pinned in Redis (the backend's env var no longer decides) (rev ${r.rev}, by ${r.actor}${r.forced ? ', forced' : ''})\n`);
      } else {
        w.write(`${s.ok(s.glyph.pass)} ${r.feature}: ${state(r.previous)} ${s.glyph.next} ${s.bold(state(r.enabled))} (rev ${r.rev}, by ${r.actor}${r.forced ? ', forced' : ''})\n`);
      }
      break;
    case 'noop':
      w.write(`${r.feature} is already ${r.enabled ? 'on' : 'off'} (rev ${r.rev}; nothing changed)\n`);
      break;
    case 'dry-run':
      w.write(`dry run: would change ${r.feature}: ${state(r.previous)} ${s.glyph.next} ${state(r.enabled)} (rev ${r.rev} -> ${r.rev + 1}); nothing written\n`);
      break;
    case 'refused':
      break;
  }
  return code;
}
