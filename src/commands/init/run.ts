import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CONFIG_FILE_NAME } from '../../config/defaults.js';
import { loadConfig } from '../../config/load.js';
import type { Config, FeatureConfig } from '../../config/types.js';
import { CutoverError, ExitCode, UsageError } from '../../errors.js';
import type { IO } from '../../io.js';
import { readChannels, viewResponseFields, type ChannelsMap, type Unknown } from '../../django/channels.js';
import { DjangoProject, pathSegments, samePath, type UrlMap, type UrlRoute } from '../../django/urls.js';
import { gitTracked } from '../audit/git-grep.js';
import { walk } from '../audit/walker.js';

/**
 * `init`: the cutover map read from the backend's own code (no import, no execution), and
 * `init --check`: the config still matches the code, and the code is consistent with itself.
 * Both read the project with the reader `audit` uses (src/django/).
 */

/** A value found in the code, with where it came from and how sure the reading is. */
export interface Sourced<T> {
  value: T;
  /** file:line (relative to the project root). */
  from: string;
  /** `confirmed` (the config already says so), `found` (one match in the code), or why. */
  how: string;
}

export interface FeatureFinding {
  name: string;
  restPath: Sourced<string> | null;
  views: Sourced<string[]> | null;
  wsTypes: Sourced<string[]> | null;
  jobs: Sourced<string[]> | null;
  intervalMs: Sourced<number> | null;
  /** Fields the REST view returns (requiredFields candidates), where its body is a dict literal. */
  restFields: Sourced<string[]> | null;
  /** Fields of the WS payload, where it is a dict literal. */
  wsFields: Sourced<string[]> | null;
  /** WS field -> REST field, where the two spell one field differently (`net_liq` / `net_liquidation`). */
  fieldMap: Sourced<Record<string, string>> | null;
  /** REST names of the fields every WS message must carry: the REST body's, else the WS payload's. */
  requiredFields: Sourced<string[]> | null;
}

export interface Question {
  feature: string | null;
  question: string;
  /** Candidates found in the code, each with file:line. */
  candidates: string[];
}

/** One config value init sets, or would set, or keeps because the file already has one. */
export interface Change {
  path: string;
  from: unknown;
  to: unknown;
  source: string;
  /** The config file already sets another value: kept (use --force to take the code's). */
  kept: boolean;
}

export type ProblemRule = 'missing-handler' | 'unused-handler' | 'no-consumer' | 'unrouted-feature' | 'missing-ws-type' | 'interval-mismatch' | 'renamed-field' | 'missing-field';

export interface Problem {
  rule: ProblemRule;
  feature: string | null;
  message: string;
  file: string | null;
  line: number | null;
}

export interface InitReport {
  root: string;
  mode: 'write' | 'dry-run' | 'check';
  out: string;
  /** True when the config file was written by this run. */
  written: boolean;
  found: { urlconfs: number; routes: number; broadcasts: number; handlers: number; messages: number; jobs: number; root: string | null; rootFrom: string | null };
  features: FeatureFinding[];
  changes: Change[];
  questions: Question[];
  unknowns: Unknown[];
  problems: Problem[];
  /** The config as written (or as it would be). */
  config: Record<string, unknown> | null;
  exitCode: number;
  durationMs: number;
}

export interface InitOptions {
  path: string;
  out?: string;
  dryRun: boolean;
  force: boolean;
  check: boolean;
  /** Handler types the client sends (init --check does not ask for a broadcast of them). */
  clientDriven: string[];
}

const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** The words of a name: `AccountBalanceJob` and `account_balance` -> account, balance. */
export function words(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/)
    .filter((w) => w && !['job', 'view', 'api', 'message', 'msg', 'build', 'get', 'list', 'task', 'poller', 'update', 'send'].includes(w))
    // balances ~ balance, positions ~ position: a plural is the same word.
    .map((w) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w));
}

function covers(have: string[], want: string[]): boolean {
  return want.length > 0 && want.every((w) => have.includes(w));
}

const at = (x: { file: string; line: number }) => `${x.file}:${x.line}`;

