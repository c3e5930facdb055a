/**
 * The resolved configuration every command works from. Built from the defaults of
 * PROTOCOL.md, then the config file, then THOR_CUTOVER_* env vars, then flags; validated once.
 */

/**
 * How a feature's WS messages are expected to arrive.
 * - periodic: every `intervalMs` (per stream key when the feature has one);
 * - event: pushed when something happens; no interval to keep, only staleness;
 * - on-change: pushed when the value changes; also checked for staleness.
 */
export type Cadence = 'periodic' | 'event' | 'on-change';

export interface LegacyCode {
  /** Job classes that run the REST timer (kind `timer`), also found in `registry.register(...)`. */
  jobs: string[];
  /** View functions that serve the REST endpoint (kind `view`). */
  views: string[];
  /** URL routes, as they appear in urls.py (kind `route`). */
  routes: string[];
  /** Extra regular expressions a user adds (kind `pattern`). */
  patterns: string[];
}

export interface Thresholds {
  /** p95 inter-arrival may exceed the interval by this fraction (0.2 -> 12 s for 10 s). */
  intervalTolerance: number;
  /** Missed beats (gaps over 2x) allowed per session. */
  maxMissedBeats: number;
  /** Mismatched REST polls / compared REST polls. */
  maxMismatchRate: number;
  /**
   * Skipped states (REST showed a state WS never carried, between two it did) / REST items
   * decided. A run fails only when its count is more than this rate can explain.
   */
  maxSkippedRate: number;
  /** WS reconnects allowed per session. */
  maxReconnects: number;
  /** Fewer messages than this in a session makes the verdict inconclusive. */
  minMessages: number;
  /** Event-driven and on-change features: how long a REST change may take to show on WS. */
  maxStalenessMs: number;
}

export interface FeatureConfig {
  name: string;
  /** Position in the cutover sequence, 1-based; enable enforces it. */
  order: number;
  envVar: string;
  /** WS message types that carry this feature; the first is the canonical one. */
  wsTypes: string[];
  restPath: string;
  /** Where the payload sits in the REST body (dot path such as `results`); empty = the body. */
  restItemsPath: string;
  /** `object`: the body is one item; `array`: a list of items. */
  restShape: 'object' | 'array';
  cadence: Cadence;
  /** periodic: the expected interval; event/on-change: used for polling and staleness scale. */
  intervalMs: number;
  /** Fields that identify one item (payload matching). */
  key: string[];
  /** Fields that identify one stream for interval analysis (intraday: per symbol). */
  streamKey: string[];
  /** A field whose value names the state version (WS and REST compared at the same version). */
  versionField: string | null;
  requiredFields: string[];
  /** WS field name -> REST field name, applied to WS payloads before comparing. */
  fieldMap: Record<string, string>;
  /** Fields never compared (dot paths). */
  ignoreFields: string[];
  /** Absolute tolerance when comparing numbers (and numeric strings). */
  tolerance: number;
  /** Account-scoped data: must not reach a socket without the token. */
  accountScoped: boolean;
  legacy: LegacyCode;
  thresholds: Thresholds;
}

export interface AuditAllow {
  /** A path glob (`**`, `*`), relative to the audited tree. */
  path?: string;
  /** A regular expression matched against the line. */
  line?: string;
  reason: string;
}

export interface AuditConfig {
  allow: AuditAllow[];
  /** A comment containing this marker allows its own line. */
  marker: string;
  ignoreCase: boolean;
  maxFileBytes: number;
  maxFiles: number;
  /**
   * Findings in documentation (.md, .rst, .txt, .adoc, docs/): `mention` lists them apart and
   * never fails on them; `fail` treats them as any other finding (same as --docs).
   */
  docs: 'mention' | 'fail';
}

export interface BackendConfig {
  /** Base URL of the REST API, e.g. http://127.0.0.1:8000 */
  url: string;
  /** WS URL; derived from `url` + wsPath when not set. */
  wsUrl: string;
  wsPath: string;
  token: string | null;
  /** Where the token was read from, for messages: "--token", "THOR_CUTOVER_TOKEN", "backend.token in FILE"; null without one. */
  tokenFrom: string | null;
  /** Where the token goes on the WS handshake. REST always sends the bearer header. */
  tokenIn: 'query' | 'header' | 'both';
  flagsPath: string;
  healthPath: string;
  /** Connect / request timeout for one HTTP call or WS handshake. */
  timeoutMs: number;
  /** Consumer handler types the client sends (not broadcast): `init --check` does not ask who sends them. */
  clientDriven: string[];
}

export interface RedisConfig {
  url: string;
  prefix: string;
}

/** What `enable` requires of the previous feature's verify records (the verify gate). */
export interface VerifyGateConfig {
  /** Complete market sessions (or windows) a passing verify must cover. */
  requiredSessions: number;
  /** false: enable ignores verify records; the cutover order still applies. */
  gate: boolean;
}

export interface Config {
  /** Absolute path of the config file, or null when only defaults/env/flags applied. */
  file: string | null;
  redis: RedisConfig;
  backend: BackendConfig;
  /** The market whose OPEN/CLOSED transitions make market sessions. */
  market: { country: string };
  /** Features in cutover order. */
  features: FeatureConfig[];
  audit: AuditConfig;
  verify: VerifyGateConfig;
  /** Where the settings flags and env can give came from (flag, env, file or default). */
  sources: Record<OverrideKey, SettingSource>;
}

/** A setting the command line or the environment can give, over the file's. */
export type OverrideKey = 'redis.url' | 'redis.prefix' | 'backend.url' | 'backend.wsUrl' | 'backend.token' | 'backend.timeout';

/** Where a setting came from: the demo asks whether the user named a Redis. */
export type SettingSource = 'flag' | 'env' | 'file' | 'default';
