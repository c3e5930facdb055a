import { relative, sep } from 'node:path';
import { printJson, renderTable, type Output } from '../../output/format.js';
import type { Style } from '../../output/style.js';
import { KINDS, type Kind } from './patterns.js';
import type { AuditFinding, AuditReport, FeatureAudit, FindingStatus, KindCount } from './run.js';

const ENGINE: Record<AuditReport['scan']['engine'], string> = { 'git-grep': 'git grep', walker: 'file walk' };

const KIND_NOTE: Partial<Record<FindingStatus, string>> = {
  inventory: 'flag off: what its cutover will delete',
  kept: 'kept as the rollback path until every feature is on (phase 4)',
};

function glyphFor(s: Style, status: FindingStatus): string {
  if (status === 'leftover') return s.bad(s.glyph.fail);
  if (status === 'allowed') return s.ok(s.glyph.pass);
  return s.dim(s.glyph.info);
}

/** What follows the line: where a route leads, the other kinds it matched, why it does not fail. */
function suffix(s: Style, f: AuditFinding): string {
  const parts: string[] = [];
  if (f.route) {
    const view = f.route.view ? `, view ${f.route.view}${f.route.viewAt ? ` (${f.route.viewAt})` : ''}` : '';
    parts.push(`-> ${f.route.path}${f.route.mounted ? '' : ' (below an unknown mount)'}${view}`);
  }
  if (f.also.length) parts.push(`also ${f.also.map((a) => `${a.kind}${a.kind === 'pattern' ? '' : ` ${a.term}`}`).join(', ')}`);
  if (f.status === 'allowed') parts.push(`allowed: ${f.allowedBy}`);
  if (f.status === 'baselined') parts.push('in the baseline');
  return parts.length ? s.dim(`  [${parts.join('; ')}]`) : '';
}

function verdictText(s: Style, f: FeatureAudit): string {
  const left = KINDS.reduce((n, k) => n + f.counts[k].leftover, 0);
  switch (f.verdict) {
    case 'rollback-impossible': return s.bad(`${s.glyph.fail} rollback impossible`);
    case 'leftover': return s.bad(`${s.glyph.fail} ${left} leftover${left === 1 ? '' : 's'}`);
    case 'inventory': return `${s.glyph.info} inventory`;
    default: return s.ok(`${s.glyph.pass} clean`);
  }
}

function flagText(f: FeatureAudit): string {
  return f.flag ? `${f.flag.enabled ? 'on' : 'off'} (${f.flag.source})` : '-';
}

function countCell(c: KindCount, selected: boolean): string {
  if (!selected) return '-';
  const parts: string[] = [];
  if (c.leftover) parts.push(`${c.leftover} leftover`);
  if (c.inventory) parts.push(`${c.inventory} inventory`);
  if (c.kept) parts.push(`${c.kept} kept`);
  if (c.baselined) parts.push(`${c.baselined} baselined`);
  if (c.allowed) parts.push(`${c.allowed} allowed`);
  if (c.mention) parts.push(`${c.mention} in docs`);
  return parts.length ? parts.join(', ') : '0';
}

function printFinding(out: Output, f: AuditFinding): void {
  const s = out.style;
  const w = out.io.stdout;
  const width = String(f.endLine + (f.context?.after.length ?? 0)).length;
  const gutter = (n: number, text: string) => `        ${s.dim(`${String(n).padStart(width)} |`)} ${text}\n`;
  f.context?.before.forEach((text, i) => w.write(gutter(f.startLine - f.context!.before.length + i, s.dim(text))));
  // Decorators above a def: shown in the gutter before the located line.
  for (let n = f.startLine; n < f.line; n++) w.write(gutter(n, f.lines[n - f.startLine]!));
  const why = suffix(s, f);
  w.write(`    ${glyphFor(s, f.status)} ${s.bold(`${f.path}:${f.line}:${f.column}`)}: ${f.lines[f.line - f.startLine]}${why}\n`);
  for (let n = f.line + 1; n <= f.endLine; n++) w.write(gutter(n, f.lines[n - f.startLine]!));
  f.context?.after.forEach((text, i) => w.write(gutter(f.endLine + 1 + i, s.dim(text))));
}