async function listFiles(root: string, signal: AbortSignal): Promise<string[]> {
  const tracked = await gitTracked(root, signal);
  if (Array.isArray(tracked) && tracked.length > 0) return tracked;
  return (await walk(root, { maxFiles: 200_000, signal })).files;
}

/**
 * Synchronous on purpose: init reads thousands of small files and nothing else runs meanwhile;
 * the promise API costs several times the read itself per file (5,000 files: 0.9 s vs 0.2 s).
 * Never through a symlink (lstat), never a huge file.
 */
async function readSource(root: string, rel: string): Promise<string | null> {
  try {
    const abs = join(root, rel);
    const st = lstatSync(abs);
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return null;
    return readFileSync(abs, 'utf8');
  } catch {
    return null;
  }
}

/** A Django project has a manage.py, a settings module or a urlconf; anything else is refused. */
function isDjango(files: string[]): boolean {
  return files.some((f) => /(^|\/)manage\.py$/.test(f) || /(^|\/)settings\.py$/.test(f) || /(^|\/)urls\.py$/.test(f) || /(^|\/)(asgi|wsgi)\.py$/.test(f));
}

function leafRoutes(map: UrlMap): UrlRoute[] {
  return map.routes.filter((r) => r.include === null && r.path !== null);
}

/** Reads the project and maps what it finds onto the configured features. */
export async function runInit(ctx: { config: Config; io: IO }, opts: InitOptions): Promise<InitReport> {
  const started = Date.now();
  const { config, io } = ctx;
  const root = resolve(io.cwd, opts.path);
  let st;
  try { st = await stat(root); } catch { st = null; }
  if (!st?.isDirectory()) throw new UsageError(`--path ${opts.path}: no such directory`, 'give the root of the Django project, e.g. --path ../thor-backend', 'E_NOT_A_DIRECTORY');
  const files = await listFiles(root, io.interrupted);
  if (!isDjango(files)) {
    throw new CutoverError('E_NOT_DJANGO', `${root} is not a Django project: no manage.py, settings.py, urls.py or asgi.py in it`, {
      hint: 'give the folder that holds manage.py with --path', exitCode: ExitCode.ERROR,
    });
  }
  const project = new DjangoProject({ files, read: (f) => readSource(root, f) });
  const [map, ch] = await Promise.all([project.urls(), readChannels(project)]);
  const routes = leafRoutes(map).filter((r) => r.mounted);

  const questions: Question[] = [];
  const features: FeatureFinding[] = config.features.map((f) => mapFeature(f, routes, ch, questions));
  for (const fe of features) await readFields(project, fe, routes, ch);

  // Broadcast WS types no feature carries: a feature the config does not know, or a rename.
  const carried = new Set(features.flatMap((f) => f.wsTypes?.value ?? []));
  const eventTypes = new Set(ch.broadcasts.map((b) => b.type));
  for (const type of new Set(ch.messages.map((m) => m.type))) {
    if (carried.has(type) || eventTypes.has(type) || config.features.some((f) => f.wsTypes.includes(type))) continue;
    const where = ch.messages.filter((m) => m.type === type).map(at);
    questions.push({ feature: null, question: `the code sends WS messages of type "${type}" that no feature carries: a feature to add, or another spelling of one?`, candidates: where });
  }

  const outFile = resolve(io.cwd, opts.out ?? config.file ?? CONFIG_FILE_NAME);
  const report: InitReport = {
    root, mode: opts.check ? 'check' : opts.dryRun ? 'dry-run' : 'write', out: outFile, written: false,
    found: { urlconfs: map.urlconfs.length, routes: leafRoutes(map).length, broadcasts: ch.broadcasts.length, handlers: ch.handlers.length, messages: ch.messages.length, jobs: ch.jobs.length, root: map.root, rootFrom: map.rootFrom },
    features, changes: [], questions, unknowns: [...map.unresolved.map((u) => ({ file: u.file, line: u.line, what: u.what })), ...ch.unknowns],
    problems: [], config: null, exitCode: ExitCode.OK, durationMs: 0,
  };

  if (opts.check) {
    report.problems = check(config, features, routes, ch, [...config.backend.clientDriven, ...opts.clientDriven]);
    report.exitCode = report.problems.length ? ExitCode.FAILED : ExitCode.OK;
    report.durationMs = Date.now() - started;
    return report;
  }

  const nothing = routes.length === 0 && ch.broadcasts.length === 0 && ch.messages.length === 0 && ch.jobs.length === 0;
  const raw = await readRawConfig(outFile);
  const { changes, doc } = merge(raw, config, features, opts.force);
  report.changes = changes;
  report.config = doc;
  if (!nothing && changes.some((c) => !c.kept) && !opts.dryRun) {
    await writeConfig(outFile, doc, io);
    report.written = true;
  }
  report.durationMs = Date.now() - started;
  return report;
}

