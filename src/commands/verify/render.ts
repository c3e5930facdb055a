import { formatDuration, jsonDocument, printJson, warn, type Output } from '../../output/format.js';
import { CHECKS, count, type CheckResult, type ItemStatus, type Verdict } from '../../checklist/items.js';
import type { Progress, VerifyReport } from './run.js';
import type { VerifyHooks } from './types.js';

/**
 * The runbook's step 3.3 checklist, ticked: `[x]` passed, `[ ]` failed, `[?]` not enough
 * evidence, `[-]` does not apply. Failed lines carry the measured value and the limit.
 */

export const MARK: Record<ItemStatus, string> = { pass: '[x]', fail: '[ ]', inconclusive: '[?]', skipped: '[-]' };

/** The verdict as printed (and as the HTML report shows it). */
export function verdictText(v: Verdict, interrupted = false): string {
  return interrupted ? 'INCONCLUSIVE (interrupted)' : v.toUpperCase();
}

/** A checklist line without its mark: "a) interval: p95 10.2 s <= 12.0 s limit, ...". */
export function itemText(it: CheckResult): string {
  const meta = CHECKS.find((c) => c.id === it.check)!;
  const text = it.status === 'fail' || it.status === 'inconclusive' ? it.detail ?? it.summary : it.summary;
  return `${meta.letter}) ${it.check}: ${text}`;
}

function verdictWord(out: Output, v: Verdict, interrupted = false): string {
  const s = out.style;
  const word = verdictText(v, interrupted);
  return v === 'pass' ? s.ok(word) : v === 'fail' ? s.bad(word) : s.warn(word);
}

function line(out: Output, it: CheckResult, indent: string): string {
  const s = out.style;
  const mark = it.status === 'pass' ? s.ok(MARK.pass) : it.status === 'fail' ? s.bad(MARK.fail) : it.status === 'inconclusive' ? s.warn(MARK.inconclusive) : s.dim(MARK.skipped);
  const text = itemText(it);
  return `${indent}${mark} ${it.status === 'skipped' ? s.dim(text) : text}\n`;
}

export function renderChecklist(out: Output, r: VerifyReport): string {
  const s = out.style;
  const interrupted = r.stopReason === 'interrupted';
  const unit = r.sessionMode === 'market' ? `${r.market} market session${r.sessionsRequired === 1 ? '' : 's'}` : `window${r.sessionsRequired === 1 ? '' : 's'} of ${formatDuration(r.sessionLengthMs ?? 0)}`;
  let o = `${s.bold('verify')} ${r.features.map((f) => f.feature).join(', ')}${r.shadow ? ' (shadow: flags off)' : ''}: `
    + `${r.sessionsCompleted} of ${r.sessionsRequired} ${unit}${r.speed !== 1 ? ` · speed ${r.speed}` : ''} · ${formatDuration(r.durationMs)}\n`;
  o += s.dim(`${r.wsUrl} · run ${r.runId} · by ${r.actor}`) + '\n';

  for (const sess of r.sessions) {
    o += `\nsession ${sess.index} · ${sess.label} · ${verdictWord(out, sess.verdict)}\n`;
    for (const f of sess.features) {
      o += `  ${f.feature} (${count(f.messages)} msgs)\n`;
      if (f.precondition.status === 'fail') o += `    ${s.bad(MARK.fail)} precondition: ${f.precondition.detail}\n`;
      for (const it of f.items) o += line(out, it, '    ');
    }
  }
  if (r.stopReason === 'failed') o += s.dim(`\nstopped after session ${r.sessions.at(-1)?.index ?? '?'} failed: the verdict cannot change (--keep-going watches on)`) + '\n';
  for (const ig of r.ignoredSessions) o += s.dim(`\nnot counted: ${ig.label}: ${ig.reason}`) + (r.ignoredSessions.at(-1) === ig ? '\n' : '');

  o += `\n${s.bold('overall')}\n`;
  for (const f of r.features) {
    o += `  ${f.feature}: ${verdictWord(out, f.verdict)}\n`;
    for (const it of f.items) o += line(out, it, '    ');
  }

  if (r.problems.length) {
    o += `\n${s.bold('problems')}\n`;
    for (const p of r.problems) o += `  ${p.status === 'fail' ? s.bad(s.glyph.fail) : s.warn('?')} ${p.message}\n`;
  }
  o += `\nverdict: ${verdictWord(out, r.verdict, interrupted)} (exit ${r.exitCode})\n`;
  return o;
}

/** Prints the report (stdout), the JSON and JUnit files, and returns the exit code. */
export async function printVerify(out: Output, r: VerifyReport, files: { jsonFile?: string; junitFile?: string }): Promise<number> {
  const { writeFile } = await import('node:fs/promises');
  // The verdict is printed first: a report file that cannot be written must not lose it.
  if (out.format === 'json') printJson(out, 'verify', r);
  else out.io.stdout.write(renderChecklist(out, r));
  let code = r.exitCode;
  const write = async (file: string, what: string, text: () => Promise<string>) => {
    try {
      await writeFile(file, await text());
    } catch (err) {
      out.io.stderr.write(`error: cannot write the ${what} to ${file}: ${(err as Error).message}\n`);
      // A CI gate that asked for the file must not pass without it.
      if (code === 0) code = 2;
    }
  };
  if (files.junitFile) await write(files.junitFile, 'JUnit report', async () => (await import('./junit.js')).renderJunit(r));
  if (files.jsonFile) await write(files.jsonFile, 'JSON report', async () => jsonDocument('verify', r));
  for (const rec of r.records) {
    if (!rec.written) warn(out, `the verdict for ${rec.feature} could not be recorded in Redis (${rec.error}); it is only in this output`);
  }
  if (r.records.length && r.records.every((x) => x.written) && out.format !== 'json') {
    out.io.stderr.write(out.errStyle.dim(`recorded in ${r.records.map((x) => x.key).join(', ')}`) + '\n');
  }
  return code;
}

/** "session 1/2 open · 12m04s · 1,204 msgs · 0 mismatches" */
export function progressLine(p: Progress, market: string | null): string {
  const n = Math.min(p.completed + 1, p.required);
  const where = p.open ? `session ${n}/${p.required} open` : `waiting for session ${n}/${p.required}${market && p.marketStatus ? ` (${market} ${p.marketStatus})` : ''}`;
  return `${where} · ${formatDuration(p.elapsedMs)} · ${count(p.messages)} msgs · ${count(p.mismatches)} mismatches`;
}

type StartInfo = Parameters<NonNullable<VerifyHooks['started']>>[0];

/** What verify says on stderr as it starts watching. */
export function startedLine(i: StartInfo): string {
  const what = i.mode === 'market'
    ? `${i.market} market session${i.sessions === 1 ? '' : 's'}`
    : `window${i.sessions === 1 ? '' : 's'}`;
  return `verify: watching ${i.features.join(', ')} on ${i.url} until ${i.sessions} complete ${what} (Ctrl-C stops early)`;
}

/** Rewrites one line on a TTY stderr; `note()` clears it before a line of its own. */
export function progressWriter(out: Output): { show(text: string): void; clear(): void; note(text: string): void } {
  let shown = false;
  return {
    note(text) {
      this.clear();
      out.io.stderr.write(`${text}\n`);
    },
    show(text) {
      out.io.stderr.write(`\r\x1b[2K${out.errStyle.dim(text)}`);
      shown = true;
    },
    clear() {
      if (shown) out.io.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}
