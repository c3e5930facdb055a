import type { AuditConfig, BackendConfig, FeatureConfig, Thresholds, VerifyGateConfig } from './types.js';

/** PROTOCOL.md section 2: the braces are a Redis Cluster hash tag (all keys, one slot). */
export const DEFAULT_PREFIX = '{thor:cutover}';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const CONFIG_FILE_NAME = 'thor-cutover.config.json';

export const DEFAULT_THRESHOLDS: Thresholds = {
  intervalTolerance: 0.2,
  maxMissedBeats: 0,
  maxMismatchRate: 0,
  // channels_redis drops group messages when a consumer's channel is full: a healthy
  // backend under load loses a fraction of a percent. More than 1% is a channel layer
  // that is too small or a consumer that cannot keep up.
  maxSkippedRate: 0.01,
  maxReconnects: 0,
  minMessages: 3,
  maxStalenessMs: 10_000,
};

/** The runbook's "1-2 full market sessions": one is the least a gate may ask for. */
export const DEFAULT_VERIFY_GATE: VerifyGateConfig = { requiredSessions: 1, gate: true };

export const DEFAULT_BACKEND: BackendConfig = {
  url: 'http://127.0.0.1:8000',
  wsUrl: '',
  wsPath: '/ws/',
  token: null,
  tokenFrom: null,
  tokenIn: 'both',
  flagsPath: '/api/cutover/flags/',
  healthPath: '/healthz',
  timeoutMs: 5_000,
  clientDriven: [],
};

export const DEFAULT_AUDIT: AuditConfig = {
  allow: [],
  marker: 'thor-cutover: allow',
  ignoreCase: true,
  maxFileBytes: 2 * 1024 * 1024,
  maxFiles: 200_000,
  docs: 'mention',
};

type FeatureDefaults = Omit<FeatureConfig, 'thresholds'>;

/** PROTOCOL.md section 1, in the runbook's cutover order. */
export const DEFAULT_FEATURES: FeatureDefaults[] = [
  {
    name: 'account_balance',
    order: 1,
    envVar: 'WS_FEATURE_ACCOUNT_BALANCE',
    wsTypes: ['account_balance'],
    restPath: '/api/account/balance/',
    restItemsPath: '',
    restShape: 'object',
    cadence: 'periodic',
    intervalMs: 10_000,
    key: ['account_id'],
    streamKey: ['account_id'],
    versionField: 'timestamp',
    requiredFields: ['account_id', 'cash', 'portfolio_value', 'buying_power', 'timestamp'],
    fieldMap: {},
    ignoreFields: [],
    tolerance: 1e-6,
    accountScoped: true,
    legacy: {
      jobs: ['AccountBalanceJob'],
      views: ['account_balance'],
      routes: ['api/account/balance/'],
      patterns: [],
    },
  },
  {
    name: 'positions',
    order: 2,
    envVar: 'WS_FEATURE_POSITIONS',
    wsTypes: ['positions'],
    restPath: '/api/positions/',
    restItemsPath: '',
    restShape: 'object',
    cadence: 'periodic',
    intervalMs: 10_000,
    key: ['account_id'],
    streamKey: ['account_id'],
    versionField: 'timestamp',
    requiredFields: ['account_id', 'positions', 'timestamp'],
    fieldMap: {},
    ignoreFields: [],
    tolerance: 1e-6,
    accountScoped: true,
    legacy: {
      jobs: ['PositionsJob'],
      views: ['positions'],
      routes: ['api/positions/'],
      patterns: [],
    },
  },
  {
    name: 'intraday',
    order: 3,
    envVar: 'WS_FEATURE_INTRADAY',
    wsTypes: ['intraday_bar'],
    restPath: '/api/intraday/bars/',
    restItemsPath: '',
    restShape: 'array',
    cadence: 'periodic',
    intervalMs: 1_000,
    key: ['symbol', 'timestamp'],
    streamKey: ['symbol'],
    // The forming bar changes under the same key every second: matched by the grace window.
    versionField: null,
    requiredFields: ['symbol', 'timestamp', 'open', 'high', 'low', 'close', 'volume'],
    fieldMap: {},
    ignoreFields: [],
    tolerance: 1e-6,
    accountScoped: false,
    legacy: {
      jobs: ['IntradayJob'],
      views: ['intraday_bars'],
      routes: ['api/intraday/bars/'],
      patterns: [],
    },
  },
  {
    name: 'global_market',
    order: 4,
    envVar: 'WS_FEATURE_GLOBAL_MARKET',
    wsTypes: ['market_status'],
    restPath: '/api/market/status/',
    restItemsPath: '',
    restShape: 'array',
    cadence: 'periodic',
    intervalMs: 10_000,
    key: ['market_id'],
    streamKey: ['market_id'],
    versionField: null,
    requiredFields: ['market_id', 'country', 'status', 'seconds_to_next_event'],
    fieldMap: {},
    // A countdown: it differs between any two reads a second apart, by design.
    ignoreFields: ['seconds_to_next_event'],
    tolerance: 1e-6,
    accountScoped: false,
    legacy: {
      jobs: ['MarketMetricsJob'],
      views: ['market_status'],
      routes: ['api/market/status/'],
      patterns: [],
    },
  },
];
