/**
 * JUnit XML for CI systems: the markup shared by `verify` and `gate`. Inconclusive cases are
 * errors (never green), cases that do not apply are skipped.
 */

export function esc(s: string): string {
  return s
    // Characters XML 1.0 cannot carry at all, even escaped.
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export interface JunitCase {
  classname: string;
  name: string;
  timeS: number;
  status: 'pass' | 'fail' | 'inconclusive' | 'skipped';
  message: string;
  body: string;
}

export interface JunitSuite {
  name: string;
  timeS: number;
  timestamp: string;
  properties: Record<string, string | number | boolean>;
  cases: JunitCase[];
}

export function renderCase(c: JunitCase): string {
  const open = `    <testcase classname="${esc(c.classname)}" name="${esc(c.name)}" time="${c.timeS.toFixed(3)}"`;
  switch (c.status) {
    case 'pass': return `${open}>\n      <system-out>${esc(c.body)}</system-out>\n    </testcase>`;
    case 'skipped': return `${open}>\n      <skipped message="${esc(c.message)}"/>\n    </testcase>`;
    case 'fail': return `${open}>\n      <failure type="fail" message="${esc(c.message)}">${esc(c.body)}</failure>\n    </testcase>`;
    case 'inconclusive': return `${open}>\n      <error type="inconclusive" message="${esc(c.message)}">${esc(c.body)}</error>\n    </testcase>`;
  }
}

/** One document: the suites with their counts, and the totals on <testsuites>. */
export function renderJunitDocument(name: string, timeS: number, suites: JunitSuite[]): string {
  let total = 0, failures = 0, errors = 0, skipped = 0;
  const parts = suites.map((s) => {
    const nFail = s.cases.filter((c) => c.status === 'fail').length;
    const nErr = s.cases.filter((c) => c.status === 'inconclusive').length;
    const nSkip = s.cases.filter((c) => c.status === 'skipped').length;
    total += s.cases.length; failures += nFail; errors += nErr; skipped += nSkip;
    return `  <testsuite name="${esc(s.name)}" tests="${s.cases.length}" failures="${nFail}" errors="${nErr}" skipped="${nSkip}" `
      + `time="${s.timeS.toFixed(3)}" timestamp="${esc(s.timestamp)}">\n`
      + `    <properties>\n`
      + Object.entries(s.properties).map(([k, v]) => `      <property name="${esc(k)}" value="${esc(String(v))}"/>\n`).join('')
      + `    </properties>\n`
      + s.cases.map(renderCase).join('\n') + '\n'
      + `  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n`
    + `<testsuites name="${esc(name)}" tests="${total}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${timeS.toFixed(3)}">\n`
    + parts.join('\n') + '\n</testsuites>\n';
}
