import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { findFeature } from '../../config/load.js';
import type { Config, FeatureConfig } from '../../config/types.js';
import { CutoverError, ExitCode, UsageError } from '../../errors.js';
import type { IO } from '../../io.js';
import { cutoverMode, resolveFlags, type FlagSource, type Mode } from '../../store/effective.js';
import type { FlagStore } from '../../store/types.js';
import { makeAllower } from './allow.js';
import type { Finding } from './analyze.js';
import { BaselineMatcher, buildBaseline, readBaseline, writeBaseline } from './baseline.js';
import { KINDS, buildMatcher, type Kind } from './patterns.js';
import { scan, type ScanStats } from './scan.js';

export type { Kind } from './patterns.js';

/**
 * - leftover: must be gone and is not (fails the audit);
 * - inventory: the feature is still off, so this is what its cutover will delete (listed);
 * - kept: a view or route of a feature that is on, kept as the rollback path until every
 *   feature is on (phase 4 deletes them);
 * - allowed: the allow list or the inline marker says the line is about the WebSocket path;
 * - mention: in documentation (listed apart, never failing unless --docs / audit.docs "fail");
 * - baselined: would be a leftover, but the --baseline file records it (only new ones fail).
 */
export type FindingStatus = 'leftover' | 'inventory' | 'kept' | 'allowed' | 'mention' | 'baselined';

export interface AuditFinding extends Finding {
  status: FindingStatus;
}

export interface KindCount {
  found: number;
  leftover: number;
  inventory: number;
  kept: number;
  allowed: number;
  mention: number;
  baselined: number;
}

export type FeatureVerdict = 'clean' | 'leftover' | 'inventory' | 'rollback-impossible';

export interface FeatureAudit {
  name: string;
  /** The effective flag, or null when the store was not read. */
  flag: { enabled: boolean; source: FlagSource } | null;
  verdict: FeatureVerdict;
  counts: Record<Kind, KindCount>;
  /** Errors that are not a line of code: rollback made impossible. */
  problems: string[];
  findings: AuditFinding[];
}

export type SelectionRule = 'explicit' | 'all' | 'flags-on' | 'all-store-unreachable' | 'all-no-store';

export interface AuditReport {
  root: string;
  kinds: Kind[];
  selection: { rule: SelectionRule; text: string };
  store: { consulted: boolean; reachable: boolean; description: string | null; error: string | null; mode: Mode | null };
  features: FeatureAudit[];
  allowed: { total: number; reasons: { reason: string; count: number }[] };
  scan: ScanStats & { partial: boolean };
  /** How documentation findings counted: `mention` (apart, never failing) or `fail`. */
  docs: 'mention' | 'fail';
  mentions: number;
  /** --baseline / --write-baseline: the file, its entries, how many findings it covered. */
  baseline: { file: string; mode: 'read' | 'write'; entries: number; matched: number; unused: number } | null;
  leftovers: number;
  problems: number;
  exitCode: number;
  durationMs: number;
}

export interface AuditOptions {
  names: string[];
  all: boolean;
  kinds: Kind[];
  path: string;
  context: number;
  /** false: never read the store (--no-store): every finding counts, as in CI without Redis. */
  useStore: boolean;
  /** A store already open (the demo's in-process one); otherwise the configured Redis is tried. */
  store?: FlagStore;
  /** --docs: documentation findings fail like the others (else audit.docs decides). */
  docs?: boolean;
  /** --baseline F: findings recorded in F do not fail. */
  baseline?: string;
  /** --write-baseline F: record today's failing findings in F (and do not fail on them). */
  writeBaseline?: string;
}

interface FlagView {
  consulted: boolean;
  reachable: boolean;
  description: string | null;
  error: string | null;
  raw: Record<string, string>;
}

/**
 * An audit must run in CI without Redis, so an unreachable store is not an error: the audit
 * falls back to "every feature, every finding counts" and says so. The timeouts are short for
 * the same reason: a gate should not wait seconds for a store it can do without.
 */
const STORE_CONNECT_TIMEOUT_MS = 1_500;
const STORE_COMMAND_TIMEOUT_MS = 2_000;

