import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, UsageError } from '../errors.js';
import { CONFIG_FILE_NAME, DEFAULT_THRESHOLDS } from './defaults.js';
import { isObj, Problems, unknownKeys, type Obj } from './read.js';
import { readAudit, readBackend, readFeatures, readMarket, readRedis, readThresholds, readVerify } from './sections.js';
import { redactUrl } from '../redact.js';
import type { BackendConfig, Config, FeatureConfig, OverrideKey, SettingSource } from './types.js';

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
  /** --timeout: one REST call or WS handshake (backend.timeout). */
  timeoutMs?: number;
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

interface Merging {
  redis: { url: string; prefix: string };
  backend: BackendConfig;
  /** An explicit WS URL from a flag or the env (else the file's, or one derived from backend.url). */
  wsUrl: string | undefined;
}

/**
 * The one table from flags and environment variables to config keys. The precedence is
 * applied here, once (flag > env > file > default); commands read the merged Config.
 */
const OVERRIDES: { key: OverrideKey; flag: keyof ConfigInputs; flagName: string; env: string | null; set(m: Merging, v: string): void }[] = [
  { key: 'redis.url', flag: 'redisUrl', flagName: '--redis', env: 'THOR_CUTOVER_REDIS_URL', set: (m, v) => { m.redis.url = v; } },
  { key: 'redis.prefix', flag: 'prefix', flagName: '--prefix', env: 'THOR_CUTOVER_PREFIX', set: (m, v) => { m.redis.prefix = v; } },
  { key: 'backend.url', flag: 'url', flagName: '--url', env: 'THOR_CUTOVER_URL', set: (m, v) => { m.backend.url = v; } },
  { key: 'backend.wsUrl', flag: 'wsUrl', flagName: '--ws-url', env: 'THOR_CUTOVER_WS_URL', set: (m, v) => { m.wsUrl = v; } },
  { key: 'backend.token', flag: 'token', flagName: '--token', env: 'THOR_CUTOVER_TOKEN', set: (m, v) => { m.backend.token = v; } },
  { key: 'backend.timeout', flag: 'timeoutMs', flagName: '--timeout', env: null, set: (m, v) => { m.backend.timeoutMs = Number(v); } },
];

/** Applies the flags and env over the file's values; returns where each setting came from. */
function applyOverrides(inputs: ConfigInputs, m: Merging, fileSet: (key: OverrideKey) => boolean): Record<OverrideKey, SettingSource> {
  const sources = {} as Record<OverrideKey, SettingSource>;
  for (const o of OVERRIDES) {
    const fromFlag = inputs[o.flag];
    const fromEnv = o.env ? inputs.env[o.env] || undefined : undefined;
    if (fromFlag !== undefined) { o.set(m, String(fromFlag)); sources[o.key] = 'flag'; }
    else if (fromEnv !== undefined) { o.set(m, fromEnv); sources[o.key] = 'env'; }
    else sources[o.key] = fileSet(o.key) ? 'file' : 'default';
  }
  return sources;
}

/** Defaults < config file < THOR_CUTOVER_* env < flags; validated once, every problem listed. */
export function loadConfig(inputs: ConfigInputs): Config {
  const { env } = inputs;
  const explicitPath = inputs.configPath ?? (env.THOR_CUTOVER_CONFIG || undefined);
  const file = readFile(resolve(inputs.cwd, explicitPath ?? CONFIG_FILE_NAME), explicitPath !== undefined);
  const raw: Obj = file?.obj ?? {};
  const p = new Problems();
  unknownKeys(raw, TOP_FIELDS, '(top level)', p);

  const m: Merging = { redis: readRedis(raw.redis, p), backend: readBackend(raw.backend, p), wsUrl: undefined };
  const country = readMarket(raw.market, p);
  const thresholds = readThresholds(raw.thresholds, 'thresholds', p, DEFAULT_THRESHOLDS);
  const features = readFeatures(raw.features, thresholds, p);
  const audit = readAudit(raw.audit, p);
  const verify = readVerify(raw.verify, p);
  const inFile = (key: OverrideKey) => {
    const [section, field] = key.split('.') as [string, string];
    const sec = raw[section];
    return isObj(sec) && sec[field] !== undefined;
  };
  const sources = applyOverrides(inputs, m, inFile);
  const { backend } = m;
  const tokenSource = sources['backend.token'];
  backend.tokenFrom = tokenSource === 'flag' ? '--token' : tokenSource === 'env' ? 'THOR_CUTOVER_TOKEN'
    : tokenSource === 'file' ? `backend.token in ${file?.path ?? 'the config file'}` : null;

  checkBackend(m, p);
  if (!validRedisUrl(m.redis.url)) {
    p.add('redis.url', 'redis://, rediss://, redis+sentinel://h1:26379,h2:26379/master or redis+cluster://h1:6379,h2:6379 URL (memory:// for an in-process store)', redactUrl(m.redis.url));
  }
  const list = checkFeatures(features, p);
  if (p.list.length > 0) {
    const where = file ? file.path : 'the command line and environment';
    const message = p.list.length === 1
      ? `invalid config in ${where}: ${p.list[0]}`
      : `invalid config in ${where} (${p.list.length} problems):\n  ${p.list.join('\n  ')}`;
    throw new ConfigError(message, p.list, 'see the config reference in the README; every default comes from PROTOCOL.md');
  }
  return { file: file?.path ?? null, redis: m.redis, backend, market: { country }, features: list, audit, verify, sources };
}

/** The backend URL is http(s); the WS URL (given, or derived from it) is ws(s). */
function checkBackend(m: Merging, p: Problems): void {
  const { backend } = m;
  let parsedBase: URL | null = null;
  try {
    parsedBase = new URL(backend.url);
    if (parsedBase.protocol !== 'http:' && parsedBase.protocol !== 'https:') { p.add('backend.url', 'an http:// or https:// URL', redactUrl(backend.url)); parsedBase = null; }
  } catch { p.add('backend.url', 'an http:// or https:// URL', redactUrl(backend.url)); }
  const wsUrl = m.wsUrl ?? (backend.wsUrl || (parsedBase ? deriveWsUrl(parsedBase, backend.wsPath) : ''));
  if (wsUrl) {
    try {
      const u = new URL(wsUrl);
      if (u.protocol !== 'ws:' && u.protocol !== 'wss:') p.add('backend.wsUrl', 'a ws:// or wss:// URL', redactUrl(wsUrl));
    } catch { p.add('backend.wsUrl', 'a ws:// or wss:// URL', redactUrl(wsUrl)); }
  }
  backend.wsUrl = wsUrl;
}

/** Features in cutover order: orders and WS types unique, paths, intervals and keys that make sense. */
function checkFeatures(features: Map<string, FeatureConfig>, p: Problems): FeatureConfig[] {
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
  return list;
}

/** Checked here, once: an unparseable URL must be a config error, not a crash inside ioredis. */
function validRedisUrl(url: string): boolean {
  // memory://NAME, or memory:// alone: the in-process store (the demo and tests use it).
  if (/^memory:\/\/\S*$/.test(url)) return true;
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
