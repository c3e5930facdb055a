import { formatTime, jsonDocument, printable, printJson, renderTable, type Output } from '../../output/format.js';
import { renderJunitDocument, type JunitCase } from '../../output/junit.js';
import type { GateReport, GateVerdict } from './run.js';

function word(out: Output, v: GateVerdict): string {
  const s = out.style;
  return v === 'pass' ? s.ok('PASS') : v === 'fail' ? s.bad('FAIL') : s.warn('INCONCLUSIVE');
}

/** The sessions, newest first: label, verdict, when, run, what went wrong. */
function rows(out: Output, r: GateReport, tty: boolean): string[][] {
  const s = out.style;
  return r.sessions.map((x) => [
    printable(x.label),
    tty ? (x.verdict === 'pass' ? s.ok(`${s.glyph.pass} pass`) : x.verdict === 'fail' ? s.bad(`${s.glyph.fail} fail`) : s.warn(`${s.glyph.warn} ${x.verdict}`)) : x.verdict,
    tty ? formatTime(out, x.closedAt) : x.closedAt,
    x.runId,
    printable(x.problems.join('; ') || (tty ? '' : '-')),
  ]);
}

/** TTY: the verdict, the sessions and why; pipe: one row per session, the verdict line on stderr; --json: one document. */
export function renderGate(out: Output, r: GateReport): string {
  if (out.format === 'json') return jsonDocument('gate', r);
  if (out.format === 'plain') return renderTable(out, [], rows(out, r, false));
  const s = out.style;
  const recorded = `${r.sessionsRecorded} session${r.sessionsRecorded === 1 ? '' : 's'} recorded${r.since ? ` since enabled ${formatTime(out, r.since.at)} (rev ${r.since.rev})` : ''}`;
  let o = `${s.bold('gate')} ${r.feature}: ${word(out, r.verdict)} ${s.dim(`· the last ${r.sessionsRequired} must pass · ${recorded} · ${r.store}`)}\n`;
  if (r.sessions.length) o += renderTable(out, ['session', 'verdict', 'closed', 'run', 'problems'], rows(out, r, true));
  o += `${r.reason}\n`;
  return o;
}

export function renderGateJunit(r: GateReport): string {
  const cases: JunitCase[] = [];
  for (const x of [...r.sessions].reverse()) {
    const timeS = (Date.parse(x.closedAt) - Date.parse(x.openedAt)) / 1000;
    const classname = `gate.${r.feature}.${x.runId}.session${x.index}`;
    const status = (v: string): JunitCase['status'] => (v === 'pass' ? 'pass' : v === 'fail' ? 'fail' : v === 'skipped' ? 'skipped' : 'inconclusive');
    if (!x.items.length) {
      cases.push({ classname, name: `${x.label}: ${x.verdict}`, timeS, status: status(x.verdict), message: x.problems.join('; ') || x.verdict, body: `${x.label}: ${x.verdict}` });
      continue;
    }
    for (const it of x.items) {
      cases.push({
        classname, name: `${it.check} (${x.label}, run ${x.runId})`, timeS, status: status(it.status),
        message: `${r.feature} ${it.check}: ${it.detail ?? it.summary}, ${x.label}`, body: it.summary,
      });
    }
  }
  // The verdict as a whole: "not enough sessions yet" must never look like an empty green suite.
  cases.push({
    classname: `gate.${r.feature}`,
    name: `sessions: the last ${r.sessionsRequired} passed`,
    timeS: 0,
    status: r.verdict === 'pass' ? 'pass' : r.verdict === 'fail' ? 'fail' : 'inconclusive',
    message: r.reason,
    body: r.reason,
  });
  return renderJunitDocument('thor-cutover gate', 0, [{
    name: `thor-cutover gate ${r.feature}`, timeS: 0, timestamp: r.checkedAt,
    properties: { verdict: r.verdict, sessionsRequired: r.sessionsRequired, sessionsRecorded: r.sessionsRecorded, since: r.since?.at ?? '' },
    cases,
  }]);
}

/** Prints the verdict (stdout, or the plain verdict line on stderr), writes the files, returns the exit code. */
export async function printGate(out: Output, r: GateReport, files: { jsonFile?: string; junitFile?: string }): Promise<number> {
  const { writeFile } = await import('node:fs/promises');
  if (out.format === 'json') printJson(out, 'gate', r);
  else out.io.stdout.write(renderGate(out, r));
  if (out.format === 'plain') out.io.stderr.write(`gate ${r.feature}: ${r.verdict} (exit ${r.exitCode}): ${r.reason}\n`);
  let code = r.exitCode;
  const write = async (file: string, what: string, text: string) => {
    try {
      await writeFile(file, text);
    } catch (err) {
      out.io.stderr.write(`error: cannot write the ${what} to ${file}: ${(err as Error).message}\n`);
      // A CI gate that asked for the file must not pass without it.
      if (code === 0) code = 2;
    }
  };
  if (files.junitFile) await write(files.junitFile, 'JUnit report', renderGateJunit(r));
  if (files.jsonFile) await write(files.jsonFile, 'JSON report', jsonDocument('gate', r));
  return code;
}