async function readFlags(config: Config, opts: AuditOptions): Promise<FlagView> {
  const none = { consulted: false, reachable: false, description: null, error: null, raw: {} };
  if (opts.store) {
    const snap = await opts.store.snapshot();
    return { consulted: true, reachable: true, description: opts.store.description, error: null, raw: snap.raw };
  }
  if (!opts.useStore) return none;
  const { RedisFlagStore } = await import('../../store/redis.js');
  const { redactUrl } = await import('../../config/load.js');
  let store: FlagStore | null = null;
  try {
    store = await RedisFlagStore.connect({
      url: config.redis.url, prefix: config.redis.prefix, oneShot: true,
      connectTimeoutMs: STORE_CONNECT_TIMEOUT_MS, commandTimeoutMs: STORE_COMMAND_TIMEOUT_MS,
    });
    const snap = await store.snapshot();
    return { consulted: true, reachable: true, description: store.description, error: null, raw: snap.raw };
  } catch (err) {
    if (err instanceof CutoverError && err.code.startsWith('E_STORE')) {
      return { consulted: true, reachable: false, description: redactUrl(config.redis.url), error: err.message, raw: {} };
    }
    throw err;
  } finally {
    await store?.close();
  }
}

/** The config and baseline files, relative to the root when inside it: never audited. */
function ownFiles(root: string, files: (string | null)[]): Set<string> {
  const out = new Set<string>();
  for (const f of files) {
    if (!f) continue;
    const rel = relative(root, f);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel)) out.add(rel.split(sep).join('/'));
  }
  return out;
}

function emptyCounts(): Record<Kind, KindCount> {
  const c = {} as Record<Kind, KindCount>;
  for (const k of KINDS) c[k] = { found: 0, leftover: 0, inventory: 0, kept: 0, allowed: 0, mention: 0, baselined: 0 };
  return c;
}

