import { ExitCode } from '../../errors.js';
import { printJson, type Output } from '../../output/format.js';
import type { ChangeResult } from './change.js';

const state = (on: boolean) => (on ? 'WS' : 'REST');

/** Prints the outcome of enable/disable and returns its exit code. */
export function printChange(out: Output, r: ChangeResult): number {
  const code = r.result === 'refused' ? ExitCode.FAILED : ExitCode.OK;
  for (const w of r.warnings) out.io.stderr.write(`${out.errStyle.warn('warning:')} ${w}\n`);
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
    case 'refused': {
      const list = r.blockers.join(', ');
      out.io.stderr.write(
        `error: ${r.action} ${r.feature} refused: ${list} ${r.blockers.length > 1 ? 'come' : 'comes'} earlier in the cutover order and ${r.blockers.length > 1 ? 'are' : 'is'} still off\n` +
        `hint: thor-cutover enable ${r.blockers[0]} first, or pass --force (recorded as forced in the audit stream)\n`,
      );
      break;
    }
  }
  return code;
}