/** `::error` workflow commands: GitHub shows them on the lines of the pull request. */
function escapeData(v: string): string {
  return v.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escapeProperty(v: string): string {
  return escapeData(v).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function annotations(r: AuditReport, base: string): string {
  const lines: string[] = [];
  const inBase = !relative(base, r.root).startsWith('..');
  for (const fa of r.features) {
    for (const f of fa.findings) {
      if (f.status !== 'leftover') continue;
      const file = relative(inBase ? base : r.root, `${r.root}${sep}${f.path}`).split(sep).join('/');
      const props = [`file=${escapeProperty(file)}`, `line=${f.line}`, `col=${f.column}`];
      if (f.endLine > f.line) props.push(`endLine=${f.endLine}`);
      props.push(`title=${escapeProperty(`thor-cutover audit: ${f.kind} leftover (${f.feature})`)}`);
      lines.push(`::error ${props.join(',')}::${escapeData(`${f.term} (${f.form}) is still in the code: ${f.lines[f.line - f.startLine]!.trim()}`)}`);
    }
    for (const p of fa.problems) lines.push(`::error title=${escapeProperty(`thor-cutover audit: ${fa.name}`)}::${escapeData(p)}`);
  }
  for (const l of r.scan.limits) lines.push(`::warning title=thor-cutover audit%3A partial scan::${escapeData(l)}`);
  return lines.length ? lines.join('\n') + '\n' : '';
}

export interface PrintOptions {
  /** Under GITHUB_ACTIONS=true: the directory annotation paths are relative to; else null. */
  annotateBase: string | null;
}

export function printAudit(out: Output, r: AuditReport, opts: PrintOptions): void {
  if (out.format === 'json') {
    printJson(out, 'audit', r);
  } else {
    printHuman(out, r);
    if (opts.annotateBase !== null) out.io.stdout.write(annotations(r, opts.annotateBase));
  }
  const err = out.errStyle;
  if (r.scan.engineNote) out.io.stderr.write(`${err.dim(`${err.glyph.info} ${r.scan.engineNote}: searched with a file walk (.gitignore honoured)`)}\n`);
  if (r.scan.perlFallback) out.io.stderr.write(`${err.warn(`${err.glyph.warn} warning:`)} git grep -P could not take the config's patterns (${r.scan.perlFallback}); every tracked file was read instead\n`);
  for (const l of r.scan.limits) out.io.stderr.write(`${err.warn(`${err.glyph.warn} warning:`)} partial scan: ${l}\n`);
  if (r.scan.interrupted) out.io.stderr.write(`${err.warn(`${err.glyph.warn} interrupted:`)} the audit did not finish\n`);
}

function printHuman(out: Output, r: AuditReport): void {
  const s = out.style;
  const w = out.io.stdout;
  const sc = r.scan;
  const scope = sc.engine === 'git-grep' ? `${sc.files} tracked files, ${sc.read} read` : `${sc.files} files read`;
  w.write(`${s.bold('thor-cutover audit')} ${s.dim(`· ${r.root} · ${ENGINE[sc.engine]} (${scope}) · ${r.durationMs}ms`)}\n`);
  w.write(`${s.dim('selection:')} ${r.selection.text}\n`);
  if (r.kinds.length < KINDS.length) w.write(`${s.dim('kinds:')} ${r.kinds.join(', ')}\n`);
  const skipped = sc.skipped;
  const skips = [
    skipped.ignored && `${skipped.ignored} .gitignored`, skipped.vendored && `${skipped.vendored} vendored dirs`,
    skipped.symlinks && `${skipped.symlinks} symlinks (not followed)`, skipped.binary && `${skipped.binary} binary`,
    skipped.tooLarge.length && `${skipped.tooLarge.length} too large`, skipped.allowedUnread.length && `${skipped.allowedUnread.length} allowed unread`,
  ].filter(Boolean);
  if (skips.length) w.write(`${s.dim(`skipped: ${skips.join(', ')}`)}\n`);

  for (const fa of r.features) {
    w.write(`\n${s.bold(fa.name)}  ${verdictText(s, fa)}  ${s.dim(`flag ${flagText(fa)}`)}\n`);
    for (const p of fa.problems) w.write(`  ${s.bad(`${s.glyph.fail} ${p}`)}\n`);
    for (const k of r.kinds) {
      const list = fa.findings.filter((f) => f.kind === k && f.status !== 'mention');
      if (!list.length) continue;
      const statuses = new Set(list.filter((f) => f.status !== 'allowed').map((f) => f.status));
      const note = statuses.size === 1 ? KIND_NOTE[[...statuses][0]!] : undefined;
      w.write(`  ${s.bold(k)}${note ? s.dim(`  (${note})`) : ''}\n`);
      for (const f of list) printFinding(out, f);
    }
    const mentions = fa.findings.filter((f) => f.status === 'mention');
    if (mentions.length) {
      w.write(`  ${s.bold('mentions')}${s.dim('  (documentation: listed, never failing; --docs to fail on them)')}\n`);
      for (const f of mentions) printFinding(out, f);
    }
  }

  w.write(`\n${s.bold('summary')}\n`);
  const rows = r.features.map((fa) => [
    fa.name, flagText(fa), verdictText(s, fa), ...KINDS.map((k: Kind) => countCell(fa.counts[k], r.kinds.includes(k))),
  ]);
  if (rows.length) w.write(renderTable(out, ['feature', 'flag', 'verdict', ...KINDS], rows));
  if (r.allowed.total) {
    w.write(`allowed: ${r.allowed.total} line${r.allowed.total === 1 ? '' : 's'} (${r.allowed.reasons.map((x) => `${x.count} ${x.reason}`).join('; ')})\n`);
  } else w.write(`allowed: 0 lines\n`);
  if (r.mentions) w.write(`mentions: ${r.mentions} in documentation (${r.docs === 'fail' ? 'failing: --docs' : 'not failing; --docs or audit.docs "fail" to fail on them'})\n`);
  else if (r.docs === 'fail') w.write('mentions: documentation findings fail like the others (--docs)\n');
  if (r.baseline?.mode === 'write') w.write(`baseline: ${r.baseline.matched} finding${r.baseline.matched === 1 ? '' : 's'} written to ${r.baseline.file} (${r.baseline.entries} entries)\n`);
  else if (r.baseline) {
    const unused = r.baseline.unused ? `; ${r.baseline.unused} no longer found (fixed: write it again to drop them)` : '';
    w.write(`baseline: ${r.baseline.matched} finding${r.baseline.matched === 1 ? '' : 's'} in ${r.baseline.file} not failing${unused}\n`);
  }
  if (r.scan.urls.urlconfs) {
    const u = r.scan.urls;
    w.write(s.dim(`urls: ${u.routes} route${u.routes === 1 ? '' : 's'} in ${u.urlconfs} urlconf${u.urlconfs === 1 ? '' : 's'}${u.root ? `, root ${u.root} (${u.rootFrom})` : ', no root urlconf found (paths below an unknown mount)'}${u.unresolved.length ? `; not followed: ${u.unresolved.slice(0, 3).map((x) => `${x.file}:${x.line} ${x.what}`).join('; ')}` : ''}\n`));
  }
  const failing = r.features.filter((f) => f.verdict === 'leftover' || f.verdict === 'rollback-impossible').length;
  if (r.scan.interrupted) w.write(s.warn(`${s.glyph.warn} interrupted: the audit is incomplete\n`));
  else if (r.leftovers + r.problems > 0) {
    const parts = [r.leftovers && `${r.leftovers} leftover${r.leftovers === 1 ? '' : 's'}`, r.problems && `${r.problems} rollback problem${r.problems === 1 ? '' : 's'}`].filter(Boolean);
    w.write(s.bad(`${s.glyph.fail} ${parts.join(' and ')} in ${failing} feature${failing === 1 ? '' : 's'}${sc.partial ? ' (and the scan was partial)' : ''}\n`));
  } else if (sc.partial) w.write(s.warn(`${s.glyph.warn} no leftovers found, but the scan was partial: not a pass\n`));
  else w.write(s.ok(`${s.glyph.pass} no leftovers${r.features.length ? '' : ' (no feature selected)'}\n`));
}
