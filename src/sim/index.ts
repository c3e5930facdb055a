/** The rehearsal backend: PROTOCOL.md sections 1-5 on one port, with fault injection. */
export { startSimulator, DEFAULT_SESSION_OPEN_MS, DEFAULT_SESSION_CLOSED_MS } from './server.js';
export type { Simulator, SimulatorOptions, SimulatorStats } from './types.js';
export { parseFault, formatFault, FAULT_HELP } from './faults.js';
export type { FaultSpec, FaultKind } from './faults.js';
export type { FlagsView } from '../store/watch.js';
export { DEFAULT_SYMBOLS, ACCOUNT_ID } from './market.js';
export type { AccountBalance, PositionsPayload, Position, Bar, MarketStatus } from './market.js';
