import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './support/cli.js';

/**
 * One fixture folder per audit scenario (test/fixtures/audit/<name>), each in the shape a real
 * Django + React repository takes, copied to a temp dir so every run is on a clean tree, and
 * audited twice: as a git work tree (git grep) and as a plain folder (the file walk).
 */
const FIXTURES = join(ROOT, 'test', 'fixtures', 'audit');
const BASE = mkdtempSync(join(tmpdir(), 'thor-audit-scenarios-'));
afterAll(() => rmSync(BASE, { recursive: true, force: true }));

let n = 0;
function copyFixture(name: string, git: boolean): string {
  const dir = join(BASE, `${name}-${n++}`);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  if (git) gitCommit(dir, 'fixture', true);
  return dir;
}

function gitCommit(dir: string, message: string, init = false): void {
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', ...args], { cwd: dir, stdio: 'ignore' });
  if (init) git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '-m', message);
}

interface Finding {
  feature: string; kind: string; form: string; term: string; path: string; line: number; endLine: number;
  status: string; doc: boolean; also: { kind: string; form: string; term: string }[];
  route?: { path: string; mounted: boolean; view: string | null; viewAt: string | null };
  lines: string[];
}
interface Report {
  kind: string;
  features: { name: string; verdict: string; findings: Finding[] }[];
  leftovers: number;
  mentions: number;
  docs: string;
  baseline: { file: string; mode: string; entries: number; matched: number; unused: number } | null;
  scan: { engine: string; urls: { root: string | null; rootFrom: string | null } };
  exitCode: number;
}