export async function runAudit(ctx: { config: Config; io: IO }, opts: AuditOptions): Promise<AuditReport> {
  const started = Date.now();
  const { config, io } = ctx;
  const root = await auditRoot(io, opts.path);

  const named = [...new Set(opts.names)].map((n) => findFeature(config, n));
  if (named.length && opts.all) throw new UsageError('give feature names or --all, not both');
  if (opts.baseline && opts.writeBaseline) throw new UsageError('give --baseline or --write-baseline, not both', 'write the baseline once, then gate on it with --baseline');
  // Read before the scan: a bad baseline file is a usage error, not a finding.
  const baselineFile = opts.baseline ? await readBaseline(io, opts.baseline) : null;
  const docsFail = opts.docs === true || config.audit.docs === 'fail';
  const kinds = opts.kinds.length ? KINDS.filter((k) => opts.kinds.includes(k)) : [...KINDS];
  // Scan for every candidate feature while the store answers; the selection is applied after.
  const candidates: FeatureConfig[] = named.length ? named : config.features;
  const allow = makeAllower(config.audit);
  const [flagView, result] = await Promise.all([
    readFlags(config, opts),
    scan(root, {
      features: candidates, ignoreCase: config.audit.ignoreCase, audit: config.audit, allow, context: opts.context, signal: io.interrupted,
      matcher: (discovered) => buildMatcher(candidates, new Set(kinds), config.audit.ignoreCase, discovered),
      readUrls: kinds.includes('route') || kinds.includes('view'),
      exclude: ownFiles(root, [config.file, opts.baseline ? resolve(io.cwd, opts.baseline) : null, opts.writeBaseline ? resolve(io.cwd, opts.writeBaseline) : null]),
    }),
  ]);

  const flags = flagView.reachable ? resolveFlags(config.features, flagView.raw, io.env) : null;
  const mode = flags ? cutoverMode(flags) : null;
  const { selected, rule, text } = selectFeatures(config, named, opts.all, flags, flagView);

  const byFeature = new Map<string, Finding[]>();
  for (const f of result.findings) {
    const list = byFeature.get(f.feature) ?? [];
    list.push(f);
    byFeature.set(f.feature, list);
  }
  const partial = result.stats.limits.length > 0 || result.stats.interrupted;
  // Distinct lines per reason: a line that names a job and a route is one allowed line.
  const reasons = new Map<string, Set<string>>();
  const baseline = baselineFile ? new BaselineMatcher(baselineFile) : null;
  const toRecord: { path: string; kind: Kind; text: string }[] = [];
  const judging: Judging = { config, flags, mode, docsFail, kinds, partial, byFeature, reasons, baseline, toRecord, writeBaseline: Boolean(opts.writeBaseline) };
  const features: FeatureAudit[] = selected.map((fc) => judgeFeature(fc, judging));

  const leftovers = features.reduce((n, f) => n + KINDS.reduce((m, k) => m + f.counts[k].leftover, 0), 0);
  const mentions = features.reduce((n, f) => n + KINDS.reduce((m, k) => m + f.counts[k].mention, 0), 0);
  const problems = features.reduce((n, f) => n + f.problems.length, 0);
  const baselineInfo = await baselineOutcome(io, opts, { partial, interrupted: result.stats.interrupted, toRecord, baselineFile, baseline, features });
  const exitCode = result.stats.interrupted ? ExitCode.INTERRUPTED
    : leftovers + problems > 0 ? ExitCode.FAILED
    : partial ? ExitCode.INCONCLUSIVE
    : ExitCode.OK;
  return {
    root,
    kinds,
    selection: { rule, text },
    store: { consulted: flagView.consulted, reachable: flagView.reachable, description: flagView.description, error: flagView.error, mode },
    features,
    allowed: {
      total: new Set([...reasons.values()].flatMap((lines) => [...lines])).size,
      reasons: [...reasons].map(([reason, lines]) => ({ reason, count: lines.size })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    },
    scan: { ...result.stats, partial },
    docs: docsFail ? 'fail' : 'mention',
    mentions,
    baseline: baselineInfo,
    leftovers,
    problems,
    exitCode,
    durationMs: Date.now() - started,
  };
}

async function auditRoot(io: IO, path: string): Promise<string> {
  const root = resolve(io.cwd, path);
  let st;
  try {
    st = await stat(root);
  } catch {
    throw new UsageError(`--path ${path}: no such directory`, 'give the root of the backend checkout, e.g. --path ../thor-backend', 'E_NOT_A_DIRECTORY');
  }
  if (!st.isDirectory()) throw new UsageError(`--path ${path} is not a directory`, 'give the root of the backend checkout, e.g. --path ../thor-backend', 'E_NOT_A_DIRECTORY');
  return root;
}

type Flags = ReturnType<typeof resolveFlags> | null;

/** Which features must be gone: the named ones, --all, the ones on in the store, else all (and why). */
function selectFeatures(config: Config, named: FeatureConfig[], all: boolean, flags: Flags, flagView: FlagView): { selected: FeatureConfig[]; rule: SelectionRule; text: string } {
  let selected: FeatureConfig[];
  let rule: SelectionRule;
  let text: string;
  if (named.length) {
    selected = named; rule = 'explicit'; text = `features named: ${named.map((f) => f.name).join(', ')}`;
  } else if (all) {
    selected = config.features; rule = 'all'; text = 'all features (--all)';
  } else if (flags) {
    selected = config.features.filter((_, i) => flags[i]!.enabled);
    rule = 'flags-on';
    text = selected.length
      ? `features that are on in ${flagView.description}: ${selected.map((f) => f.name).join(', ')}`
      : `no feature is on in ${flagView.description}: nothing has to be gone yet (--all lists the inventory)`;
  } else if (flagView.consulted) {
    selected = config.features; rule = 'all-store-unreachable';
    text = `all features: the store is unreachable (${flagView.error}), so every finding counts`;
  } else {
    selected = config.features; rule = 'all-no-store';
    text = 'all features: the store was not read (--no-store), so every finding counts';
  }
  return { selected, rule, text };
}

/** What judging a feature's findings needs from the run. */
interface Judging {
  config: Config;
  flags: Flags;
  mode: ReturnType<typeof cutoverMode> | null;
  docsFail: boolean;
  kinds: Kind[];
  partial: boolean;
  byFeature: Map<string, Finding[]>;
  /** Distinct lines per allow reason (filled in). */
  reasons: Map<string, Set<string>>;
  baseline: BaselineMatcher | null;
  /** Leftovers --write-baseline records (filled in). */
  toRecord: { path: string; kind: Kind; text: string }[];
  writeBaseline: boolean;
}

function findingStatus(f: Finding, flag: NonNullable<Flags>[number] | null, j: Judging): FindingStatus {
  let status: FindingStatus;
  if (f.allowedBy) status = 'allowed';
  else if (f.doc && !j.docsFail) status = 'mention';
  else if (!flag) status = 'leftover';
  else if (!flag.enabled) status = 'inventory';
  else if (j.mode !== 'FULL' && (f.kind === 'view' || f.kind === 'route' || f.kind === 'client')) status = 'kept';
  else status = 'leftover';
  if (status === 'leftover') {
    const text = f.lines[f.line - f.startLine] ?? '';
    if (j.writeBaseline) { j.toRecord.push({ path: f.path, kind: f.kind, text }); status = 'baselined'; }
    else if (j.baseline?.take(f.path, f.kind, text)) status = 'baselined';
  }
  return status;
}

/** Rollback (disable) sends clients back to REST: with the flag off, the views and routes must still be there. */
function rollbackProblems(fc: FeatureConfig, j: Judging): string[] {
  const problems: string[] = [];
  const all = (j.byFeature.get(fc.name) ?? []).filter((f) => !f.doc);
  const gone = j.partial ? ' (the scan was partial: it may be in a file not read)' : '';
  const entries = all.filter((f) => f.kind === 'route' && f.form === 'url-entry');
  if (j.kinds.includes('view')) {
    // The views the feature's routes name (found by following them), else the configured names.
    const routed = [...new Set(entries.map((f) => f.route?.view).filter((v): v is string => Boolean(v)))];
    const names = routed.length ? routed : fc.legacy.views;
    for (const v of names) {
      if (!all.some((f) => f.kind === 'view' && f.form === 'def' && f.term.toLowerCase() === v.toLowerCase())) {
        problems.push(`rollback impossible: the flag is off but the REST view ${v}() is gone${gone}`);
      }
    }
  }
  if (j.kinds.includes('route') && !entries.length) {
    problems.push(`rollback impossible: the flag is off but no urls.py entry maps ${[...new Set([...fc.legacy.routes, fc.restPath])].join(', ')}${gone}`);
  }
  return problems;
}

function judgeFeature(fc: FeatureConfig, j: Judging): FeatureAudit {
  const i = j.config.features.indexOf(fc);
  const flag = j.flags ? j.flags[i]! : null;
  const counts = emptyCounts();
  const findings: AuditFinding[] = (j.byFeature.get(fc.name) ?? []).map((f) => {
    const status = findingStatus(f, flag, j);
    const c = counts[f.kind];
    c.found++;
    c[status]++;
    if (f.allowedBy) j.reasons.set(f.allowedBy, (j.reasons.get(f.allowedBy) ?? new Set()).add(`${f.path}:${f.line}`));
    return { ...f, status };
  });
  const problems = flag && !flag.enabled ? rollbackProblems(fc, j) : [];
  const leftovers = KINDS.reduce((n, k) => n + counts[k].leftover, 0);
  const inventory = KINDS.reduce((n, k) => n + counts[k].inventory, 0);
  const verdict: FeatureVerdict = problems.length ? 'rollback-impossible' : leftovers ? 'leftover' : inventory ? 'inventory' : 'clean';
  return { name: fc.name, flag: flag ? { enabled: flag.enabled, source: flag.source } : null, verdict, counts, problems, findings };
}

/** --write-baseline records the leftovers (never from a partial scan); --baseline reports what it matched. */
async function baselineOutcome(io: IO, opts: AuditOptions, r: {
  partial: boolean; interrupted: boolean; toRecord: Judging['toRecord']; baselineFile: Awaited<ReturnType<typeof readBaseline>> | null; baseline: BaselineMatcher | null; features: FeatureAudit[];
}): Promise<AuditReport['baseline']> {
  if (opts.writeBaseline && !r.interrupted) {
    // A partial scan would record a partial baseline: every finding not read would be "new" later. Refuse.
    if (r.partial) throw new CutoverError('E_BASELINE_PARTIAL', 'the scan was partial: not writing a baseline that would miss findings', { hint: 'raise audit.maxFiles / audit.maxFileBytes, or exclude the files, then write it again', exitCode: ExitCode.INCONCLUSIVE });
    const b = buildBaseline(r.toRecord);
    const file = await writeBaseline(io, opts.writeBaseline, b);
    return { file, mode: 'write', entries: b.entries.length, matched: r.toRecord.length, unused: 0 };
  }
  if (r.baselineFile && r.baseline) {
    const matched = r.features.reduce((n, f) => n + KINDS.reduce((m, k) => m + f.counts[k].baselined, 0), 0);
    return { file: resolve(io.cwd, opts.baseline!), mode: 'read', entries: r.baselineFile.entries.length, matched, unused: r.baseline.unused };
  }
  return null;
}
