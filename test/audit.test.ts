import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { copySampleBackend, sampleBackendDir, type SampleCleanup } from '../src/sim/sample-backend.js';
import { runCli } from './support/cli.js';
import { TestRedis, refusedPort, uniquePrefix } from './support/redis.js';

/** Every tree the tests make lives under this one temp dir, removed at the end. */
const BASE = mkdtempSync(join(tmpdir(), 'thor-audit-test-'));
afterAll(() => rmSync(BASE, { recursive: true, force: true }));

let n = 0;
function tree(files: Record<string, string | Buffer>, name = `t${n++}`): string {
  const root = join(BASE, name);
  for (const [rel, content] of Object.entries(files)) {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  mkdirSync(root, { recursive: true });
  return root;
}

function gitInit(root: string): void {
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', ...args], { cwd: root, stdio: 'ignore' });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'fixture');
}

interface JsonFinding { feature: string; kind: string; form: string; term: string; path: string; line: number; column: number; endLine: number; status: string; allowedBy: string | null; lines: string[]; context?: { before: string[]; after: string[] } }
interface JsonReport {
  schemaVersion: number;
  kind: string;
  selection: { rule: string; text: string };
  store: { consulted: boolean; reachable: boolean; error: string | null; mode: string | null };
  features: { name: string; verdict: string; flag: { enabled: boolean } | null; problems: string[]; findings: JsonFinding[]; counts: Record<string, { found: number; leftover: number; inventory: number; kept: number; allowed: number }> }[];
  allowed: { total: number; reasons: { reason: string; count: number }[] };
  scan: { engine: string; files: number; read: number; partial: boolean; limits: string[]; skipped: { binary: number; ignored: number; vendored: number; symlinks: number; tooLarge: string[] } };
  leftovers: number;
  problems: number;
  exitCode: number;
}

async function audit(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}) {
  const r = await runCli(['audit', '--json', ...args], opts);
  let report: JsonReport | null = null;
  try { report = JSON.parse(r.stdout) as JsonReport; } catch { /* asserted by the caller */ }
  return { ...r, report: report! };
}

const findings = (r: JsonReport) => r.features.flatMap((f) => f.findings);
const at = (r: JsonReport, path: string, line: number) => findings(r).filter((f) => f.path === path && f.line === line);

/** A Django-like backend in the forms real code takes. */
const FORMS: Record<string, string> = {
  'ThorTrading/jobs.py': [
    'from core.jobs import BaseJob',
    '',
    'class IntradayJob(BaseJob):',
    '    pass',
    '',
    'class MyIntradayJobHelper:  # a longer identifier: not the job',
    '    intradayjobs = []',
    '',
    '@registry.register(interval=10)',
    'class MarketMetricsJob(BaseJob):',
    '    pass',
  ].join('\n'),
  'ThorTrading/services/stack_start.py': [
    'from ThorTrading.jobs import (',
    '    AccountBalanceJob,',
    '    PositionsJob,',
    ')',
    '',
    'def start():',
    '    registry.register(',
    '        IntraDayJob(channel_layer=layer),',
    '        interval=1,',
    '    )',
    '    registry.register(AccountBalanceJob, interval=10)  # also broadcasts over the WebSocket',
    '    poller = PositionsJob()',
    '    registry.register(poller, interval=10)',
  ].join('\n'),
  'ThorTrading/views.py': [
    'from rest_framework.decorators import api_view',
    '',
    '@api_view(["GET"])',
    '@cache_page(5)',
    'def account_balance(request):',
    '    return Response({"positions": []})',
    '',
    'class Portfolio:',
    '    def positions(self):',
    '        return self._positions',
  ].join('\n'),
  'ThorTrading/urls.py': [
    'from django.urls import path, re_path',
    'from ThorTrading import views',
    'from ThorTrading.views import positions as positions_view',
    '',
    'urlpatterns = [',
    '    path("api/account/balance/", views.account_balance),',
    "    re_path(r'^api/positions/$', positions_view),",
    '    path("intraday/bars/", IntradayBarsView.as_view()),',
    '    path("api/account/balance/history/", views.balance_history),',
    ']',
  ].join('\n'),
  'GlobalMarkets/services/websocket_broadcast.py': [
    'def build_account_balance_message(balance):',
    '    return {"type": "account_balance", "data": balance}',
  ].join('\n'),
};

