/** The analysis engine shared by parity, verify and doctor. Nothing here prints. */
export { createEngine, Engine, type EngineOptions } from './engine.js';
export { describeMismatch, judgeScope, binomialTail, tooManySkipped, missingKeyNames, missedBeats, closeDiagnosis } from './findings.js';
export { diagnoseCloses, explainClose, handlerName, type CloseDiagnosis, type CloseRecord } from './closes.js';
export { WsClient, AUTH_CLOSE_CODES, backoffDelay, redactToken, wsConnectUrl, type WsClientOptions, type WsClientStats, type WsMessage, type WsState } from './ws-client.js';
export { RestClient, RestPoller, classifyStatus, extractItems, type RestResponse, type RestOutcome, type StatusClass, type PollResult } from './rest-poller.js';
export { FeatureMatcher, compareFlat, flatten, valuesEqual, keyOf, type MismatchRecord, type FieldDiff } from './match.js';
export { NoiseTracker, type VolatileField } from './noise.js';
export { MarketSessions, FixedSessions, type SessionInfo } from './sessions.js';
export { classifyInterval, intervalLimits, IntervalStats, Quantiles, type IntervalSummary, type QuantileSummary } from './stats.js';
export type * from './types.js';