function mapFeature(f: FeatureConfig, routes: UrlRoute[], ch: ChannelsMap, questions: Question[]): FeatureFinding {
  const out: FeatureFinding = { name: f.name, restPath: null, views: null, wsTypes: null, jobs: null, intervalMs: null, restFields: null, wsFields: null, fieldMap: null, requiredFields: null };
  const fw = words(f.name);

  // REST path: the configured one if a route resolves to it; else the one route that ends like
  // it or names a view with the feature's words.
  const exact = routes.filter((r) => samePath(r.path!, f.restPath));
  let route: UrlRoute | null = exact[0] ?? null;
  let how = 'confirmed: a route resolves to it';
  if (!route) {
    const last = pathSegments(f.restPath).slice(-1)[0];
    const cands = routes.filter((r) => {
      const segs = pathSegments(r.path!);
      return (last !== undefined && segs[segs.length - 1] === last) || (r.view !== null && covers(words(r.view.name), fw));
    });
    if (cands.length === 1) { route = cands[0]!; how = `found: the one route ending in "${last}" or naming a ${f.name} view (the config says ${f.restPath})`; }
    else {
      questions.push({
        feature: f.name,
        question: cands.length
          ? `which route serves ${f.name}? no route resolves to ${f.restPath}, and ${cands.length} could`
          : `where is ${f.name}'s REST route? no route resolves to ${f.restPath}, and none ends in "${last}" or names a view with "${fw.join('_')}"`,
        candidates: cands.map((r) => `${r.path} (${r.view?.name ?? '?'}) at ${r.file}:${r.line}`),
      });
    }
  }
  if (route) {
    const from = `${route.file}:${route.line}`;
    out.restPath = { value: route.path!, from, how };
    if (route.view) out.views = { value: [route.view.name], from: route.view.file ? `${route.view.file}:${route.view.line}` : from, how: `the view ${route.path} names` };
  }

  // WS types: the configured one if the code sends it; else the one message type named like the feature.
  const types = [...new Set(ch.messages.map((m) => m.type))];
  const configured = f.wsTypes.filter((t) => types.includes(t));
  if (configured.length) {
    const m = ch.messages.find((x) => x.type === configured[0]);
    out.wsTypes = { value: configured, from: m ? at(m) : '', how: 'confirmed: the code sends it' };
  } else {
    const cands = types.filter((t) => covers(words(t), fw) || covers(fw, words(t)) || ch.messages.some((m) => m.type === t && m.builder !== null && covers(words(m.builder), fw)));
    if (cands.length === 1) {
      const m = ch.messages.find((x) => x.type === cands[0])!;
      out.wsTypes = { value: [cands[0]!], from: at(m), how: `found: the one message type named like ${f.name}${m.builder ? ` (built by ${m.builder})` : ''}; the config says ${f.wsTypes.join(', ')}` };
    } else {
      questions.push({
        feature: f.name,
        question: `which WS message type carries ${f.name}? the code never sends ${f.wsTypes.join(' or ')}${cands.length ? `, and ${cands.length} types could` : ''}`,
        candidates: cands.map((t) => `${t} at ${at(ch.messages.find((m) => m.type === t)!)}`),
      });
    }
  }

  // Legacy REST timer: the registered job whose `name` is the feature, else named like it.
  let jobs = ch.jobs.filter((j) => j.name === f.name);
  let jobHow = `its name attribute is "${f.name}"`;
  if (!jobs.length) { jobs = ch.jobs.filter((j) => f.legacy.jobs.includes(j.job)); jobHow = 'confirmed: the config names it'; }
  if (!jobs.length) { jobs = ch.jobs.filter((j) => covers(words(j.job), fw)); jobHow = `named like ${f.name}`; }
  if (jobs.length) {
    const j = jobs[0]!;
    out.jobs = { value: [...new Set(jobs.map((x) => x.job))], from: at(j), how: `registered here; ${jobHow}` };
    if (j.intervalSeconds !== null && f.cadence === 'periodic') {
      out.intervalMs = { value: Math.round(j.intervalSeconds * 1000), from: at(j), how: `registry.register(..., interval=${j.intervalSeconds})` };
    }
  }
  return out;
}

