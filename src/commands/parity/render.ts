import { boxTable, formatDuration, printJson, renderTable, type Output } from '../../output/format.js';
import type { Style } from '../../output/style.js';
import type { Writable } from '../../io.js';
import { describeFlagChange } from '../../stream/flags.js';
import { formatMs as ms } from '../../output/units.js';
import type { MismatchRecord } from '../../stream/match.js';
import type { EngineSnapshot, FeatureStats, StreamEvent } from '../../stream/types.js';
import { badFrameTotal } from '../../stream/ws-types.js';
import { eventLine, type ParityReport } from './run.js';

const MAX_DIFFS = 5;

function rate(r: number | null): string {
  if (r === null) return '-';
  return `${(r * 100).toFixed(r > 0 && r < 0.01 ? 2 : 1)}%`;
}

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function intervalCell(f: FeatureStats): string {
  if (!f.interval) return f.staleness ? `staleness max ${f.staleness.maxMs === null ? '-' : ms(f.staleness.maxMs)}` : '-';
  if (f.interval.count === 0) return `- (exp ${ms(f.expectedIntervalMs)})`;
  return `${ms(f.interval.p50!)} / ${ms(f.interval.p95!)} (exp ${ms(f.expectedIntervalMs)})`;
}

/** A terminal table redrawn in place about once a second; never on a pipe, never with --json. */
export class LiveView {
  private lines = 0;

  private constructor(private readonly out: Output, private readonly w: Writable, private readonly s: Style) {}

  static forOutput(out: Output): LiveView | null {
    if (out.format === 'json') return null;
    if (out.io.stderrIsTTY) return new LiveView(out, out.io.stderr, out.errStyle);
    if (out.io.stdoutIsTTY) return new LiveView(out, out.io.stdout, out.style);
    return null;
  }

  draw(snap: EngineSnapshot): void {
    const s = this.s;
    const c = snap.connection;
    const table = boxTable(this.out, ['feature', 'WS msgs', 'rate/s', 'interval p50 / p95', 'REST polls', 'match', 'mismatches', 'errors'], s);
    for (const f of snap.overall.features) {
      const bad = f.match.mismatched > 0;
      table.push([
        f.name,
        f.ws.messages === 0 ? s.warn('0') : String(f.ws.messages),
        f.ws.ratePerSec.toFixed(1),
        intervalCell(f),
        String(f.rest.polls),
        f.match.compared ? rate(f.match.agreed / f.match.compared) : '-',
        bad ? s.bad(String(f.match.mismatched)) : '0',
        f.rest.errors ? s.bad(String(f.rest.errors)) : '0',
      ]);
    }
    const state = c.state === 'connected' ? s.ok(c.state) : s.warn(c.state);
    const rtt = c.rtt.ws.lastMs === null ? '-' : `${c.rtt.ws.lastMs} ms`;
    const session = snap.sessions.length ? ` · session ${snap.sessions[snap.sessions.length - 1]!.session.label}` : '';
    const header = `${s.bold('parity')} ${s.dim(`· ${formatDuration(snap.elapsedMs)} · speed ${snap.speed}`)} · WS ${state} · reconnects ${c.reconnects} · RTT ${rtt} · problems ${snap.overall.findings.length}${session}`;
    const text = `${header}\n${table.toString()}\n${s.dim('Ctrl-C stops and prints the summary')}\n`;
    this.clear();
    this.w.write(text);
    this.lines = text.split('\n').length - 1;
  }

  clear(): void {
    if (this.lines > 0) this.w.write(`\x1b[${this.lines}A\x1b[0J`);
    this.lines = 0;
  }
}

/** A feature's result as printed, without glyph or colour (the HTML report shows it too). */
export function featureResultText(f: FeatureStats, r: ParityReport): { ok: boolean; text: string } {
  if (f.ws.messages === 0) return { ok: false, text: 'no data' };
  const n = r.findings.filter((x) => x.feature === f.name).length;
  return n ? { ok: false, text: `${n} problem${n > 1 ? 's' : ''}` } : { ok: true, text: 'ok' };
}

function featureResult(f: FeatureStats, r: ParityReport, s: Style): string {
  const res = featureResultText(f, r);
  return res.ok ? s.ok(`${s.glyph.pass} ${res.text}`) : s.bad(`${s.glyph.fail} ${res.text}`);
}

/** The closing verdict line, without glyph or colour. */
export function verdictLine(r: ParityReport): { status: 'pass' | 'fail' | 'inconclusive'; text: string } {
  if (r.ok) return { status: 'pass', text: 'no problems: every feature streamed and agreed with REST' };
  if (r.findings.length) return { status: 'fail', text: `${r.findings.length} problem${r.findings.length > 1 ? 's' : ''} found` };
  return { status: 'inconclusive', text: `too little to judge: no REST poll of ${r.notCompared.join(', ')} could be compared with WS yet (run longer: --duration, --sessions)` };
}

