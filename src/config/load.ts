import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, UsageError } from '../errors.js';
import {
  CONFIG_FILE_NAME,
  DEFAULT_AUDIT,
  DEFAULT_BACKEND,
  DEFAULT_FEATURES,
  DEFAULT_PREFIX,
  DEFAULT_REDIS_URL,
  DEFAULT_THRESHOLDS,
  DEFAULT_VERIFY_GATE,
} from './defaults.js';
import { parseDuration } from './duration.js';
import { redactUrl } from '../redact.js';
import type { AuditAllow, Cadence, Config, FeatureConfig, LegacyCode, Thresholds } from './types.js';

/** What the command line and the environment contribute; flags win over env. */
export interface ConfigInputs {
  cwd: string;
  env: NodeJS.ProcessEnv;
  configPath?: string;
  redisUrl?: string;
  prefix?: string;
  url?: string;
  wsUrl?: string;
  token?: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** Collects every problem instead of stopping at the first: a user fixes them in one go. */
class Problems {
  readonly list: string[] = [];
  add(location: string, expected: string, got?: unknown): void {
    const gotText = got === undefined ? '' : `, got: ${JSON.stringify(got)?.slice(0, 60)}`;
    this.list.push(`location: ${location}, expected: ${expected}${gotText}`);
  }
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownKeys(o: Obj, allowed: readonly string[], loc: string, p: Problems): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) p.add(`${loc}.${k}`, `one of the known fields (${allowed.join(', ')})`);
  }
}

function str(o: Obj, k: string, loc: string, p: Problems): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') { p.add(`${loc}.${k}`, 'non-empty string', v); return undefined; }
  return v;
}

function num(o: Obj, k: string, loc: string, p: Problems, min = 0): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) { p.add(`${loc}.${k}`, `number >= ${min}`, v); return undefined; }
  return v;
}

function bool(o: Obj, k: string, loc: string, p: Problems): boolean | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') { p.add(`${loc}.${k}`, 'true or false', v); return undefined; }
  return v;
}

function strList(o: Obj, k: string, loc: string, p: Problems, allowSingle = false): string[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (allowSingle && typeof v === 'string' && v !== '') return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) {
    p.add(`${loc}.${k}`, allowSingle ? 'string or array of strings' : 'array of strings', v);
    return undefined;
  }
  return v as string[];
}

function duration(o: Obj, k: string, loc: string, p: Problems): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  if (ms === null || ms <= 0) { p.add(`${loc}.${k}`, 'duration such as "10s", "250ms" or a number of milliseconds', v); return undefined; }
  return ms;
}

const FEATURE_FIELDS = [
  'order', 'envVar', 'wsTypes', 'restPath', 'restItemsPath', 'restShape', 'cadence', 'interval', 'key',
  'streamKey', 'versionField', 'requiredFields', 'fieldMap', 'ignoreFields', 'tolerance', 'accountScoped',
  'legacy', 'thresholds',
] as const;
const THRESHOLD_FIELDS = ['intervalTolerance', 'maxMissedBeats', 'maxMismatchRate', 'maxSkippedRate', 'maxReconnects', 'minMessages', 'maxStaleness'] as const;
const CADENCES: Cadence[] = ['periodic', 'event', 'on-change'];

function readThresholds(raw: Json | undefined, loc: string, p: Problems, base: Thresholds): Thresholds {
  if (raw === undefined) return { ...base };
  if (!isObj(raw)) { p.add(loc, 'object'); return { ...base }; }
  unknownKeys(raw, THRESHOLD_FIELDS, loc, p);
  const rate = num(raw, 'maxMismatchRate', loc, p);
  if (rate !== undefined && rate > 1) p.add(`${loc}.maxMismatchRate`, 'a fraction from 0 to 1', rate);
  const skipped = num(raw, 'maxSkippedRate', loc, p);
  if (skipped !== undefined && skipped > 1) p.add(`${loc}.maxSkippedRate`, 'a fraction from 0 to 1', skipped);
  return {
    intervalTolerance: num(raw, 'intervalTolerance', loc, p) ?? base.intervalTolerance,
    maxMissedBeats: num(raw, 'maxMissedBeats', loc, p) ?? base.maxMissedBeats,
    maxMismatchRate: rate !== undefined && rate <= 1 ? rate : base.maxMismatchRate,
    maxSkippedRate: skipped !== undefined && skipped <= 1 ? skipped : base.maxSkippedRate,
    maxReconnects: num(raw, 'maxReconnects', loc, p) ?? base.maxReconnects,
    minMessages: num(raw, 'minMessages', loc, p) ?? base.minMessages,
    maxStalenessMs: duration(raw, 'maxStaleness', loc, p) ?? base.maxStalenessMs,
  };
}

