import { formatTime, printable, printJson, renderTable, type Output } from '../../output/format.js';
import type { StatusReport } from './run.js';

const MODE_LINE: Record<StatusReport['mode'], string> = {
  SHADOW: 'SHADOW MODE - all features using REST (WebSocket logging only)',
  PARTIAL: 'PARTIAL CUTOVER - some features using WebSocket',
  FULL: 'FULL CUTOVER - every feature using WebSocket',
};

export function printStatus(out: Output, r: StatusReport): void {
  printWarnings(out, r);
  if (out.format === 'json') {
    printJson(out, 'status', r);
    return;
  }
  const s = out.style;
  const w = out.io.stdout;
  if (out.format === 'plain') {
    // One row per feature: name, WS|REST, source, actor, at, reason, verify verdict.
    // The monitor line is not a feature row: on stderr, so the rows stay one kind.
    out.io.stderr.write(`${monitorLine(out, r)}\n`);
    w.write(renderTable(out, [], r.features.map((f) => [
      f.name, f.enabled ? 'WS' : 'REST', f.source, printable(f.lastChange?.actor ?? '-'), f.lastChange?.at ?? '-',
      printable(f.lastChange?.reason || '-'), f.lastVerify?.verdict ?? '-',
    ])));
  } else {
    const modeGlyph = r.mode === 'SHADOW' ? s.glyph.rest : s.glyph.ws;
    w.write(`${s.bold('WebSocket cutover status')} ${s.dim(`· ${r.store} · rev ${r.rev}`)}\n`);
    w.write(`${modeGlyph} ${s.bold(MODE_LINE[r.mode])}\n\n`);
    const rows = r.features.map((f) => {
      const state = f.enabled ? `${s.glyph.ws} ${s.ok('WS')}` : `${s.glyph.rest} REST`;
      const source = f.source === 'env' ? `env ${f.envVar}=${f.envValue}` : f.source;
      const change = f.lastChange
        ? `${formatTime(out, f.lastChange.at)} by ${printable(f.lastChange.actor)}${f.lastChange.forced ? s.warn(' (forced)') : ''}${f.lastChange.reason ? `: "${printable(f.lastChange.reason)}"` : ''}`
        : s.dim('never changed');
      const verify = f.lastVerify
        ? `${f.lastVerify.verdict === 'pass' ? s.ok(`${s.glyph.pass} pass`) : f.lastVerify.verdict === 'fail' ? s.bad(`${s.glyph.fail} fail`) : s.warn(`${s.glyph.warn} ${f.lastVerify.verdict}`)} (${f.lastVerify.sessions} sess, ${formatTime(out, f.lastVerify.finishedAt)})`
        : s.dim('-');
      const next = r.next === f.name ? ` ${s.bold(`${s.glyph.next} next`)}` : '';
      return [state, `${f.name}${next}`, source, change, verify];
    });
    w.write(renderTable(out, ['state', 'feature', 'source', 'last change', 'last verify'], rows));
    if (r.next) w.write(`\nnext in the sequence: ${s.bold(r.next)}  ${s.dim(`(thor-cutover enable ${r.next} --reason "...")`)}\n`);
    w.write(`\n${monitorLine(out, r)}\n`);
  }
}

function monitorLine(out: Output, r: StatusReport): string {
  const s = out.style;
  const m = r.monitor;
  if (!m) return `monitor: ${s.dim('not running')}`;
  const last = m.recorded.at(-1);
  return `monitor: ${s.ok('running')} since ${formatTime(out, m.startedAt)} on ${printable(m.host)} (pid ${m.pid}) · ${m.features.join(', ')}${m.shadow ? ' (shadow)' : ''}`
    + ` · ${m.recorded.length} session${m.recorded.length === 1 ? '' : 's'} recorded${last ? `, last ${printable(last.label)}: ${Object.entries(last.verdicts).map(([f, v]) => `${f} ${v}`).join(', ')}` : ''}`;
}

function printWarnings(out: Output, r: StatusReport): void {
  const prefix = out.errStyle.warn(`${out.errStyle.glyph.warn} warning:`);
  for (const f of r.features) for (const warning of f.warnings) out.io.stderr.write(`${prefix} ${f.name}: ${warning}\n`);
  if (r.unknownFlags.length) {
    out.io.stderr.write(`${prefix} the flags hash has fields that are not configured features: ${r.unknownFlags.join(', ')}\n`);
  }
  const e = out.errStyle;
  for (const h of r.storeHealth ?? []) {
    if (h.status === 'ok') continue;
    const head = h.status === 'warn' ? `${prefix} flag store` : e.dim(`note: flag store ${h.id}`);
    out.io.stderr.write(`${head}: ${h.summary}\n`);
    if (h.hint) out.io.stderr.write(`${e.dim('hint:')} ${h.hint}\n`);
  }
}