async function audit(dir: string, extra: string[] = []) {
  const cfg = join(dir, 'thor-cutover.config.json');
  const args = ['audit', '--all', '--no-store', '--json', '--path', dir, ...(existsSync(cfg) ? ['--config', cfg] : []), ...extra];
  const r = await runCli(args, { cwd: dir });
  let report: Report;
  try { report = JSON.parse(r.stdout) as Report; } catch { throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`); }
  return { ...r, report };
}

const all = (r: Report) => r.features.flatMap((f) => f.findings);
const failing = (r: Report) => all(r).filter((f) => f.status === 'leftover');
/** `path:line kind` of each finding, sorted: what a reviewer reads. */
const where = (fs: Finding[]) => fs.map((f) => `${f.path}:${f.line} ${f.kind}`).sort();

for (const git of [true, false]) {
  const engine = git ? 'git grep' : 'file walk';

  describe(`audit scenarios (${engine})`, () => {
    it('docs naming the jobs and routes are mentions: listed, marked, never failing; --docs and audit.docs "fail" fail on them', async () => {
      const dir = copyFixture('docs-mentions', git);
      const r = await audit(dir);
      expect(r.report.scan.engine).toBe(git ? 'git-grep' : 'walker');
      // The one live leftover fails, exactly once.
      expect(where(failing(r.report))).toEqual(['ThorTrading/jobs.py:4 timer']);
      const docs = all(r.report).filter((f) => f.doc);
      expect(where(docs)).toEqual([
        'NOTES.txt:1 timer', 'README.md:5 timer', 'README.md:6 timer',
        'docs/checklist.md:3 timer', 'docs/checklist.md:4 timer', 'docs/checklist.md:5 timer',
        'docs/example_jobs.py:2 timer', 'docs/runbook.rst:4 timer',
      ]);
      expect(docs.every((f) => f.status === 'mention')).toBe(true);
      expect(r.report.mentions).toBe(8);
      expect(r.code).toBe(1);

      const human = await runCli(['audit', '--all', '--no-store', '--path', dir]);
      expect(human.stdout).toContain('\n  mentions  (documentation: listed, never failing; --docs to fail on them)\n');
      expect(human.stdout).toContain('\n    · docs/checklist.md:3:12: - [ ] Find IntradayJob\n');
      expect(human.stdout).toContain('mentions: 8 in documentation (not failing');
      expect(human.stdout).toContain('✖ 1 leftover in 1 feature');

      // Only docs: nothing fails.
      const onlyDocs = await audit(join(dir, 'docs'));
      expect(onlyDocs.report.leftovers).toBe(0);
      expect(onlyDocs.code).toBe(0);

      const withDocs = await audit(dir, ['--docs']);
      expect(where(failing(withDocs.report))).toEqual(where([...failing(r.report), ...docs]));
      expect(withDocs.report.docs).toBe('fail');
      expect(withDocs.code).toBe(1);
      const cfg = join(BASE, `docs-fail-${n++}.json`);
      writeFileSync(cfg, JSON.stringify({ audit: { docs: 'fail' } }));
      const byConfig = await audit(dir, ['--config', cfg]);
      expect(byConfig.report.leftovers).toBe(withDocs.report.leftovers);

      // SARIF keeps them, marked, as notes.
      const sarifFile = join(BASE, `docs-${n++}.sarif`);
      await runCli(['audit', '--all', '--no-store', '--path', dir, '--sarif', sarifFile]);
      const results = JSON.parse(readFileSync(sarifFile, 'utf8')).runs[0].results as { level: string; properties: { doc: boolean; status: string } }[];
      expect(results.filter((x) => x.properties.doc)).toHaveLength(8);
      expect(results.filter((x) => x.properties.doc).every((x) => x.level === 'note' && x.properties.status === 'mention')).toBe(true);
      expect(results.filter((x) => x.level === 'error')).toHaveLength(1);
    });

    it('an include()-mounted route to a view under another name: the full path, the view, its def and its imports; nothing else', async () => {
      const dir = copyFixture('include-route', git);
      const r = await audit(dir);
      expect(r.report.scan.urls).toMatchObject({ root: 'thor_project/urls.py', rootFrom: 'ROOT_URLCONF' });
      expect(where(failing(r.report))).toEqual([
        'ActAndPos/tests/test_views.py:1 view',
        'ActAndPos/urls.py:3 view',
        'ActAndPos/urls.py:8 route',
        'ActAndPos/views.py:9 view',
      ]);
      const route = failing(r.report).find((f) => f.kind === 'route')!;
      expect(route).toMatchObject({ feature: 'positions', form: 'url-entry', route: { path: '/api/actandpos/positions', mounted: true, view: 'positions_view', viewAt: 'ActAndPos/views.py:9' } });
      expect(failing(r.report).find((f) => f.path === 'ActAndPos/views.py')).toMatchObject({ form: 'def', term: 'positions_view' });
      // The longer route under the same include is another endpoint.
      expect(all(r.report).filter((f) => f.path === 'ActAndPos/urls.py' && f.line === 9)).toEqual([]);
      expect(r.code).toBe(1);
      const human = await runCli(['audit', '--all', '--no-store', '--path', dir, '--config', join(dir, 'thor-cutover.config.json')]);
      expect(human.stdout).toContain('ActAndPos/urls.py:8:5:     path("positions", positions_view, name="positions"),  [-> /api/actandpos/positions, view positions_view (ActAndPos/views.py:9)]');
      expect(human.stdout).toContain('urls: 2 routes in 2 urlconfs, root thor_project/urls.py (ROOT_URLCONF)');
    });

    it('a model import named like a feature is no view: only an import of the view name itself counts', async () => {
      const dir = copyFixture('model-import', git);
      const r = await audit(dir);
      expect(all(r.report).map((f) => `${f.path}:${f.line} ${f.kind} ${f.form} ${f.term}`)).toEqual(['ActAndPos/legacy.py:1 view import positions']);
      expect(r.code).toBe(1);
    });

    it('look-alike routes of another API (same last segment, a longer path, a /v2 prefix, a broker URL) are not the feature', async () => {
      const dir = copyFixture('lookalike-route', git);
      const r = await audit(dir);
      expect(where(failing(r.report))).toEqual(['ThorTrading/urls.py:6 route', 'ThorTrading/views.py:1 view']);
      expect(failing(r.report).find((f) => f.kind === 'route')!.route).toMatchObject({ path: '/api/positions/', mounted: true, view: 'positions' });
      expect(all(r.report).filter((f) => f.path.startsWith('Broker/'))).toEqual([]);
      expect(r.code).toBe(1);
    });

    it('frontend pollers and scripts are client leftovers: fetch, axios, a helper, a URL constant and its use, curl', async () => {
      const dir = copyFixture('frontend-poller', git);
      const r = await audit(dir);
      expect(failing(r.report).map((f) => `${f.path}:${f.line} ${f.kind} ${f.form} ${f.feature}`).sort()).toEqual([
        'frontend/src/api/balance.js:3 client call account_balance',
        'frontend/src/api/rest.ts:8 client call positions',
        'frontend/src/pollers/positions.ts:3 client constant positions',
        'frontend/src/pollers/positions.ts:7 client reference positions',
        'scripts/poll_bars.sh:3 client call intraday',
      ]);
      // /api/positions/history/ and /v2/api/positions/ are other paths.
      expect(all(r.report).filter((f) => f.path === 'frontend/src/api/rest.ts' && f.line !== 8)).toEqual([]);
      expect(all(r.report).filter((f) => f.path === 'frontend/src/api/balance.js' && f.line === 4)).toEqual([]);
      expect(r.code).toBe(1);
      // --kind client selects them alone; without it they fail like the others.
      const only = await audit(dir, ['--kind', 'client']);
      expect(only.report.leftovers).toBe(5);
      const none = await audit(dir, ['--kind', 'timer']);
      expect(none.report.leftovers).toBe(0);
      expect(none.code).toBe(0);
    });

    it('a line matched by several kinds is one finding, under the strongest kind, the others noted', async () => {
      const dir = copyFixture('two-kinds', git);
      const r = await audit(dir);
      expect(failing(r.report).map((f) => `${f.path}:${f.line} ${f.kind} also=${f.also.map((a) => a.kind).join(',')}`).sort()).toEqual([
        'ThorTrading/services/stack_start.py:2 timer also=pattern',
        'ThorTrading/urls.py:6 route also=',
        'frontend/src/poll.ts:1 client also=pattern',
      ]);
      expect(r.report.leftovers).toBe(3);
      const human = await runCli(['audit', '--all', '--no-store', '--path', dir, '--config', join(dir, 'thor-cutover.config.json')]);
      expect(human.stdout).toContain("frontend/src/poll.ts:1:45: export const pollPositions = () => getJson('/api/positions/');  [also pattern]");
      expect(human.stdout.match(/frontend\/src\/poll\.ts:1:/g)).toHaveLength(1);
    });
  });
}

describe('audit baseline (CI)', () => {
  let dir: string;
  let baseline: string;
  beforeAll(() => {
    dir = join(BASE, 'baseline-repo');
    cpSync(join(FIXTURES, 'include-route'), dir, { recursive: true });
    cpSync(join(FIXTURES, 'frontend-poller', 'frontend'), join(dir, 'frontend'), { recursive: true });
    gitCommit(dir, 'before the cleanup', true);
    baseline = join(BASE, 'audit-baseline.json');
  });

  it('--write-baseline records today\'s findings (and passes); --baseline passes after unrelated edits and fails on a new leftover only', async () => {
    const first = await audit(dir);
    const today = failing(first.report).length;
    expect(today).toBe(5);
    expect(first.code).toBe(1);

    const written = await audit(dir, ['--write-baseline', baseline]);
    expect(written.code).toBe(0);
    expect(written.report.baseline).toMatchObject({ mode: 'write', matched: today });
    const file = JSON.parse(readFileSync(baseline, 'utf8'));
    expect(file).toMatchObject({ schemaVersion: 1, kind: 'audit-baseline' });
    expect(file.entries.map((e: { file: string; kind: string }) => `${e.file} ${e.kind}`)).toContain('ActAndPos/urls.py route');
    expect(JSON.stringify(file)).not.toMatch(/"line"/);

    // Unrelated edits: lines inserted above every finding, whitespace changed on one, a new file.
    const views = join(dir, 'ActAndPos', 'views.py');
    writeFileSync(views, `"""Positions API."""\nimport logging\n\nlog = logging.getLogger(__name__)\n\n${readFileSync(views, 'utf8')}`);
    const urls = join(dir, 'ActAndPos', 'urls.py');
    writeFileSync(urls, `# routes\n\n${readFileSync(urls, 'utf8').replace('path("positions", positions_view,', 'path("positions",   positions_view,')}`);
    const poller = join(dir, 'frontend', 'src', 'pollers', 'positions.ts');
    writeFileSync(poller, `// eslint-disable-next-line\n${readFileSync(poller, 'utf8')}`);
    writeFileSync(join(dir, 'ActAndPos', 'serializers.py'), 'class PositionSerializer:\n    pass\n');
    gitCommit(dir, 'unrelated edits');
    const after = await audit(dir, ['--baseline', baseline]);
    expect(failing(after.report)).toEqual([]);
    expect(after.report.baseline).toMatchObject({ mode: 'read', matched: today, unused: 0 });
    expect(after.code).toBe(0);

    // A new leftover: a second poller calling the REST path. Only it fails.
    writeFileSync(join(dir, 'frontend', 'src', 'api', 'dashboard.ts'), "export const refresh = () => fetch('/api/actandpos/positions');\n");
    // and a copy of a baselined line in the same file is new too
    const balance = join(dir, 'frontend', 'src', 'api', 'balance.js');
    const copied = readFileSync(balance, 'utf8').split('\n')[2]!;
    writeFileSync(balance, `${readFileSync(balance, 'utf8')}${copied}\n`);
    gitCommit(dir, 'a new leftover');
    const sarif = join(BASE, 'baseline.sarif');
    const gate = await audit(dir, ['--baseline', baseline, '--sarif', sarif]);
    expect(failing(gate.report).map((f) => `${f.path}:${f.line} ${f.kind}`).sort()).toEqual([
      'frontend/src/api/balance.js:5 client',
      'frontend/src/api/dashboard.ts:1 client',
    ]);
    expect(gate.code).toBe(1);
    const results = JSON.parse(readFileSync(sarif, 'utf8')).runs[0].results as { level: string; baselineState: string }[];
    expect(results.filter((x) => x.baselineState === 'new' && x.level === 'error')).toHaveLength(2);
    expect(results.filter((x) => x.baselineState === 'unchanged')).toHaveLength(today);
    const human = await runCli(['audit', '--all', '--no-store', '--path', dir, '--config', join(dir, 'thor-cutover.config.json'), '--baseline', baseline]);
    expect(human.stdout).toContain(`baseline: ${today} findings in ${baseline} not failing`);
    expect(human.stdout).toContain('✖ 2 leftovers in 2 features');

    // Fixing a baselined leftover: the gate passes and says the baseline has a stale entry.
    rmSync(join(dir, 'frontend', 'src', 'api', 'dashboard.ts'));
    writeFileSync(balance, "import axios from 'axios';\n");
    gitCommit(dir, 'fix one');
    const fixed = await audit(dir, ['--baseline', baseline]);
    expect(fixed.code).toBe(0);
    expect(fixed.report.baseline).toMatchObject({ unused: 1 });
  });

  it('a missing, malformed or foreign baseline is exit 2 with a hint; --baseline with --write-baseline is refused', async () => {
    const missing = await runCli(['audit', '--all', '--no-store', '--path', dir, '--baseline', join(BASE, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/error: cannot read the baseline .*nope\.json: no such file/);
    expect(missing.stderr).toMatch(/hint: write one first/);
    const bad = join(BASE, 'bad.json');
    writeFileSync(bad, '{"kind": "something-else"}');
    const foreign = await runCli(['audit', '--all', '--no-store', '--path', dir, '--baseline', bad]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/is not a thor-cutover audit baseline/);
    writeFileSync(bad, '{not json');
    expect((await runCli(['audit', '--all', '--no-store', '--path', dir, '--baseline', bad])).code).toBe(2);
    const both = await runCli(['audit', '--all', '--no-store', '--path', dir, '--baseline', bad, '--write-baseline', bad]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--baseline or --write-baseline, not both/);
  });
});