function readLegacy(raw: Json | undefined, loc: string, p: Problems, base: LegacyCode): LegacyCode {
  if (raw === undefined) return { ...base };
  if (!isObj(raw)) { p.add(loc, 'object with jobs, views, routes, patterns'); return { ...base }; }
  unknownKeys(raw, ['jobs', 'views', 'routes', 'patterns'], loc, p);
  const patterns = strList(raw, 'patterns', loc, p);
  for (const [i, re] of (patterns ?? []).entries()) {
    try { new RegExp(re); } catch { p.add(`${loc}.patterns[${i}]`, 'a valid regular expression', re); }
  }
  return {
    jobs: strList(raw, 'jobs', loc, p) ?? base.jobs,
    views: strList(raw, 'views', loc, p) ?? base.views,
    routes: strList(raw, 'routes', loc, p) ?? base.routes,
    patterns: patterns ?? base.patterns,
  };
}

function defaultFeature(name: string, order: number, thresholds: Thresholds): FeatureConfig {
  return {
    name, order, envVar: `WS_FEATURE_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`, wsTypes: [name],
    restPath: '', restItemsPath: '', restShape: 'object', cadence: 'periodic', intervalMs: 0,
    key: [], streamKey: [], versionField: null, requiredFields: [], fieldMap: {}, ignoreFields: [],
    tolerance: 1e-6, accountScoped: false, legacy: { jobs: [], views: [], routes: [], patterns: [] },
    thresholds: { ...thresholds },
  };
}

function readFeature(name: string, raw: Obj, base: FeatureConfig, loc: string, p: Problems, isNew: boolean): FeatureConfig {
  unknownKeys(raw, FEATURE_FIELDS, loc, p);
  const f: FeatureConfig = { ...base, legacy: { ...base.legacy }, thresholds: { ...base.thresholds } };
  f.order = num(raw, 'order', loc, p, 1) ?? f.order;
  f.envVar = str(raw, 'envVar', loc, p) ?? f.envVar;
  f.wsTypes = strList(raw, 'wsTypes', loc, p, true) ?? f.wsTypes;
  f.restPath = str(raw, 'restPath', loc, p) ?? f.restPath;
  if (raw.restItemsPath !== undefined) {
    if (typeof raw.restItemsPath !== 'string') p.add(`${loc}.restItemsPath`, 'string (dot path, "" for the body)', raw.restItemsPath);
    else f.restItemsPath = raw.restItemsPath;
  }
  const shape = str(raw, 'restShape', loc, p);
  if (shape !== undefined) {
    if (shape === 'object' || shape === 'array') f.restShape = shape;
    else p.add(`${loc}.restShape`, '"object" or "array"', shape);
  }
  const cadence = str(raw, 'cadence', loc, p);
  if (cadence !== undefined) {
    if ((CADENCES as string[]).includes(cadence)) f.cadence = cadence as Cadence;
    else p.add(`${loc}.cadence`, `one of ${CADENCES.join(', ')}`, cadence);
  }
  f.intervalMs = duration(raw, 'interval', loc, p) ?? f.intervalMs;
  f.key = strList(raw, 'key', loc, p, true) ?? f.key;
  f.streamKey = strList(raw, 'streamKey', loc, p, true) ?? (raw.key !== undefined && raw.streamKey === undefined ? f.key : f.streamKey);
  if (raw.versionField !== undefined) {
    if (raw.versionField === null || (typeof raw.versionField === 'string' && raw.versionField !== '')) f.versionField = raw.versionField;
    else p.add(`${loc}.versionField`, 'field name or null', raw.versionField);
  }
  f.requiredFields = strList(raw, 'requiredFields', loc, p) ?? f.requiredFields;
  if (raw.fieldMap !== undefined) {
    if (!isObj(raw.fieldMap) || Object.values(raw.fieldMap).some((v) => typeof v !== 'string')) {
      p.add(`${loc}.fieldMap`, 'object of WS field name -> REST field name', raw.fieldMap);
    } else f.fieldMap = raw.fieldMap as Record<string, string>;
  }
  f.ignoreFields = strList(raw, 'ignoreFields', loc, p) ?? f.ignoreFields;
  f.tolerance = num(raw, 'tolerance', loc, p) ?? f.tolerance;
  f.accountScoped = bool(raw, 'accountScoped', loc, p) ?? f.accountScoped;
  f.legacy = readLegacy(raw.legacy, `${loc}.legacy`, p, f.legacy);
  f.thresholds = readThresholds(raw.thresholds, `${loc}.thresholds`, p, f.thresholds);

  if (isNew) {
    for (const required of ['restPath', 'interval'] as const) {
      if (raw[required] === undefined) p.add(`${loc}.${required}`, `${required} (required for a feature that is not built in)`);
    }
  }
  void name;
  return f;
}

