import { renderJunitDocument, type JunitCase, type JunitSuite } from '../../output/junit.js';
import { CHECKS } from '../../checklist/items.js';
import type { VerifyReport } from './run.js';

/**
 * JUnit XML for CI: one testsuite per feature, one testcase per checklist item per session,
 * so a CI system shows exactly which item failed in which session. Inconclusive items are
 * errors (never green), items that do not apply are skipped.
 */
export function renderJunit(r: VerifyReport): string {
  const suites: JunitSuite[] = [];
  for (const f of r.features) {
    const cases: JunitCase[] = [];
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
    suites.push({
      name: `thor-cutover verify ${f.feature}`,
      timeS: r.durationMs / 1000,
      timestamp: r.startedAt,
      properties: { verdict: f.verdict, shadow: r.shadow, speed: r.speed, runId: r.runId },
      cases,
    });
  }
  return renderJunitDocument('thor-cutover verify', r.durationMs / 1000, suites);
}
