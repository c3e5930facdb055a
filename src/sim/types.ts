import type { Config } from '../config/types.js';
import type { FlagStore } from '../store/types.js';
import type { FlagsView } from '../store/watch.js';
import type { FaultSpec } from './faults.js';

/** The simulator's options, numbers and handle (server.ts starts one). */

export interface SimulatorOptions {
  config: Config;
  host?: string;
  /** 0 = a free port (tests). */
  port?: number;
  /** Divides every interval, session length and fault period. */
  speed?: number;
  seed?: number;
  symbols?: string[];
  /** Rehearsal (un-sped) length of an OPEN session of each market. */
  sessionOpenMs?: number;
  sessionClosedMs?: number;
  faults?: FaultSpec[];
  /** Flags source; an in-process store when absent. The caller keeps ownership (close() leaves it open). */
  store?: FlagStore;
  /** Account-scoped WS features only reach sockets that presented it; account REST endpoints answer 401 without it. */
  token?: string | null;
  /** Where env-var flags are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface SimulatorStats {
  clients: number;
  /** Messages built (serialized once each), by WS type. */
  messages: Record<string, number>;
  /** Frames written to sockets (a message to N clients counts N). */
  frames: number;
  /** Clients terminated for not reading (send buffer over the limit). */
  slowClientsDropped: number;
  /** WebSocket handshakes asked for (accepted or not): how hard clients retry. */
  upgrades: number;
  tick: number;
}

export interface Simulator {
  url: string;
  wsUrl: string;
  port: number;
  store: FlagStore;
  /** The seed in use (given or drawn), so a run can be repeated. */
  seed: number;
  setFaults(faults: FaultSpec[]): void;
  faults(): FaultSpec[];
  /** The flags as this backend currently sees them. */
  flags(): FlagsView;
  stats(): SimulatorStats;
  close(): Promise<void>;
}