function readFile(path: string, explicit: boolean): { obj: Obj; path: string } | null {
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new ConfigError(`config ${path} is a directory`, [], 'pass the path of a JSON file with --config');
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return null;
    throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`, [], 'check the path given with --config or THOR_CUTOVER_CONFIG');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config ${path} is not valid JSON: ${(err as Error).message}`, [], 'the config file is JSON: no comments, no trailing commas');
  }
  if (!isObj(parsed)) throw new ConfigError(`config ${path}: location: (top level), expected: object`);
  return { obj: parsed, path };
}

const TOP_FIELDS = ['$schema', 'redis', 'backend', 'market', 'thresholds', 'features', 'audit', 'verify'] as const;

/** Defaults < config file < THOR_CUTOVER_* env < flags; validated once, every problem listed. */
export function loadConfig(inputs: ConfigInputs): Config {
  const { env } = inputs;
  const explicitPath = inputs.configPath ?? (env.THOR_CUTOVER_CONFIG || undefined);
  const file = readFile(resolve(inputs.cwd, explicitPath ?? CONFIG_FILE_NAME), explicitPath !== undefined);
  const raw: Obj = file?.obj ?? {};
  const p = new Problems();
  unknownKeys(raw, TOP_FIELDS, '(top level)', p);

  // redis
  let redisUrl = DEFAULT_REDIS_URL;
  let prefix = DEFAULT_PREFIX;
  if (raw.redis !== undefined) {
    if (!isObj(raw.redis)) p.add('redis', 'object with url, prefix');
    else {
      unknownKeys(raw.redis, ['url', 'prefix'], 'redis', p);
      redisUrl = str(raw.redis, 'url', 'redis', p) ?? redisUrl;
      prefix = str(raw.redis, 'prefix', 'redis', p) ?? prefix;
    }
  }

  // backend
  const backend = { ...DEFAULT_BACKEND };
  if (raw.backend !== undefined) {
    if (!isObj(raw.backend)) p.add('backend', 'object');
    else {
      const b = raw.backend;
      unknownKeys(b, ['url', 'wsUrl', 'wsPath', 'token', 'tokenIn', 'flagsPath', 'healthPath', 'timeout', 'clientDriven'], 'backend', p);
      backend.url = str(b, 'url', 'backend', p) ?? backend.url;
      backend.wsUrl = str(b, 'wsUrl', 'backend', p) ?? backend.wsUrl;
      backend.wsPath = str(b, 'wsPath', 'backend', p) ?? backend.wsPath;
      backend.token = str(b, 'token', 'backend', p) ?? backend.token;
      const tokenIn = str(b, 'tokenIn', 'backend', p);
      if (tokenIn !== undefined) {
        if (tokenIn === 'query' || tokenIn === 'header' || tokenIn === 'both') backend.tokenIn = tokenIn;
        else p.add('backend.tokenIn', '"query", "header" or "both"', tokenIn);
      }
      backend.flagsPath = str(b, 'flagsPath', 'backend', p) ?? backend.flagsPath;
      backend.healthPath = str(b, 'healthPath', 'backend', p) ?? backend.healthPath;
      backend.timeoutMs = duration(b, 'timeout', 'backend', p) ?? backend.timeoutMs;
      backend.clientDriven = strList(b, 'clientDriven', 'backend', p) ?? backend.clientDriven;
    }
  }

  let country = 'USA';
  if (raw.market !== undefined) {
    if (!isObj(raw.market)) p.add('market', 'object with country');
    else {
      unknownKeys(raw.market, ['country'], 'market', p);
      country = str(raw.market, 'country', 'market', p) ?? country;
    }
  }

  const thresholds = readThresholds(raw.thresholds, 'thresholds', p, DEFAULT_THRESHOLDS);

  // features: built-ins, then the file's overrides / additions / removals (null)
  const features = new Map<string, FeatureConfig>();
  for (const d of DEFAULT_FEATURES) {
    features.set(d.name, { ...d, legacy: { ...d.legacy }, thresholds: { ...thresholds, maxStalenessMs: Math.max(thresholds.maxStalenessMs, d.intervalMs) } });
  }
  if (raw.features !== undefined) {
    if (!isObj(raw.features)) p.add('features', 'object: feature name -> settings (or null to remove a built-in)');
    else {
      for (const [name, fraw] of Object.entries(raw.features)) {
        const loc = `features.${name}`;
        if (!/^[a-z][a-z0-9_]*$/.test(name)) { p.add(loc, 'a feature name of lower-case letters, digits and _'); continue; }
        if (fraw === null) { features.delete(name); continue; }
        if (!isObj(fraw)) { p.add(loc, 'object (or null to remove the feature)', fraw); continue; }
        const existing = features.get(name);
        const base = existing ?? defaultFeature(name, features.size + 1, thresholds);
        features.set(name, readFeature(name, fraw, base, loc, p, existing === undefined));
      }
    }
  }

  // audit
  const audit = { ...DEFAULT_AUDIT, allow: [] as AuditAllow[] };
  if (raw.audit !== undefined) {
    if (!isObj(raw.audit)) p.add('audit', 'object');
    else {
      const a = raw.audit;
      unknownKeys(a, ['allow', 'marker', 'ignoreCase', 'maxFileBytes', 'maxFiles', 'docs'], 'audit', p);
      if (a.docs !== undefined) {
        if (a.docs === 'mention' || a.docs === 'fail') audit.docs = a.docs;
        else p.add('audit.docs', '"mention" (list apart, never fail) or "fail"', a.docs);
      }
      audit.marker = str(a, 'marker', 'audit', p) ?? audit.marker;
      audit.ignoreCase = bool(a, 'ignoreCase', 'audit', p) ?? audit.ignoreCase;
      audit.maxFileBytes = num(a, 'maxFileBytes', 'audit', p, 1) ?? audit.maxFileBytes;
      audit.maxFiles = num(a, 'maxFiles', 'audit', p, 1) ?? audit.maxFiles;
      if (a.allow !== undefined) {
        if (!Array.isArray(a.allow)) p.add('audit.allow', 'array of {path?, line?, reason}');
        else {
          a.allow.forEach((entry, i) => {
            const loc = `audit.allow[${i}]`;
            if (!isObj(entry)) { p.add(loc, 'object {path?, line?, reason}', entry); return; }
            unknownKeys(entry, ['path', 'line', 'reason'], loc, p);
            const reason = str(entry, 'reason', loc, p);
            const path = str(entry, 'path', loc, p);
            const line = str(entry, 'line', loc, p);
            if (reason === undefined) p.add(`${loc}.reason`, 'a reason (the report says why lines were allowed)');
            if (path === undefined && line === undefined) p.add(loc, 'path and/or line');
            if (line !== undefined) { try { new RegExp(line); } catch { p.add(`${loc}.line`, 'a valid regular expression', line); } }
            if (reason !== undefined) audit.allow.push({ reason, ...(path ? { path } : {}), ...(line ? { line } : {}) });
          });
        }
      }
    }
  }

  const verify = { ...DEFAULT_VERIFY_GATE };
  if (raw.verify !== undefined) {
    if (!isObj(raw.verify)) p.add('verify', 'object with requiredSessions, gate');
    else {
      unknownKeys(raw.verify, ['requiredSessions', 'gate'], 'verify', p);
      const n = num(raw.verify, 'requiredSessions', 'verify', p, 1);
      if (n !== undefined && !Number.isInteger(n)) p.add('verify.requiredSessions', 'a whole number >= 1', n);
      else verify.requiredSessions = n ?? verify.requiredSessions;
      verify.gate = bool(raw.verify, 'gate', 'verify', p) ?? verify.gate;
    }
  }

  // env, then flags
  redisUrl = inputs.redisUrl ?? (env.THOR_CUTOVER_REDIS_URL || undefined) ?? redisUrl;
  prefix = inputs.prefix ?? (env.THOR_CUTOVER_PREFIX || undefined) ?? prefix;
  backend.url = inputs.url ?? (env.THOR_CUTOVER_URL || undefined) ?? backend.url;
  const explicitWs = inputs.wsUrl ?? (env.THOR_CUTOVER_WS_URL || undefined);
  const fileToken = backend.token;
  backend.token = inputs.token ?? (env.THOR_CUTOVER_TOKEN || undefined) ?? backend.token;
  backend.tokenFrom = inputs.token !== undefined ? '--token'
    : env.THOR_CUTOVER_TOKEN ? 'THOR_CUTOVER_TOKEN'
    : fileToken ? `backend.token in ${file?.path ?? 'the config file'}`
    : null;

  // cross-field checks on the merged result
  let parsedBase: URL | null = null;
  try {
    parsedBase = new URL(backend.url);
    if (parsedBase.protocol !== 'http:' && parsedBase.protocol !== 'https:') { p.add('backend.url', 'an http:// or https:// URL', redactUrl(backend.url)); parsedBase = null; }
  } catch { p.add('backend.url', 'an http:// or https:// URL', redactUrl(backend.url)); }
  const wsUrl = explicitWs ?? (backend.wsUrl || (parsedBase ? deriveWsUrl(parsedBase, backend.wsPath) : ''));
  if (wsUrl) {
    try {
      const u = new URL(wsUrl);
      if (u.protocol !== 'ws:' && u.protocol !== 'wss:') p.add('backend.wsUrl', 'a ws:// or wss:// URL', redactUrl(wsUrl));
    } catch { p.add('backend.wsUrl', 'a ws:// or wss:// URL', redactUrl(wsUrl)); }
  }
  backend.wsUrl = wsUrl;
  if (!validRedisUrl(redisUrl)) {
    p.add('redis.url', 'redis://, rediss://, redis+sentinel://h1:26379,h2:26379/master or redis+cluster://h1:6379,h2:6379 URL (memory:// for an in-process store)', redactUrl(redisUrl));
  }

  const list = [...features.values()].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  const seenOrder = new Map<number, string>();
  const seenType = new Map<string, string>();
  for (const f of list) {
    const loc = `features.${f.name}`;
    const clash = seenOrder.get(f.order);
    if (clash) p.add(`${loc}.order`, `an order not already used (${clash} has ${f.order})`, f.order);
    seenOrder.set(f.order, f.name);
    for (const t of f.wsTypes) {
      const owner = seenType.get(t);
      if (owner) p.add(`${loc}.wsTypes`, `WS types not claimed by another feature (${owner} has "${t}")`, t);
      seenType.set(t, f.name);
    }
    if (!f.restPath.startsWith('/')) p.add(`${loc}.restPath`, 'a path starting with /', f.restPath);
    if (f.cadence === 'periodic' && !(f.intervalMs > 0)) p.add(`${loc}.interval`, 'a positive duration for a periodic feature');
    if (f.key.length === 0) p.add(`${loc}.key`, 'at least one key field');
  }
  if (list.length === 0) p.add('features', 'at least one feature');

  if (p.list.length > 0) {
    const where = file ? file.path : 'the command line and environment';
    const message = p.list.length === 1
      ? `invalid config in ${where}: ${p.list[0]}`
      : `invalid config in ${where} (${p.list.length} problems):\n  ${p.list.join('\n  ')}`;
    throw new ConfigError(message, p.list, 'see the config reference in the README; every default comes from PROTOCOL.md');
  }
  return {
    file: file?.path ?? null,
    redis: { url: redisUrl, prefix },
    backend,
    market: { country },
    features: list,
    audit,
    verify,
  };
}