/** One field spelled two ways: every word of one starts the same word of the other (`net_liq`, `net_liquidation`). */
function sameField(a: string, b: string): boolean {
  const x = a.toLowerCase().split(/[_\W]+/).filter(Boolean);
  const y = b.toLowerCase().split(/[_\W]+/).filter(Boolean);
  if (a === b || x.length !== y.length || x.length === 0) return false;
  return x.every((w, i) => w.startsWith(y[i]!) || y[i]!.startsWith(w));
}

/** REST and WS payload fields, where both are dict literals, and the renames between them. */
async function readFields(project: DjangoProject, fe: FeatureFinding, routes: UrlRoute[], ch: ChannelsMap): Promise<void> {
  const route = fe.restPath ? routes.find((r) => r.path === fe.restPath!.value) : undefined;
  if (route?.view?.file && route.view.line) {
    const rest = await viewResponseFields(project, route.view.file, route.view.line);
    if (rest) fe.restFields = { value: rest.fields, from: `${rest.file}:${rest.line}`, how: `${rest.via} ${route.view.name}() returns` };
  }
  const msg = fe.wsTypes ? ch.messages.find((m) => fe.wsTypes!.value.includes(m.type) && m.payloadFields !== null) : undefined;
  if (msg) fe.wsFields = { value: msg.payloadFields!, from: msg.payloadFrom?.split(' ')[0] ?? at(msg), how: `the payload of the ${msg.type} message${msg.builder ? ` ${msg.builder}() builds` : ''}${msg.payloadFrom ? `, read from ${msg.payloadFrom.slice(msg.payloadFrom.indexOf(' ') + 2, -1)}` : ''}` };
  if (fe.restFields && fe.wsFields) {
    const map: Record<string, string> = {};
    for (const w of fe.wsFields.value) {
      if (fe.restFields.value.includes(w)) continue;
      const r = fe.restFields.value.filter((x) => !fe.wsFields!.value.includes(x) && sameField(w, x));
      if (r.length === 1) map[w] = r[0]!;
    }
    if (Object.keys(map).length) fe.fieldMap = { value: map, from: fe.wsFields.from, how: `the WS payload (${fe.wsFields.from}) and the REST body (${fe.restFields.from}) spell ${Object.entries(map).map(([w, r]) => `${r} as ${w}`).join(', ')}` };
  }
  // What a client reads today is the REST body: every WS message must carry those fields (in REST names).
  if (fe.restFields) fe.requiredFields = { value: fe.restFields.value, from: fe.restFields.from, how: `the fields of ${fe.restFields.how}` };
  else if (fe.wsFields) {
    const back = fe.fieldMap?.value ?? {};
    fe.requiredFields = { value: fe.wsFields.value.map((w) => back[w] ?? w), from: fe.wsFields.from, how: `the fields of ${fe.wsFields.how} (no REST body the code shows)` };
  }
}

/** REST fields the WS payload never carries (under its own name or a renamed one): a client switched to WS loses them. */
function lostFields(fe: FeatureFinding): string[] {
  if (!fe.restFields || !fe.wsFields) return [];
  const carried = new Set(fe.wsFields.value.map((w) => fe.fieldMap?.value[w] ?? w));
  return fe.restFields.value.filter((r) => !carried.has(r));
}

