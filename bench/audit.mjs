#!/usr/bin/env node
// `thor-cutover audit --all` against a bare `git grep -n -i -w -E` with the same patterns, on a
// generated backend tree committed to a throwaway git repo. Goal: the audit within 1.5x.
//
//   node bench/audit.mjs                                   # 20,000 files x 8 KB (~160 MB), < 2 min
//   node bench/audit.mjs --files 50000 --file-bytes 20000  # the full size: 50,000 files, ~1 GB
//   options: --runs N (default 5), --keep (leave the tree for a look)
//
// Run `npm run build` first: it measures dist/, as a user runs it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'thor-cutover.js');
const { loadConfig } = await import(join(ROOT, 'dist', 'config', 'load.js'));
const { buildMatcher, KINDS } = await import(join(ROOT, 'dist', 'commands', 'audit', 'patterns.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const FILES = arg('files', 20_000);
const FILE_BYTES = arg('file-bytes', 8_000);
const RUNS = arg('runs', 5);
const KEEP = process.argv.includes('--keep');

// A deterministic generator: the same tree every run.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const WORDS = ['price', 'order', 'symbol', 'quantity', 'fill', 'ledger', 'account', 'market', 'session', 'quote', 'tick', 'bar', 'risk', 'limit', 'venue', 'book'];
const word = () => WORDS[Math.floor(rand() * WORDS.length)];

function pythonFile(i) {
  const lines = [`"""module ${i}"""`, 'import logging', ''];
  let size = 40;
  let f = 0;
  while (size < FILE_BYTES) {
    const block = [
      `def ${word()}_${word()}_${f++}(${word()}, ${word()}=None):`,
      `    value = ${word()}.get("${word()}") or compute_${word()}(${word()})`,
      `    logging.debug("%s %s", "${word()}", value)`,
      `    return value`,
      '',
    ];
    lines.push(...block);
    size += block.join('\n').length + 1;
  }
  // Legacy code the audit must find, and decoys it must not, spread through the tree.
  if (i % 997 === 0) lines.push('registry.register(', '    IntradayJob(channel_layer=layer),', '    interval=1,', ')');
  if (i % 1499 === 0) lines.push('class AccountBalanceJob(BaseJob):', '    pass');
  if (i % 313 === 0) lines.push('helper = MyIntradayJobHelper()  # a longer identifier');
  // A common word that is also a view name: many candidate files, few real views.
  if (i % 50 === 0) lines.push('    payload["positions"] = positions');
  return lines.join('\n') + '\n';
}

const dir = mkdtempSync(join(tmpdir(), 'thor-audit-bench-'));
try {
  const t0 = Date.now();
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `app${i % 50}`, `pkg${Math.floor(i / 50) % 40}`);
    if (i < 2000) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `mod_${i}.py`), pythonFile(i));
  }
  writeFileSync(join(dir, 'urls.py'), 'urlpatterns = [\n    path("api/positions/", views.positions),\n]\n');
  const git = (...a) => execFileSync('git', ['-c', 'user.email=bench@example.com', '-c', 'user.name=bench', '-c', 'commit.gpgsign=false', '-c', 'core.looseCompression=0', ...a], { cwd: dir, stdio: 'ignore' });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'bench tree');
  const du = execFileSync('du', ['-sb', '--exclude=.git', dir]).toString().split('\t')[0];
  console.log(`tree: ${FILES} files, ${(Number(du) / 1e6).toFixed(0)} MB (generated and committed in ${((Date.now() - t0) / 1000).toFixed(1)}s)`);

  const config = loadConfig({ cwd: dir, env: {} });
  const matcher = buildMatcher(config.features, new Set(KINDS), true);
  const grepArgs = ['grep', '-n', '-i', '-w', '-E', ...matcher.gitWordPatterns.flatMap((p) => ['-e', p])];
  const auditArgs = [BIN, 'audit', '--all', '--no-store', '--json', '--path', dir];

  const time = (cmd, args, opts) => {
    const s = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
    const ms = Number(process.hrtime.bigint() - s) / 1e6;
    if (!opts.ok.includes(r.status)) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} exited ${r.status}: ${r.stderr}`);
    return { ms, stdout: r.stdout.toString() };
  };
  // One warm-up each: both then read from the page cache.
  time('git', grepArgs, { cwd: dir, ok: [0, 1] });
  const first = time(process.execPath, auditArgs, { cwd: ROOT, ok: [1] });
  const report = JSON.parse(first.stdout);
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const g = [];
  const a = [];
  for (let i = 0; i < RUNS; i++) {
    g.push(time('git', grepArgs, { cwd: dir, ok: [0, 1] }).ms);
    a.push(time(process.execPath, auditArgs, { cwd: ROOT, ok: [1] }).ms);
  }
  const gm = median(g);
  const am = median(a);
  const grepLines = time('git', grepArgs, { cwd: dir, ok: [0, 1] }).stdout.split('\n').filter(Boolean).length;
  console.log(`patterns: ${matcher.gitWordPatterns.join(' | ')}`);
  console.log(`git grep -n -i -w -E: ${gm.toFixed(0)} ms median of ${RUNS} (${grepLines} matching lines)`);
  console.log(`thor-cutover audit --all: ${am.toFixed(0)} ms median of ${RUNS} (${report.scan.read} files read, ${report.leftovers} leftovers; node start-up included)`);
  console.log(`ratio audit / git grep: ${(am / gm).toFixed(2)}x (goal <= 1.5x) ${am / gm <= 1.5 ? 'PASS' : 'MISS'}`);
} finally {
  if (KEEP) console.log(`tree kept at ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
