import type { Config } from '../../config/types.js';
import { ExitCode } from '../../errors.js';
import type { IO } from '../../io.js';
import { formatDuration, note, type Output } from '../../output/format.js';
import { formatFault } from '../../sim/faults.js';
import type { SimulateReport, SimulateStarted } from './run.js';

export function printFallback(out: Output, why: string): void {
  note(out, `note: ${why}: using the in-process flag store (thor-cutover enable/disable will not reach this simulator)`);
}

export function printSimLog(io: IO, line: string): void {
  io.stderr.write(`sim: ${line}\n`);
}

export function printStarted(io: IO, out: Output, config: Config, s: SimulateStarted): void {
  io.stdout.write(`simulating on ${s.url} (${s.wsUrl}), speed ${s.speed}, seed ${s.seed}, store: ${s.store}\n`);
  note(out, `REST: ${config.features.map((f) => f.restPath).join(' ')}  flags: ${config.backend.flagsPath}  faults: ${s.faults.length ? s.faults.map(formatFault).join(' ') : 'none'}${config.backend.token ? '  token required for account features' : ''}`);
  note(out, 'Ctrl-C to stop');
}

/** Stopping is how a simulator ends: a clean shutdown, not an interrupted check (exit 0). */
export function printStopped(out: Output, r: SimulateReport): number {
  note(out, `stopped after ${formatDuration(r.ranMs)}: ${r.messages} messages, ${r.frames} frames sent, ${r.clients} client(s) connected at the end`);
  return ExitCode.OK;
}
