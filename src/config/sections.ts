import { DEFAULT_AUDIT, DEFAULT_BACKEND, DEFAULT_FEATURES, DEFAULT_PREFIX, DEFAULT_REDIS_URL, DEFAULT_VERIFY_GATE } from './defaults.js';
import { bool, duration, isObj, num, str, strList, unknownKeys, type Json, type Obj, type Problems } from './read.js';
import type { AuditAllow, AuditConfig, BackendConfig, Cadence, FeatureConfig, LegacyCode, Thresholds, VerifyGateConfig } from './types.js';

/** Section readers of the config file: each takes its section (or undefined) and returns it merged over the defaults. */

const FEATURE_FIELDS = [
  'order', 'envVar', 'wsTypes', 'restPath', 'restItemsPath', 'restShape', 'cadence', 'interval', 'key',
  'streamKey', 'versionField', 'requiredFields', 'fieldMap', 'ignoreFields', 'tolerance', 'accountScoped',
  'legacy', 'thresholds',
] as const;
const THRESHOLD_FIELDS = ['intervalTolerance', 'maxMissedBeats', 'maxMismatchRate', 'maxSkippedRate', 'maxReconnects', 'minMessages', 'maxStaleness'] as const;
const CADENCES: Cadence[] = ['periodic', 'event', 'on-change'];

export function readThresholds(raw: Json | undefined, loc: string, p: Problems, base: Thresholds): Thresholds {
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

export function readLegacy(raw: Json | undefined, loc: string, p: Problems, base: LegacyCode): LegacyCode {
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

export function defaultFeature(name: string, order: number, thresholds: Thresholds): FeatureConfig {
  return {
    name, order, envVar: `WS_FEATURE_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`, wsTypes: [name],
    restPath: '', restItemsPath: '', restShape: 'object', cadence: 'periodic', intervalMs: 0,
    key: [], streamKey: [], versionField: null, requiredFields: [], fieldMap: {}, ignoreFields: [],
    tolerance: 1e-6, accountScoped: false, legacy: { jobs: [], views: [], routes: [], patterns: [] },
    thresholds: { ...thresholds },
  };
}

export function readFeature(name: string, raw: Obj, base: FeatureConfig, loc: string, p: Problems, isNew: boolean): FeatureConfig {
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

/** `redis`: url and prefix. */
export function readRedis(raw: Json | undefined, p: Problems): { url: string; prefix: string } {
  let redisUrl = DEFAULT_REDIS_URL;
  let prefix = DEFAULT_PREFIX;
  if (raw !== undefined) {
    if (!isObj(raw)) p.add('redis', 'object with url, prefix');
    else {
      unknownKeys(raw, ['url', 'prefix'], 'redis', p);
      redisUrl = str(raw, 'url', 'redis', p) ?? redisUrl;
      prefix = str(raw, 'prefix', 'redis', p) ?? prefix;
    }
  }
  return { url: redisUrl, prefix };
}

/** `backend`: where the backend is and how to talk to it. */
export function readBackend(raw: Json | undefined, p: Problems): BackendConfig {
  const backend = { ...DEFAULT_BACKEND };
  if (raw !== undefined) {
    if (!isObj(raw)) p.add('backend', 'object');
    else {
      const b = raw;
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
  return backend;
}

/** `market`: the country whose sessions count. */
export function readMarket(raw: Json | undefined, p: Problems): string {
  let country = 'USA';
  if (raw !== undefined) {
    if (!isObj(raw)) p.add('market', 'object with country');
    else {
      unknownKeys(raw, ['country'], 'market', p);
      country = str(raw, 'country', 'market', p) ?? country;
    }
  }
  return country;
}

/** `features`: the built-ins, then the file's overrides, additions and removals (null). */
export function readFeatures(raw: Json | undefined, thresholds: Thresholds, p: Problems): Map<string, FeatureConfig> {
  const features = new Map<string, FeatureConfig>();
  for (const d of DEFAULT_FEATURES) {
    features.set(d.name, { ...d, legacy: { ...d.legacy }, thresholds: { ...thresholds, maxStalenessMs: Math.max(thresholds.maxStalenessMs, d.intervalMs) } });
  }
  if (raw !== undefined) {
    if (!isObj(raw)) p.add('features', 'object: feature name -> settings (or null to remove a built-in)');
    else {
      for (const [name, fraw] of Object.entries(raw)) {
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
  return features;
}

/** `audit`: what the leftover audit reads and allows. */
export function readAudit(raw: Json | undefined, p: Problems): AuditConfig {
  const audit = { ...DEFAULT_AUDIT, allow: [] as AuditAllow[] };
  if (raw !== undefined) {
    if (!isObj(raw)) p.add('audit', 'object');
    else {
      const a = raw;
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
  return audit;
}

/** `verify`: the gate enable applies to the next feature. */
export function readVerify(raw: Json | undefined, p: Problems): VerifyGateConfig {
  const verify = { ...DEFAULT_VERIFY_GATE };
  if (raw !== undefined) {
    if (!isObj(raw)) p.add('verify', 'object with requiredSessions, gate');
    else {
      unknownKeys(raw, ['requiredSessions', 'gate'], 'verify', p);
      const n = num(raw, 'requiredSessions', 'verify', p, 1);
      if (n !== undefined && !Number.isInteger(n)) p.add('verify.requiredSessions', 'a whole number >= 1', n);
      else verify.requiredSessions = n ?? verify.requiredSessions;
      verify.gate = bool(raw, 'gate', 'verify', p) ?? verify.gate;
    }
  }
  return verify;
}
