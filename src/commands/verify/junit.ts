import { CHECKS } from './checklist.js';
import type { VerifyReport } from './run.js';

/**
 * JUnit XML for CI: one testsuite per feature, one testcase per checklist item per session,
 * so a CI system shows exactly which item failed in which session. Inconclusive items are
 * errors (never green), items that do not apply are skipped.
 */

function esc(s: string): string {
  return s
    // Characters XML 1.0 cannot carry at all, even escaped.
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

interface Case {
  classname: string;
  name: string;
  timeS: number;
  status: 'pass' | 'fail' | 'inconclusive' | 'skipped';
  message: string;
  body: string;
}

function renderCase(c: Case): string {
  const open = `    <testcase classname="${esc(c.classname)}" name="${esc(c.name)}" time="${c.timeS.toFixed(3)}"`;
  switch (c.status) {
    case 'pass': return `${open}>\n      <system-out>${esc(c.body)}</system-out>\n    </testcase>`;
    case 'skipped': return `${open}>\n      <skipped message="${esc(c.message)}"/>\n    </testcase>`;
    case 'fail': return `${open}>\n      <failure type="fail" message="${esc(c.message)}">${esc(c.body)}</failure>\n    </testcase>`;
    case 'inconclusive': return `${open}>\n      <error type="inconclusive" message="${esc(c.message)}">${esc(c.body)}</error>\n    </testcase>`;
  }
}

export function renderJunit(r: VerifyReport): string {
  const suites: string[] = [];
  let total = 0, failures = 0, errors = 0, skipped = 0;
  for (const f of r.features) {
    const cases: Case[] = [];
    for (const s of r.sessions) {
      const fr = s.features.find((x) => x.feature === f.feature);
      if (!fr) continue;
      const timeS = s.closedAt ? (Date.parse(s.closedAt) - Date.parse(s.openedAt)) / 1000 : 0;
      for (const it of fr.items) {
        const meta = CHECKS.find((c) => c.id === it.check)!;
        const detail = it.detail ?? it.summary;
        cases.push({
          classname: `verify.${f.feature}.session${s.index}`,
          name: `${meta.letter}) ${it.check}: ${meta.title} (session ${s.index}, ${s.label})`,
          timeS,
          status: it.status,
          message: `${f.feature} ${it.check}: ${detail}, session ${s.index} (${s.label})`,
          body: it.summary,
        });
      }
    }
    // The run as a whole: a CI system must see "not enough sessions", not an empty green suite.
    const short = r.sessionsCompleted < r.sessionsRequired;
    const unit = r.sessionMode === 'market' ? `${r.market} market sessions` : 'windows';
    cases.push({
      classname: `verify.${f.feature}`,
      name: `sessions: ${r.sessionsRequired} complete ${unit}`,
      timeS: r.durationMs / 1000,
      status: short ? 'inconclusive' : 'pass',
      message: `${r.sessionsCompleted} of ${r.sessionsRequired} ${unit} complete (${r.stopReason})`,
      body: `${r.sessionsCompleted} of ${r.sessionsRequired} ${unit} complete`,
    });
    const nFail = cases.filter((c) => c.status === 'fail').length;
    const nErr = cases.filter((c) => c.status === 'inconclusive').length;
    const nSkip = cases.filter((c) => c.status === 'skipped').length;
    total += cases.length; failures += nFail; errors += nErr; skipped += nSkip;
    suites.push(
      `  <testsuite name="${esc(`thor-cutover verify ${f.feature}`)}" tests="${cases.length}" failures="${nFail}" errors="${nErr}" skipped="${nSkip}" `
      + `time="${(r.durationMs / 1000).toFixed(3)}" timestamp="${esc(r.startedAt)}">\n`
      + `    <properties>\n`
      + `      <property name="verdict" value="${esc(f.verdict)}"/>\n`
      + `      <property name="shadow" value="${r.shadow}"/>\n`
      + `      <property name="speed" value="${r.speed}"/>\n`
      + `      <property name="runId" value="${esc(r.runId)}"/>\n`
      + `    </properties>\n`
      + cases.map(renderCase).join('\n') + '\n'
      + `  </testsuite>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n`
    + `<testsuites name="thor-cutover verify" tests="${total}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${(r.durationMs / 1000).toFixed(3)}">\n`
    + suites.join('\n') + '\n</testsuites>\n';
}