/** Checked here, once: an unparseable URL must be a config error, not a crash inside ioredis. */
function validRedisUrl(url: string): boolean {
  if (/^memory:\/\/./.test(url)) return true;
  if (/^redis\+(sentinel|cluster):\/\//.test(url)) {
    return /^redis\+(sentinel|cluster):\/\/(?:[^@/]*@)?([^/?:,]+(?::\d{1,5})?)(,[^/?:,]+(?::\d{1,5})?)*(?:\/[^?]*)?(?:\?.*)?$/.test(url);
  }
  if (!/^rediss?:\/\//.test(url)) return false;
  try {
    const u = new URL(url);
    return u.hostname !== '' && (u.port === '' || Number(u.port) <= 65535);
  } catch {
    return false;
  }
}

function deriveWsUrl(base: URL, wsPath: string): string {
  const u = new URL(base.href);
  u.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = wsPath;
  u.search = '';
  return u.href;
}

export { redactUrl } from '../redact.js';

/** Unknown feature names get the list and a "did you mean". */
export function findFeature(config: Config, name: string): FeatureConfig {
  const f = config.features.find((x) => x.name === name);
  if (f) return f;
  const names = config.features.map((x) => x.name);
  const guess = closest(name, names);
  throw new UsageError(
    `unknown feature "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}`,
    `features: ${names.join(', ')}`,
    'E_UNKNOWN_FEATURE',
  );
}

function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  return best !== null && (bestD <= Math.max(2, Math.floor(word.length / 3)) || best.includes(word) || word.includes(best)) ? best : null;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
