import type { Unknown } from '../../django/channels.js';

/** What `init` finds and reports: shared by run.ts (the reading), map.ts, check.ts, config-file.ts and render.ts. */

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