function check(config: Config, features: FeatureFinding[], routes: UrlRoute[], ch: ChannelsMap, clientDriven: string[]): Problem[] {
  const problems: Problem[] = [];
  const handlerOf = (type: string) => type.replace(/\./g, '_');
  const handlers = new Set(ch.handlers.map((h) => h.method));
  if (ch.broadcasts.length && !ch.consumers.length) {
    problems.push({ rule: 'no-consumer', feature: null, message: `the code sends ${ch.broadcasts.length} channel-layer event(s) but no consumer class was found to handle them`, file: ch.broadcasts[0]!.file, line: ch.broadcasts[0]!.line });
  } else {
    for (const b of ch.broadcasts) {
      if (handlers.has(handlerOf(b.type))) continue;
      const consumers = ch.consumers.map((c) => `${c.name} (${at(c)})`).join(', ');
      problems.push({
        rule: 'missing-handler', feature: null, file: b.file, line: b.line,
        message: `the event type "${b.type}" is sent (${b.via}) but no consumer has a ${handlerOf(b.type)}(self, event) method: Channels closes every socket that receives it with 1011. Add it to ${consumers}`,
      });
    }
  }
  const sent = new Set(ch.broadcasts.map((b) => handlerOf(b.type)));
  const client = new Set(clientDriven.map(handlerOf));
  for (const h of ch.handlers) {
    if (sent.has(h.method) || client.has(h.method)) continue;
    problems.push({ rule: 'unused-handler', feature: null, file: h.file, line: h.line, message: `${h.consumer}.${h.method}() handles an event type nothing sends; if the client drives it, list it in the config's backend.clientDriven (or --client-driven ${h.method})` });
  }
  for (const f of config.features) {
    const found = features.find((x) => x.name === f.name)!;
    if (!routes.some((r) => samePath(r.path!, f.restPath))) {
      problems.push({
        rule: 'unrouted-feature', feature: f.name, file: found.restPath ? found.restPath.from.split(':')[0]! : null, line: found.restPath ? Number(found.restPath.from.split(':').pop()) : null,
        message: `${f.name}: no route resolves to ${f.restPath}${found.restPath ? `; the code serves it at ${found.restPath.value} (thor-cutover init updates the config)` : ''}`,
      });
    }
    const types = new Set(ch.messages.map((m) => m.type));
    if (!f.wsTypes.some((t) => types.has(t))) {
      problems.push({
        rule: 'missing-ws-type', feature: f.name, file: found.wsTypes ? found.wsTypes.from.split(':')[0]! : null, line: found.wsTypes ? Number(found.wsTypes.from.split(':').pop()) : null,
        message: `${f.name}: the code never sends the WS type ${f.wsTypes.join(' or ')}${found.wsTypes ? `; it sends ${found.wsTypes.value.join(', ')} (thor-cutover init updates the config)` : ''}`,
      });
    }
    const lost = lostFields(found);
    if (lost.length) {
      const [file, line] = found.wsFields!.from.split(':');
      problems.push({ rule: 'missing-field', feature: f.name, file: file ?? null, line: line ? Number(line) : null, message: `${f.name}: the REST body (${found.restFields!.from}) has ${lost.map((x) => `"${x}"`).join(', ')}, which the WS payload (${found.wsFields!.how}) never carries: a client switched to WS loses ${lost.length === 1 ? 'it' : 'them'}` });
    }
    for (const [ws, rest] of Object.entries(found.fieldMap?.value ?? {})) {
      if (f.fieldMap[ws] === rest) continue;
      const [file, line] = found.fieldMap!.from.split(':');
      problems.push({ rule: 'renamed-field', feature: f.name, file: file ?? null, line: line ? Number(line) : null, message: `${f.name}: the WS payload calls "${ws}" what the REST body calls "${rest}" (${found.fieldMap!.how}); the config's fieldMap does not map it, so parity compares them as different fields` });
    }
    if (found.intervalMs && f.cadence === 'periodic' && found.intervalMs.value !== f.intervalMs) {
      const [file, line] = found.intervalMs.from.split(':');
      problems.push({ rule: 'interval-mismatch', feature: f.name, file: file ?? null, line: line ? Number(line) : null, message: `${f.name}: the config expects a message every ${f.intervalMs} ms, the REST timer runs every ${found.intervalMs.value} ms (${found.intervalMs.how})` });
    }
  }
  return problems;
}