describe('audit: what it finds, in the forms real code takes', () => {
  let r: JsonReport;
  beforeAll(async () => {
    const root = tree(FORMS);
    const res = await audit(['--all', '--no-store', '--path', root]);
    expect(res.stderr).toContain('not a git work tree');
    expect(res.code).toBe(1);
    r = res.report;
  });

  it('timer: class, multi-line registry.register( with the other spelling, multi-line imports, decorator and variable registrations', () => {
    expect(at(r, 'ThorTrading/jobs.py', 3)).toMatchObject([{ feature: 'intraday', kind: 'timer', form: 'class', term: 'IntradayJob', column: 7 }]);
    const multi = at(r, 'ThorTrading/services/stack_start.py', 7);
    expect(multi).toMatchObject([{ feature: 'intraday', kind: 'timer', form: 'register', term: 'IntradayJob', endLine: 10 }]);
    expect(multi[0]!.lines).toHaveLength(4);
    // The line inside the call is the call, not a second finding.
    expect(at(r, 'ThorTrading/services/stack_start.py', 8)).toEqual([]);
    expect(at(r, 'ThorTrading/services/stack_start.py', 2)).toMatchObject([{ feature: 'account_balance', form: 'import' }]);
    expect(at(r, 'ThorTrading/services/stack_start.py', 3)).toMatchObject([{ feature: 'positions', form: 'import' }]);
    expect(at(r, 'ThorTrading/jobs.py', 9)).toMatchObject([{ feature: 'global_market', kind: 'timer', form: 'register', endLine: 10 }]);
    expect(at(r, 'ThorTrading/services/stack_start.py', 13)).toMatchObject([{ feature: 'positions', form: 'register' }]);
  });

  it('a leftover on a line that mentions the WebSocket is still a leftover (the runbook\'s grep -v hid it)', () => {
    expect(at(r, 'ThorTrading/services/stack_start.py', 11)).toMatchObject([{ feature: 'account_balance', form: 'register', status: 'leftover' }]);
  });

  it('a longer identifier is not the job', () => {
    expect(at(r, 'ThorTrading/jobs.py', 6)).toEqual([]);
    expect(at(r, 'ThorTrading/jobs.py', 7)).toEqual([]);
  });

  it('view: the def with its decorators and imports; not a method or a payload key of the same name', () => {
    const def = at(r, 'ThorTrading/views.py', 5);
    expect(def).toMatchObject([{ feature: 'account_balance', kind: 'view', form: 'def' }]);
    expect(def[0]!.lines[0]).toBe('@api_view(["GET"])');
    expect(at(r, 'ThorTrading/views.py', 6)).toEqual([]);
    expect(at(r, 'ThorTrading/views.py', 9)).toEqual([]);
    expect(at(r, 'ThorTrading/urls.py', 3)).toMatchObject([{ feature: 'positions', kind: 'view', form: 'import' }]);
    expect(findings(r).filter((f) => f.path.includes('websocket_broadcast'))).toEqual([]);
  });

  it('route: urls.py entries by route string (also as a regex and under an include) and by the view they map', () => {
    expect(at(r, 'ThorTrading/urls.py', 6)).toMatchObject([{ feature: 'account_balance', kind: 'route', form: 'url-entry' }]);
    expect(at(r, 'ThorTrading/urls.py', 7)).toMatchObject([{ feature: 'positions', kind: 'route', form: 'url-entry' }]);
    expect(at(r, 'ThorTrading/urls.py', 8)).toMatchObject([{ feature: 'intraday', kind: 'route', form: 'url-entry' }]);
    // A longer route is another endpoint.
    expect(at(r, 'ThorTrading/urls.py', 9)).toEqual([]);
  });
});

describe('audit: allowed lines are counted, never hidden', () => {
  it('allow list (path, line) and the inline marker: reported as allowed with the reason; only allowed lines -> exit 0', async () => {
    const root = tree({
      'svc/ws.py': [
        'x = 1  # IntradayJob broadcasts now  # thor-cutover: allow WS broadcast',
        'log.info("PositionsJob -> WebSocket")',
      ].join('\n'),
      'docs/notes.md': 'AccountBalanceJob was the REST timer\n',
      'thor-cutover.config.json': JSON.stringify({
        audit: { allow: [{ path: 'docs/', reason: 'runbook notes' }, { line: '-> WebSocket', reason: 'WS log lines' }] },
      }),
    });
    const r = await audit(['--all', '--no-store', '--path', root], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.report.leftovers).toBe(0);
    expect(r.report.allowed.total).toBe(3);
    expect(r.report.allowed.reasons).toEqual(expect.arrayContaining([
      { reason: 'inline marker: WS broadcast', count: 1 },
      { reason: 'WS log lines (allow: line)', count: 1 },
      { reason: 'runbook notes (allow: path)', count: 1 },
    ]));
    expect(findings(r.report).every((f) => f.status === 'allowed')).toBe(true);
    const human = await runCli(['audit', '--all', '--no-store', '--path', root], { cwd: root });
    expect(human.stdout).toMatch(/allowed: 3 lines/);
    expect(human.stdout).toContain('[allowed: inline marker: WS broadcast]');
    expect(human.stdout).toMatch(/no leftovers/);
  });
});

