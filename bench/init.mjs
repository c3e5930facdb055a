#!/usr/bin/env node
// `thor-cutover init --dry-run` on a generated Django project of 5,000 Python files (the sample
// backend's apps plus generated ones with their own urls.py, views, consumers and jobs), a git
// work tree. Goal: under 2 s (issue 15), node start-up included; printed with the ratio to
// `git ls-files` + `git grep -l urlpatterns` measured in the same run, for scale.
//
//   node bench/init.mjs                 # 5,000 files
//   node bench/init.mjs --files 20000   # bigger
//   options: --runs N (default 5), --keep
//
// Run `npm run build` first: it measures dist/, as a user runs it.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'thor-cutover.js');
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const FILES = arg('files', 5_000);
const RUNS = arg('runs', 5);
const KEEP = process.argv.includes('--keep');

const dir = mkdtempSync(join(tmpdir(), 'thor-init-bench-'));
try {
  cpSync(join(ROOT, 'samples', 'thor-backend'), dir, { recursive: true });
  const apps = Math.max(1, Math.floor(FILES / 50));
  const rootUrls = ['from django.urls import include, path', '', 'urlpatterns = [',
    '    path("", include("ThorTrading.urls")),',
    '    path("api/", include(("ActAndPos.urls", "actandpos"), namespace="actandpos")),',
    '    path("api/", include("GlobalMarkets.urls")),'];
  let written = 0;
  for (let a = 0; a < apps && written < FILES; a++) {
    const app = join(dir, `app${a}`);
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, '__init__.py'), '');
    const views = [];
    const urls = ['from django.urls import path', '', 'from . import views', '', 'urlpatterns = ['];
    for (let v = 0; v < 10; v++) {
      views.push(`def report_${v}(request):\n    rows = [{"type": "row", "value": ${v}}]\n    return Response({"rows": rows, "count": len(rows)})\n`);
      urls.push(`    path("report/${v}/", views.report_${v}, name="report-${v}"),`);
    }
    urls.push(']');
    writeFileSync(join(app, 'views.py'), views.join('\n\n'));
    writeFileSync(join(app, 'urls.py'), urls.join('\n') + '\n');
    rootUrls.push(`    path("app${a}/", include("app${a}.urls")),`);
    written += 3;
    for (let m = 0; m < 47 && written < FILES; m++, written++) {
      const body = [];
      for (let k = 0; k < 20; k++) body.push(`def helper_${k}(value, other=None):\n    """helper ${k}"""\n    return {"value": value, "other": other, "k": ${k}}\n`);
      writeFileSync(join(app, `mod_${m}.py`), body.join('\n'));
    }
  }
  rootUrls.push(']');
  writeFileSync(join(dir, 'thor_project', 'urls.py'), rootUrls.join('\n') + '\n');
  const git = (...a) => execFileSync('git', ['-c', 'user.email=bench@example.com', '-c', 'user.name=bench', '-c', 'commit.gpgsign=false', ...a], { cwd: dir, stdio: 'ignore' });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'bench tree');
  const count = execFileSync('git', ['ls-files'], { cwd: dir }).toString().split('\n').filter(Boolean).length;
  console.log(`tree: ${count} tracked files (${apps} generated apps with urls.py and views)`);

  const time = (cmd, args, ok) => {
    const s = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
    const ms = Number(process.hrtime.bigint() - s) / 1e6;
    if (!ok.includes(r.status)) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} exited ${r.status}: ${r.stderr}`);
    return { ms, stdout: r.stdout.toString() };
  };
  const initArgs = [BIN, 'init', '--dry-run', '--json', '--path', dir, '--config', join(dir, 'thor-cutover.config.json')];
  time(process.execPath, initArgs, [0]);
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const t = [];
  const g = [];
  let report;
  for (let i = 0; i < RUNS; i++) {
    const r = time(process.execPath, initArgs, [0]);
    t.push(r.ms);
    report = JSON.parse(r.stdout);
    const a = time('git', ['ls-files'], [0]).ms;
    g.push(a + time('git', ['grep', '-l', '-w', 'urlpatterns'], [0, 1]).ms);
  }
  const tm = median(t);
  const gm = median(g);
  console.log(`git ls-files + git grep -l urlpatterns: ${gm.toFixed(0)} ms median of ${RUNS}`);
  console.log(`thor-cutover init --dry-run: ${tm.toFixed(0)} ms median of ${RUNS} (${report.found.routes} routes in ${report.found.urlconfs} urlconfs, ${report.found.messages} WS message shapes, ${report.found.jobs} timers; node start-up included)`);
  console.log(`goal: under 2000 ms ${tm < 2000 ? 'PASS' : 'MISS'} (ratio to the git baseline: ${(tm / gm).toFixed(1)}x)`);
} finally {
  if (KEEP) console.log(`tree kept at ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
