import { formatTime, printable, printJson, renderTable, type Output } from '../../output/format.js';
import type { FlagEvent } from '../../store/types.js';
import type { FollowEvents, HistoryReport } from './run.js';

const state = (on: boolean) => (on ? 'WS' : 'REST');

export function printHistory(out: Output, r: HistoryReport, follow = false): void {
  if (out.format === 'json') {
    // --follow streams: one JSON object per line, the past entries first.
    if (follow) for (const e of r.entries) out.io.stdout.write(JSON.stringify({ schemaVersion: 1, kind: 'audit-entry', ...e }) + '\n');
    else printJson(out, 'history', r);
    return;
  }
  if (r.entries.length === 0) {
    out.io.stderr.write(`no changes recorded${r.feature ? ` for ${r.feature}` : ''} in ${r.store}\n`);
    return;
  }
  const s = out.style;
  const rows = r.entries.map((e) => [
    String(e.rev), formatTime(out, e.at), e.feature, `${state(e.from)} ${s.glyph.next} ${state(e.to)}`,
    printable(e.actor), e.reason ? printable(e.reason) : s.dim('(no reason)'), e.forced ? s.warn('forced') : '',
  ]);
  const plain = r.entries.map((e) => [String(e.rev), e.at, e.feature, state(e.from), state(e.to), printable(e.actor), printable(e.reason), e.forced ? 'forced' : '']);
  out.io.stdout.write(renderTable(out, ['rev', 'when', 'feature', 'change', 'actor', 'reason', ''], rows, plain));
}

export function printEvent(out: Output, e: FlagEvent): void {
  if (out.format === 'json') {
    out.io.stdout.write(JSON.stringify({ schemaVersion: 1, kind: 'flag-event', ...e }) + '\n');
    return;
  }
  const s = out.style;
  if (out.format === 'plain') {
    out.io.stdout.write([String(e.rev), e.at, e.feature, state(e.previous), state(e.enabled), printable(e.actor), printable(e.reason)].join('\t') + '\n');
    return;
  }
  out.io.stdout.write(`${s.dim(e.at)}  rev ${e.rev}  ${s.bold(e.feature)}: ${state(e.previous)} ${s.glyph.next} ${e.enabled ? s.ok('WS') : 'REST'}  by ${printable(e.actor)}${e.reason ? `: "${printable(e.reason)}"` : ''}\n`);
}

/** --follow's output: the past entries oldest first, then one line (or JSON object) per change; notes on stderr. */
export function followPrinter(out: Output): FollowEvents {
  const warn = (m: string) => out.io.stderr.write(`${out.errStyle.warn('warning:')} ${m}\n`);
  return {
    past: (r) => printHistory(out, r, true),
    event: (e) => printEvent(out, e),
    reconnecting: (detail) => warn(`lost Redis${detail ? ` (${detail})` : ''}; reconnecting…`),
    reconnected: () => out.io.stderr.write('reconnected to Redis; following again\n'),
    catchUpFailed: (m) => warn(`could not read the changes made while away: ${m}`),
    following: (store) => { if (out.format !== 'json') out.io.stderr.write(`following changes on ${store} (Ctrl-C to stop)\n`); },
  };
}