function diffBlock(m: MismatchRecord, s: Style): string {
  const head = `${s.bold(`${m.feature} ${m.key}`)}${m.version ? s.dim(` (version ${m.version})`) : ''} at ${new Date(m.at).toISOString().slice(11, 23)}, nearest WS ${ms(Math.abs(m.skewMs))} away`;
  const width = Math.max(...m.fields.map((f) => f.path.length));
  const rows = m.fields.slice(0, 8).map((f) => `    ${f.path.padEnd(width)}  REST ${s.ok(show(f.rest))}  WS ${s.bad(show(f.ws))}`);
  if (m.fields.length > 8) rows.push(`    (+${m.fields.length - 8} more fields)`);
  return `  ${head}\n${rows.join('\n')}\n`;
}

/** The summary at the end. Returns the exit code. */
export function printParity(out: Output, r: ParityReport): number {
  if (out.format === 'json') {
    printJson(out, 'parity', r);
    return r.exitCode;
  }
  const s = out.style;
  const w = out.io.stdout;
  const c = r.connection;
  w.write(`${s.bold('parity')} · ${r.features.length} feature${r.features.length > 1 ? 's' : ''} · ${formatDuration(r.durationMs)} · stopped by ${r.stoppedBy}${r.speed !== 1 ? ` · speed ${r.speed}` : ''}\n`);
  const head = ['feature', 'result', 'WS msgs', 'interval p50 / p95', 'late/missed/bursts', 'REST polls', 'REST errors', 'compared', 'mismatched', 'skipped', 'unmatched'];
  const rows = r.features.map((f) => [
    f.name,
    featureResult(f, r, s),
    String(f.ws.messages),
    intervalCell(f),
    f.interval ? `${f.interval.late}/${f.interval.missedBeats}/${f.interval.bursts}` : '-',
    String(f.rest.polls),
    String(f.rest.errors),
    String(f.match.compared),
    f.match.mismatched ? s.bad(`${f.match.mismatched} (${rate(f.match.rate)})`) : '0',
    f.match.skipped ? `${f.match.skipped} (${rate(f.match.skippedRate)})` : '0',
    String(f.match.unmatched + f.match.missingOnWs),
  ]);
  w.write(renderTable(out, head, rows));
  const rtt = c.rtt.ws.meanMs === null ? '-' : `${c.rtt.ws.meanMs.toFixed(1)} ms (max ${c.rtt.ws.maxMs} ms)`;
  w.write(`connection: ${c.connects} connect${c.connects === 1 ? '' : 's'}, ${c.reconnects} reconnects, longest gap ${c.gaps.maxMs ? ms(c.gaps.maxMs) : '-'}, RTT ${rtt}, bad frames ${badFrameTotal(c.badFrames)}, heartbeats ${c.heartbeats}${c.clientStalls.count ? `, this machine stalled ${c.clientStalls.count}x (max ${ms(c.clientStalls.maxMs)}, taken out of intervals)` : ''}\n`);
  if (r.sessions.length) {
    w.write(`sessions (${r.sessionsCompleted} complete):\n`);
    for (const sess of r.sessions) {
      const mark = sess.findings.length ? s.bad(`${s.glyph.fail} ${sess.findings.length} problem${sess.findings.length > 1 ? 's' : ''}`) : s.ok(`${s.glyph.pass} ok`);
      w.write(`  ${sess.label}${sess.closedAt ? '' : ' (open)'}  ${mark}\n`);
    }
  }
  const volatile = r.features.flatMap((f) => f.noise.map((v) => `${f.name}.${v.field} (REST vs REST ${rate(v.restRate)}, WS ${rate(v.wsRate)}${v.counted ? ', counted: WS differs more often' : ''})`));
  if (volatile.length) w.write(`volatile fields, reported as noise: ${volatile.join('; ')}\n`);
  if (r.unknownTypes.length) w.write(`message types no feature claims: ${r.unknownTypes.join(', ')}\n`);
  for (const c of r.flagChanges) w.write(`flag changed during the run: ${describeFlagChange(c)}\n`);
  if (r.findings.length) {
    w.write(`\n${s.bold(`problems (${r.findings.length}):`)}\n`);
    for (const f of r.findings) w.write(`  ${s.bad(s.glyph.fail)} ${f.message}\n${f.hint ? `    ${s.dim(`hint: ${f.hint}`)}\n` : ''}`);
    const mismatches = r.features.flatMap((f) => f.match.mismatches).sort((a, b) => a.at - b.at).slice(0, MAX_DIFFS);
    if (mismatches.length) {
      w.write(`\n${s.bold('first mismatches:')}\n`);
      for (const m of mismatches) w.write(diffBlock(m, s));
    }
  }
  const v = verdictLine(r);
  const verdict = v.status === 'pass' ? s.ok(`${s.glyph.pass} ${v.text}`) : v.status === 'fail' ? s.bad(`${s.glyph.fail} ${v.text}`) : s.warn(`? ${v.text}`);
  w.write(`\n${verdict}${r.stoppedBy === 'interrupted' ? s.dim(' (interrupted)') : ''}\n`);
  if (r.eventsFile) out.io.stderr.write(`events written to ${r.eventsFile}\n`);
  return r.exitCode;
}

/** `--events -`: one event as an NDJSON line on stdout, as it happens (the summary follows at the end). */
export function printEvent(out: Output, e: StreamEvent): void {
  out.io.stdout.write(eventLine(e));
}
