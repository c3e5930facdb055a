import type { IO } from '../../io.js';
import { printJson, type Output } from '../../output/format.js';
import type { MonitorReport } from './run.js';

/** What the monitor says as it goes (sessions opened, recorded, a store that looks reset): one line on stderr. */
export function printNote(io: IO, text: string): void {
  io.stderr.write(`${text}\n`);
}

/** The summary when it stops (a line, or one JSON document); returns the exit code. */
export function printMonitor(out: Output, r: MonitorReport): number {
  if (out.format === 'json') printJson(out, 'monitor', r);
  else {
    out.io.stdout.write(`monitor ${r.runId}: ${r.sessionsRecorded} session${r.sessionsRecorded === 1 ? '' : 's'} recorded for ${r.features.join(', ')}`
      + `${r.partial ? `; ${r.partial} recorded as partial` : ''}${r.resets ? `; the flag store looked reset ${r.resets} time${r.resets === 1 ? '' : 's'}` : ''}\n`);
  }
  return r.exitCode;
}