describe('audit: what it does not read', () => {
  it('file walk: .gitignore (nested too), binary, vendored dirs and symlinks (never followed out of the tree) are skipped', async () => {
    const outside = tree({ 'secret.py': 'class IntradayJob: pass\n' }, 'outside');
    const root = tree({
      '.gitignore': 'build/\n*.log\n',
      'build/gen.py': 'IntradayJob()\n',
      'app/.gitignore': 'local.py\n',
      'app/local.py': 'IntradayJob()\n',
      'app/run.log': 'IntradayJob\n',
      'app/blob.bin': Buffer.concat([Buffer.from('IntradayJob'), Buffer.from([0, 1, 2, 0])]),
      'node_modules/pkg/index.py': 'IntradayJob()\n',
      'venv/lib/x.py': 'IntradayJob()\n',
      'app/ok.py': 'print("clean")\n',
    });
    symlinkSync(outside, join(root, 'app', 'linked-dir'));
    symlinkSync(join(outside, 'secret.py'), join(root, 'app', 'linked.py'));
    const r = await audit(['--all', '--no-store', '--path', root]);
    expect(r.stderr).toContain('not a git work tree');
    expect(findings(r.report)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.report.scan.engine).toBe('walker');
    expect(r.report.scan.skipped).toMatchObject({ binary: 1, ignored: 3, vendored: 2, symlinks: 2 });
  });

  it('git work tree: only tracked files through git grep; .gitignored and binary files skipped', async () => {
    const root = tree({
      '.gitignore': 'ignored.py\n',
      'tracked.py': 'registry.register(IntradayJob, interval=1)\n',
      'blob.bin': Buffer.concat([Buffer.from('PositionsJob'), Buffer.from([0, 0, 0])]),
    });
    gitInit(root);
    writeFileSync(join(root, 'ignored.py'), 'AccountBalanceJob()\n');
    const r = await audit(['--all', '--no-store', '--path', root]);
    expect(r.report.scan.engine).toBe('git-grep');
    expect(findings(r.report).map((f) => `${f.path}:${f.line}:${f.feature}`)).toEqual(['tracked.py:1:intraday']);
    expect(r.code).toBe(1);
  });

  it('git work tree: a tracked symlink to a file outside the tree is never read, even when every file is read', async () => {
    const outside = tree({ 'IntradayJob.py': 'class IntradayJob: pass\npollXIntraday()\n' }, 'outside-git');
    const root = tree({ 'ok.py': 'print(1)\n', 'poll.py': 'pollYIntraday()\n' });
    symlinkSync(join(outside, 'IntradayJob.py'), join(root, 'link.py'));
    gitInit(root);
    // `[^]` is "any character" to JavaScript and an unterminated class to PCRE: git grep -P
    // refuses it, so the audit reads every tracked file itself; the symlink must still be skipped.
    const config = writeCfg({ features: { intraday: { legacy: { patterns: ['poll[^]Intraday'] } } } });
    const r = await audit(['--all', '--no-store', '--path', root, '--config', config]);
    expect(r.report.scan.engine).toBe('git-grep');
    expect(r.stderr).toMatch(/git grep -P could not take the config's patterns/);
    expect(findings(r.report).map((f) => `${f.path}|${f.kind}`)).toEqual(['poll.py|pattern']);
    expect(r.report.scan.skipped.symlinks).toBe(1);
    expect(r.code).toBe(1);
  });

  it('a git failure (corrupt index) is exit 2 with the reason', async () => {
    const root = tree({ 'a.py': 'IntradayJob\n' });
    gitInit(root);
    writeFileSync(join(root, '.git', 'index'), 'garbage');
    const r = await runCli(['audit', '--all', '--no-store', '--path', root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: git (ls-files|grep) failed/);
  });
});

describe('audit: no shell anywhere', () => {
  for (const git of [false, true]) {
    it(`a path and a pattern with spaces and shell metacharacters are data (${git ? 'git grep' : 'file walk'})`, async () => {
      const dirName = `a b;$(touch pwned)${git ? '-git' : ''}`;
      const root = tree({
        'x y;$(touch pwned2).py': 'registry.register(IntradayJob)\n',
        'm.py': 'legacy $(touch pwned3) here\n',
      }, dirName);
      if (git) gitInit(root);
      const config = join(BASE, `cfg-${git}.json`);
      writeFileSync(config, JSON.stringify({ features: { intraday: { legacy: { patterns: ['\\$\\(touch pwned3\\)'] } } } }));
      const r = await audit(['--all', '--no-store', '--path', root, '--config', config], { cwd: BASE });
      expect(r.code).toBe(1);
      expect(findings(r.report).map((f) => `${f.path}|${f.kind}`).sort()).toEqual(['m.py|pattern', 'x y;$(touch pwned2).py|timer']);
      for (const dir of [BASE, root, process.cwd()]) expect(readdirSync(dir).filter((f) => f.startsWith('pwned'))).toEqual([]);
      expect(existsSync(join(BASE, 'a b;'))).toBe(false);
    });
  }
});

describe('audit: flag-aware verdicts against a real redis-server', () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await new TestRedis().start(); });
  afterAll(async () => { await redis?.dispose(); });

  async function withFlags(flags: Record<string, string>, cleanup: SampleCleanup, args: string[]) {
    const prefix = uniquePrefix('audit');
    const client = redis.client();
    try {
      if (Object.keys(flags).length) await client.hset(`${prefix}:flags`, flags);
    } finally { client.disconnect(); }
    const sample = await copySampleBackend({ cleanup, parent: BASE });
    return audit(['--path', sample.dir, ...args], { env: { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: prefix, THOR_CUTOVER_CONFIG: sample.configPath } });
  }
  const feature = (r: JsonReport, name: string) => r.features.find((f) => f.name === name)!;

  it('default selection = the features that are on; on + REST timer left = leftover; views and routes kept for rollback', async () => {
    const r = await withFlags({ account_balance: 'true' }, 'none', []);
    expect(r.report.selection.rule).toBe('flags-on');
    expect(r.report.features.map((f) => f.name)).toEqual(['account_balance']);
    const ab = feature(r.report, 'account_balance');
    expect(ab.verdict).toBe('leftover');
    expect(ab.counts.timer!.leftover).toBeGreaterThan(0);
    expect(ab.counts.view).toMatchObject({ leftover: 0, kept: 1 });
    expect(r.code).toBe(1);
  });

  it('--all: a feature that is off is inventory (listed, not failed)', async () => {
    const r = await withFlags({ account_balance: 'false' }, 'none', ['--all']);
    expect(r.report.features.map((f) => f.verdict)).toEqual(['inventory', 'inventory', 'inventory', 'inventory']);
    expect(findings(r.report).filter((f) => f.status !== 'allowed' && f.status !== 'mention').every((f) => f.status === 'inventory')).toBe(true);
    expect(r.code).toBe(0);
  });

  it('flag off + REST view or route already gone = rollback impossible (exit 1)', async () => {
    const r = await withFlags({ account_balance: 'true', positions: 'true', intraday: 'true' }, 'complete', ['--all']);
    const gm = feature(r.report, 'global_market');
    expect(gm.verdict).toBe('rollback-impossible');
    expect(gm.problems.join('\n')).toMatch(/market_status\(\) is gone/);
    expect(gm.problems.join('\n')).toMatch(/no urls.py entry maps/);
    expect(feature(r.report, 'account_balance').verdict).toBe('clean');
    expect(r.code).toBe(1);
  });

  it('every feature on (FULL): the complete cleanup passes, the runbook cleanup leaves one leftover of each kind', async () => {
    const all = { account_balance: 'true', positions: 'true', intraday: 'true', global_market: 'true' };
    const clean = await withFlags(all, 'complete', []);
    expect(clean.report.store.mode).toBe('FULL');
    expect(clean.report.leftovers).toBe(0);
    expect(clean.report.allowed.total).toBeGreaterThan(0);
    expect(clean.code).toBe(0);
    const left = await withFlags(all, 'runbook', []);
    const kinds = new Set(findings(left.report).filter((f) => f.status === 'leftover').map((f) => f.kind));
    expect([...kinds].sort()).toEqual(['client', 'route', 'timer', 'view']);
    // The runbook's grep spells IntraDayJob: the audit finds IntradayJob.
    expect(feature(left.report, 'intraday').counts.timer!.leftover).toBeGreaterThan(0);
    expect(left.code).toBe(1);
  });

  it('store unreachable: all features, and the output says which rule applied (no failure for that)', async () => {
    const sample = await copySampleBackend({ cleanup: 'complete', parent: BASE });
    const held = await refusedPort();
    onTestFinished(() => held.close());
    const port = held.port;
    const started = Date.now();
    const r = await audit(['--path', sample.dir], { env: { THOR_CUTOVER_REDIS_URL: `redis://127.0.0.1:${port}`, THOR_CUTOVER_CONFIG: sample.configPath } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.report.selection.rule).toBe('all-store-unreachable');
    expect(r.report.features).toHaveLength(4);
    expect(r.code).toBe(0);
    const human = await runCli(['audit', '--path', sample.dir], { env: { THOR_CUTOVER_REDIS_URL: `redis://127.0.0.1:${port}`, THOR_CUTOVER_CONFIG: sample.configPath } });
    expect(human.stdout).toMatch(/selection: all features: the store is unreachable \(cannot reach Redis/);
  });
});

describe('audit: output formats and exit codes', () => {
  let root: string;
  beforeAll(() => {
    root = tree({
      'stack start.py': 'import x\nregistry.register(\n    IntradayJob,\n)\nprint(1)\n',
      'ws.py': 'IntradayJob  # thor-cutover: allow ws\n',
    });
  });

  it('--sarif: SARIF 2.1.0, one rule per kind, results point at rules and encoded relative uris', async () => {
    const file = join(BASE, 'out.sarif');
    const r = await runCli(['audit', '--all', '--no-store', '--path', root, '--sarif', file], { cwd: root });
    expect(r.code).toBe(1);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc.version).toBe('2.1.0');
    expect(doc.$schema).toMatch(/sarif-2\.1\.0/);
    expect(doc.runs).toHaveLength(1);
    const run = doc.runs[0];
    const rules = run.tool.driver.rules as { id: string; shortDescription: { text: string } }[];
    expect(rules.map((x) => x.id)).toEqual(['thor-cutover/timer', 'thor-cutover/view', 'thor-cutover/route', 'thor-cutover/client', 'thor-cutover/pattern']);
    expect(run.tool.driver.name).toBe('thor-cutover');
    expect(run.results.length).toBe(2);
    // The leftover in "stack start.py" is an error; the one the inline marker allows, a note.
    expect(run.results.map((x: { level: string }) => x.level).sort()).toEqual(['error', 'note']);
    for (const res of run.results) {
      expect(rules[res.ruleIndex]!.id).toBe(res.ruleId);
      expect(typeof res.message.text).toBe('string');
      const loc = res.locations[0].physicalLocation;
      expect(loc.artifactLocation.uriBaseId).toBe('%SRCROOT%');
      expect(loc.region.startLine).toBeGreaterThanOrEqual(1);
      expect(loc.region.startColumn).toBeGreaterThanOrEqual(1);
    }
    const left = run.results.find((x: { level: string }) => x.level === 'error');
    expect(left.locations[0].physicalLocation.artifactLocation.uri).toBe('stack%20start.py');
    expect(left.locations[0].physicalLocation.region).toMatchObject({ startLine: 2, endLine: 4 });
    const allowed = run.results.find((x: { level: string }) => x.level === 'note');
    expect(allowed.suppressions).toEqual([{ kind: 'inSource', justification: 'inline marker: ws' }]);
    expect(run.originalUriBaseIds['%SRCROOT%'].uri).toMatch(/^file:\/\/.*\/$/);
    expect(run.invocations[0].executionSuccessful).toBe(true);
  });

  it('human output: grouped by feature and kind, path:line:col and the line, --context, summary; GitHub annotations', async () => {
    const r = await runCli(['audit', '--all', '--no-store', '--path', root, '--context', '1'], { env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: root } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\nintraday {2}✖ 1 leftover/);
    expect(r.stdout).toMatch(/\n {2}timer\n {8}1 \| import x\n {4}✖ stack start\.py:2:1: registry\.register\(\n {8}3 \| {5}IntradayJob,\n {8}4 \| \)\n {8}5 \| print\(1\)/);
    expect(r.stdout).toMatch(/\nintraday\t-\t✖ 1 leftover\t1 leftover, 1 allowed\t0\t0\t0\t0\n/);
    expect(r.stdout).toContain('::error file=stack start.py,line=2,col=1,endLine=4,title=thor-cutover audit%3A timer leftover (intraday)::IntradayJob (register) is still in the code: registry.register(');
    expect(r.stdout.match(/^::error/gm)).toHaveLength(1);
    const json = await audit(['--all', '--no-store', '--path', root, '--context', '1'], { env: { GITHUB_ACTIONS: 'true' } });
    expect(json.report.schemaVersion).toBe(1);
    expect(json.report.kind).toBe('audit');
    expect(findings(json.report).find((f) => f.status === 'leftover')!.context).toEqual({ before: ['import x'], after: ['print(1)'] });
  });

  it('--kind filters; feature names choose', async () => {
    const r = await audit(['intraday', '--kind', 'view,route', '--no-store', '--path', root]);
    expect(r.report.features.map((f) => f.name)).toEqual(['intraday']);
    expect(findings(r.report)).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('exit 2: not a directory, a missing path, an unknown kind or feature', async () => {
    const cases = [
      ['--path', join(root, 'ws.py')],
      ['--path', join(root, 'nope')],
      ['--path', root, '--kind', 'timers'],
      ['--path', root, 'intraday_bar'],
    ];
    for (const args of cases) {
      const r = await runCli(['audit', '--no-store', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/error: |error: option/);
    }
  });

  it('a limit that cuts the scan short is reported and never exits 0', async () => {
    const big = tree({ 'big.py': `# ${'x'.repeat(5000)}\n`, 'small.py': 'ok\n', 'cfg.json': JSON.stringify({ audit: { maxFileBytes: 1000 } }) });
    const r = await audit(['--all', '--no-store', '--path', big, '--config', join(big, 'cfg.json')]);
    expect(r.report.scan.partial).toBe(true);
    expect(r.report.scan.skipped.tooLarge).toEqual(['big.py']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/partial scan: 1 file\(s\) over audit\.maxFileBytes/);
    const few = await audit(['--all', '--no-store', '--path', root, '--config', writeCfg({ audit: { maxFiles: 1 } })]);
    expect(few.report.scan.limits.join()).toMatch(/maxFiles/);
    expect(few.code).not.toBe(0);
  });
});

function writeCfg(obj: object): string {
  const file = join(BASE, `cfg-${n++}.json`);
  writeFileSync(file, JSON.stringify(obj));
  return file;
}

describe('the sample backend shipped in samples/', () => {
  it('holds every kind before cleanup, and the copy helper leaves the shipped tree alone', async () => {
    const sample = await copySampleBackend({ cleanup: 'none', parent: BASE });
    const r = await audit(['--all', '--no-store', '--path', sample.dir, '--config', sample.configPath]);
    const kinds = new Set(findings(r.report).filter((f) => f.status === 'leftover').map((f) => f.kind));
    expect([...kinds].sort()).toEqual(['client', 'route', 'timer', 'view']);
    // The shapes a real repository takes: an include()-mounted route to a view named otherwise,
    // a model import named like the feature, a frontend poller, docs that name every job.
    const left = findings(r.report).filter((f) => f.status === 'leftover');
    expect(left.find((f) => f.path === 'ActAndPos/urls.py' && f.kind === 'route')).toMatchObject({ feature: 'positions', line: 8 });
    expect(left.find((f) => f.path === 'ActAndPos/views.py')).toMatchObject({ kind: 'view', form: 'def', term: 'positions_view' });
    expect(findings(r.report).filter((f) => f.path === 'ActAndPos/views.py' && f.line === 5)).toEqual([]);
    expect(left.filter((f) => f.path === 'frontend/src/pollers/positions.ts').map((f) => f.form)).toEqual(['constant', 'reference']);
    expect(findings(r.report).filter((f) => f.path.startsWith('docs/')).every((f) => f.status === 'mention')).toBe(true);
    expect(r.report.allowed.reasons.map((x) => x.reason).join('\n')).toMatch(/inline marker: WS path/);
    await copySampleBackend({ cleanup: 'complete', parent: BASE });
    expect(existsSync(join(sampleBackendDir(), 'ThorTrading', 'jobs.py'))).toBe(true);
  });
});
