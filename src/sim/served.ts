import type { Config, FeatureConfig } from '../config/types.js';
import type { MarketState } from './market.js';

/** How each protocol feature is produced from the market state. */
export interface Served {
  cfg: FeatureConfig;
  type: string;
  scoped: boolean;
  /** The job runs in this many slices per interval (a big book's bars are spread over it). */
  slices: number;
  /** One job run over slice `i`: move that part of the state (what REST serves from now on); its WS payloads. */
  step(i: number): readonly object[];
  /** The whole current state as WS payloads (one per message). */
  items(): readonly object[];
  /** The current state as the REST payload, before any wrapping. */
  rest(): unknown;
  slow?: NodeJS.Timeout;
}

const SLICE_SYMBOLS = 50;
const MAX_SLICES = 10;

/** The configured features the simulator knows how to produce, each bound to the market state. */
export function servedFeatures(config: Config, state: MarketState, symbols: readonly string[], log: (line: string) => void): Served[] {
  const byName = new Map(config.features.map((f) => [f.name, f]));
  const served: Served[] = [];
  const serve = (name: string, s: Omit<Served, 'cfg' | 'type' | 'scoped' | 'slices'> & { slices?: number }) => {
    const cfg = byName.get(name);
    if (!cfg) return;
    served.push({ cfg, type: cfg.wsTypes[0] ?? name, scoped: cfg.accountScoped, slices: 1, ...s });
  };
  serve('account_balance', { step: () => [state.stepAccount()], items: () => [state.account], rest: () => state.account });
  serve('positions', { step: () => [state.stepPositions()], items: () => [state.positions], rest: () => state.positions });
  // A 500-symbol book sent in one burst would hold the event loop for the whole fan-out
  // (pings, REST and other sockets wait); slices of ~50 symbols spread it over the interval.
  // Each symbol still gets exactly one bar per interval.
  const slices = Math.min(MAX_SLICES, Math.ceil(symbols.length / SLICE_SYMBOLS));
  const sliceSize = Math.ceil(symbols.length / slices);
  serve('intraday', {
    slices,
    step: (i) => state.stepBars(i * sliceSize, Math.min(symbols.length, (i + 1) * sliceSize)),
    items: () => state.bars,
    rest: () => state.bars,
  });
  serve('global_market', { step: () => { state.stepMarkets(); return state.marketStatus; }, items: () => state.marketStatus, rest: () => state.marketStatus });
  for (const f of config.features) {
    if (!served.some((s) => s.cfg === f)) log(`feature ${f.name} is not one the simulator knows how to produce: not served`);
  }
  return served;
}
