import { formatDuration, note, printJson, renderTable, type Output } from '../../output/format.js';
import type { Style } from '../../output/style.js';
import type { CheckStatus, DoctorReport } from './types.js';

function glyph(s: Style, status: CheckStatus): string {
  switch (status) {
    case 'pass': return s.ok(s.glyph.pass);
    case 'warn': return s.warn(s.glyph.warn);
    case 'fail': return s.bad(s.glyph.fail);
    case 'skip': return s.dim('-');
  }
}

export function summaryLine(r: DoctorReport): string {
  const { pass, warn, fail, skip } = r.summary;
  const parts = [`${pass} passed`];
  if (warn) parts.push(`${warn} warning${warn === 1 ? '' : 's'}`);
  parts.push(`${fail} failed`);
  if (skip) parts.push(`${skip} skipped`);
  return `${parts.join(' · ')} in ${formatDuration(r.durationMs)}${r.interrupted ? ' (interrupted)' : ''}`;
}

/** On a terminal: how long the run may take (it ends sooner once everything has been seen). */
export function printDoctorStart(out: Output, timeoutMs: number): void {
  if (!out.progress) return;
  note(out, out.errStyle.dim(`doctor: checking for up to ${formatDuration(timeoutMs)} (sooner once every message type, a heartbeat and a pong have arrived)`));
}

/** TTY: one line per check, the hint under failures and warnings; pipe: tab-separated rows; --json: one document. */
export function printDoctor(out: Output, r: DoctorReport): void {
  if (out.format === 'json') {
    printJson(out, 'doctor', { ok: r.summary.fail === 0 && !r.interrupted, ...r });
    return;
  }
  const w = out.io.stdout;
  if (out.format === 'plain') {
    // status, id, title, measured, hint: `awk -F'\t' '$1=="fail"'` finds what to fix.
    w.write(renderTable(out, [], r.checks.map((c) => [c.status, c.id, c.title, c.measured, c.hint ?? ''])));
    out.io.stderr.write(`${summaryLine(r)}\n`);
    return;
  }
  const s = out.style;
  const width = Math.max(...r.checks.map((c) => c.title.length));
  w.write(`${s.bold('thor-cutover doctor')} ${s.dim(`· ${r.target.url} · ${r.target.redis} ${r.target.prefix}${r.speed !== 1 ? ` · --speed ${r.speed}` : ''}`)}\n`);
  for (const c of r.checks) {
    const measured = c.status === 'skip' ? s.dim(c.measured) : c.measured;
    w.write(`${glyph(s, c.status)} ${c.title.padEnd(width)}  ${measured}\n`);
    if (c.hint && (c.status === 'fail' || c.status === 'warn')) w.write(`  ${' '.repeat(width)}  ${s.dim('hint:')} ${c.hint}\n`);
  }
  const line = summaryLine(r);
  w.write(`\n${r.summary.fail ? s.bad(line) : r.summary.warn ? s.warn(line) : s.ok(line)}\n`);
}