async function readRawConfig(file: string): Promise<Record<string, unknown>> {
  if (!existsSync(file)) return {};
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch { /* reported below */ }
  throw new CutoverError('E_CONFIG', `${file} is not a JSON object: init merges into it and will not overwrite it`, { hint: 'fix or move it, or give another file with --out', exitCode: ExitCode.ERROR });
}

/** Sets each found value in the config document; a value the file already sets is kept unless --force. */
function merge(raw: Record<string, unknown>, config: Config, found: FeatureFinding[], force: boolean): { changes: Change[]; doc: Record<string, unknown> } {
  const doc = structuredClone(raw);
  const changes: Change[] = [];
  const obj = (parent: Record<string, unknown>, key: string): Record<string, unknown> => {
    const v = parent[key];
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    const o: Record<string, unknown> = {};
    parent[key] = o;
    return o;
  };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const f of found) {
    const fc = config.features.find((x) => x.name === f.name)!;
    const set = (path: string[], current: unknown, s: Sourced<unknown> | null, value: unknown = s?.value) => {
      if (!s || same(current, value)) return;
      const name = ['features', f.name, ...path].join('.');
      const rawFeatures = raw.features as Record<string, Record<string, unknown>> | undefined;
      let inFile: unknown = rawFeatures?.[f.name];
      for (const k of path) inFile = inFile && typeof inFile === 'object' ? (inFile as Record<string, unknown>)[k] : undefined;
      const kept = inFile !== undefined && !force;
      changes.push({ path: name, from: current, to: value, source: `${s.from} (${s.how})`, kept });
      if (kept) return;
      let o = obj(obj(doc, 'features'), f.name);
      for (const k of path.slice(0, -1)) o = obj(o, k);
      o[path[path.length - 1]!] = value;
    };
    set(['restPath'], fc.restPath, f.restPath);
    if (f.restPath && !samePath(f.restPath.value, fc.restPath)) set(['legacy', 'routes'], fc.legacy.routes, f.restPath, [f.restPath.value.replace(/^\//, '')]);
    if (f.views && !fc.legacy.views.includes(f.views.value[0]!)) set(['legacy', 'views'], fc.legacy.views, f.views);
    set(['wsTypes'], fc.wsTypes, f.wsTypes);
    if (f.jobs && !f.jobs.value.every((j) => fc.legacy.jobs.includes(j))) set(['legacy', 'jobs'], fc.legacy.jobs, f.jobs);
    // The file spells it as a duration (`interval: "5s"`).
    if (f.fieldMap) set(['fieldMap'], fc.fieldMap, f.fieldMap, { ...fc.fieldMap, ...f.fieldMap.value });
    if (f.requiredFields && !sameSet(f.requiredFields.value, fc.requiredFields)) set(['requiredFields'], fc.requiredFields, f.requiredFields);
    if (f.intervalMs) set(['interval'], formatDuration(fc.intervalMs), f.intervalMs, formatDuration(f.intervalMs.value));
  }
  return { changes, doc };
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Written to a temporary file, loaded back as a config (never a file the tool itself refuses), then renamed. */
async function writeConfig(file: string, doc: Record<string, unknown>, io: IO): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(doc, null, 2) + '\n');
  } catch (err) {
    throw new CutoverError('E_CONFIG_WRITE', `cannot write ${file}: ${(err as Error).message}`, { hint: `check that ${basename(file)}'s directory exists and is writable`, exitCode: ExitCode.ERROR });
  }
  try {
    loadConfig({ cwd: io.cwd, env: {}, configPath: tmp });
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await rename(tmp, file);
}
