import { relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageVersion } from '../../package.js';
import { SARIF_SCHEMA, sarifUri, writeSarifFile } from '../../output/sarif.js';
import type { IO } from '../../io.js';
import { KINDS, type Kind } from './patterns.js';
import type { AuditFinding, AuditReport } from './run.js';

/**
 * SARIF 2.1.0, one rule per kind, so GitHub code scanning shows each leftover inline on the
 * line it is on. Inventory and kept lines are notes; allowed lines are results with an
 * in-source or external suppression, so a reviewer can still see what was allowed and why.
 */
const RULES: Record<Kind, { name: string; short: string; help: string }> = {
  timer: {
    name: 'LeftoverRestTimer',
    short: 'A REST timer job (class or registry.register call) is still in the code',
    help: 'Runbook step 3.4: once a feature is on and verified, delete its registry.register(...) line and the job class.',
  },
  view: {
    name: 'LeftoverRestView',
    short: 'A REST view that serves a feature now on the WebSocket path is still in the code',
    help: 'Runbook phase 4: once every feature is on, delete the REST views (account_balance(), positions(), intraday_bars(), market_status()).',
  },
  route: {
    name: 'LeftoverRestRoute',
    short: 'A REST URL route (urls.py entry or route string) is still in the code',
    help: 'Runbook phase 4: once every feature is on, delete the URL mappings in urls.py and the clients that still call them.',
  },
  client: {
    name: 'LeftoverRestClient',
    short: 'Frontend or script code still calls a feature\'s REST path (fetch, axios, a helper, a URL constant a poller uses)',
    help: 'Runbook phase 4: the clients that poll the REST endpoint go with it; the feature arrives over the WebSocket.',
  },
  pattern: {
    name: 'LeftoverLegacyPattern',
    short: 'A line matches a legacy pattern from the config (features.<name>.legacy.patterns)',
    help: 'A pattern the team added to the config: legacy code that must go with the REST path.',
  },
};

const uriOf = sarifUri;

function message(f: AuditFinding): string {
  const via = f.route ? ` -> ${f.route.path}${f.route.view ? ` (view ${f.route.view}${f.route.viewAt ? ` at ${f.route.viewAt}` : ''})` : ''}` : '';
  const also = f.also.length ? `; also matched as ${f.also.map((a) => `${a.kind} (${a.term})`).join(', ')}` : '';
  const what = `${f.kind} leftover of ${f.feature}: ${f.term} (${f.form})${via}${also}`;
  if (f.status === 'leftover') return `${what}. ${RULES[f.kind].help}`;
  if (f.status === 'mention') return `${f.kind} of ${f.feature} mentioned in documentation: ${f.term}${also}; not failing (--docs or audit.docs "fail" to fail on it).`;
  if (f.status === 'baselined') return `${what}; in the baseline, so it does not fail.`;
  if (f.status === 'inventory') return `${f.kind} of ${f.feature} (flag off): ${f.term} (${f.form}); its cutover deletes it.`;
  if (f.status === 'kept') return `${f.kind} of ${f.feature}: ${f.term} (${f.form}); kept as the rollback path until every feature is on.`;
  return `${f.kind} of ${f.feature}: ${f.term} (${f.form}); allowed: ${f.allowedBy}.`;
}

/**
 * @param base the directory SARIF paths are relative to (the checkout root for code
 * scanning: GITHUB_WORKSPACE or the cwd); paths outside it stay relative to the audit root.
 */
export function toSarif(r: AuditReport, base: string, version: string): object {
  const useBase = !relative(base, r.root).startsWith('..');
  const srcRoot = useBase ? base : r.root;
  const results = r.features.flatMap((fa) => fa.findings.map((f) => {
    const rel = relative(srcRoot, `${r.root}${sep}${f.path}`);
    const result: Record<string, unknown> = {
      ruleId: `thor-cutover/${f.kind}`,
      ruleIndex: KINDS.indexOf(f.kind),
      level: f.status === 'leftover' ? 'error' : 'note',
      message: { text: message(f) },
      locations: [{
        physicalLocation: {
          artifactLocation: { uri: uriOf(rel), uriBaseId: '%SRCROOT%' },
          region: {
            startLine: f.line,
            startColumn: f.column,
            ...(f.endLine > f.line ? { endLine: f.endLine } : {}),
            snippet: { text: f.lines.join('\n') },
          },
        },
      }],
      // Stable across runs whatever line the code moves to: feature, kind, term, file.
      partialFingerprints: { 'thorCutover/v1': `${f.feature}:${f.kind}:${f.term.toLowerCase()}:${rel}` },
      properties: { feature: f.feature, form: f.form, status: f.status, doc: f.doc, ...(f.also.length ? { also: f.also } : {}), ...(f.route ? { route: f.route } : {}) },
    };
    if (r.baseline) result.baselineState = f.status === 'baselined' ? 'unchanged' : 'new';
    if (f.status === 'allowed') {
      result.suppressions = [{ kind: f.allowedBy?.startsWith('inline marker') ? 'inSource' : 'external', justification: f.allowedBy }];
    }
    return result;
  }));
  const notifications = [
    ...r.features.flatMap((fa) => fa.problems.map((p) => ({ level: 'error', message: { text: `${fa.name}: ${p}` } }))),
    ...r.scan.limits.map((l) => ({ level: 'warning', message: { text: `partial scan: ${l}` } })),
  ];
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: 'thor-cutover',
          semanticVersion: version,
          version,
          rules: KINDS.map((k) => ({
            id: `thor-cutover/${k}`,
            name: RULES[k].name,
            shortDescription: { text: RULES[k].short },
            fullDescription: { text: `${RULES[k].short}. ${RULES[k].help}` },
            help: { text: RULES[k].help },
            defaultConfiguration: { level: 'error' },
            properties: { tags: ['cutover', 'legacy-rest'] },
          })),
        },
      },
      originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(srcRoot + sep).href } },
      invocations: [{
        executionSuccessful: !r.scan.partial,
        exitCode: r.exitCode,
        toolExecutionNotifications: notifications,
      }],
      results,
    }],
  };
}


/** Paths in the file are relative to GITHUB_WORKSPACE (or the cwd), where code scanning looks. */
export async function writeSarif(io: IO, file: string, r: AuditReport): Promise<void> {
  await writeSarifFile(io, file, toSarif(r, io.env.GITHUB_WORKSPACE || io.cwd, packageVersion()));
}
