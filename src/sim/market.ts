import { gaussian, streamFor, type Random } from './random.js';

/**
 * The one moving market state behind both the REST endpoints and the WS stream. Each
 * feature's job (on its own timer) steps its part and the server both stores and
 * broadcasts the result, so a REST read and the WS message of the same state are the same
 * object with the same `timestamp`.
 */

export interface AccountBalance {
  account_id: string;
  cash: number;
  portfolio_value: number;
  buying_power: number;
  timestamp: string;
}

export interface Position {
  symbol: string;
  quantity: number;
  entry_price: number;
  current_price: number;
  pnl: number;
}

export interface PositionsPayload {
  account_id: string;
  positions: Position[];
  timestamp: string;
}

export interface Bar {
  symbol: string;
  /** The bar's minute (ISO 8601): with `symbol`, the key of the bar. */
  timestamp: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export type MarketStatusValue = 'OPEN' | 'CLOSED';

export interface MarketStatus {
  market_id: number;
  country: string;
  status: MarketStatusValue;
  /** Rehearsal seconds until this market's next OPEN/CLOSED transition. */
  seconds_to_next_event: number;
  /** How many sessions this market has opened since the simulator started. */
  session: number;
  timestamp: string;
}

export const DEFAULT_SYMBOLS = ['ES', 'NQ', 'YM', 'RTY'];
export const ACCOUNT_ID = 'SIM-0001';

const BASE_PRICES: Record<string, number> = { ES: 5000, NQ: 18000, YM: 39000, RTY: 2000 };
const MARKETS = [
  { market_id: 1, country: 'USA' },
  { market_id: 2, country: 'Japan' },
];
const MINUTE = 60_000;

/**
 * Rehearsal time: starts at the wall clock and runs `speed` times faster, so at --speed 10
 * a 1-minute bar forms in 6 real seconds and every timestamp stays consistent with it.
 */
export class RehearsalClock {
  private readonly startWall = Date.now();
  private readonly startPerf = performance.now();
  constructor(readonly speed: number) {}

  now(): number {
    return this.startWall + (performance.now() - this.startPerf) * this.speed;
  }

  /** Rehearsal ms -> real ms. */
  real(rehearsalMs: number): number {
    return rehearsalMs / this.speed;
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;

interface SymbolState {
  rnd: Random;
  price: number;
  bar: Bar;
}

interface MarketPhase {
  market_id: number;
  country: string;
  /** Offset into the OPEN/CLOSED cycle, so the markets do not open together. */
  phaseMs: number;
  status: MarketStatusValue;
  session: number;
}

export interface MarketOptions {
  seed: number;
  symbols: string[];
  sessionOpenMs: number;
  sessionClosedMs: number;
  clock: RehearsalClock;
}

export class MarketState {
  readonly symbols: string[];
  private readonly clock: RehearsalClock;
  private readonly bySymbol = new Map<string, SymbolState>();
  private readonly accountRnd: Random;
  private readonly held: { symbol: string; quantity: number; entry_price: number }[];
  private readonly markets: MarketPhase[];
  private readonly startMs: number;
  private readonly cycleMs: number;
  private cashValue = 250_000;
  private lastStamp = { account: 0, positions: 0, market: 0 };

  account!: AccountBalance;
  positions!: PositionsPayload;
  marketStatus!: MarketStatus[];
  /** Latest bar of every symbol, in --symbols order (the REST body). */
  bars: Bar[] = [];

  constructor(private readonly opts: MarketOptions) {
    this.clock = opts.clock;
    this.symbols = opts.symbols;
    this.accountRnd = streamFor(opts.seed, 'account');
    const now = this.clock.now();
    this.startMs = now;
    this.cycleMs = opts.sessionOpenMs + opts.sessionClosedMs;
    for (const symbol of opts.symbols) {
      const rnd = streamFor(opts.seed, `symbol:${symbol}`);
      const price = BASE_PRICES[symbol] ?? round2(20 + rnd() * 480);
      this.bySymbol.set(symbol, { rnd, price, bar: this.newBar(symbol, now, price) });
    }
    const posRnd = streamFor(opts.seed, 'positions');
    this.held = opts.symbols.slice(0, 3).map((symbol) => {
      const price = this.bySymbol.get(symbol)!.price;
      return { symbol, quantity: 1 + Math.floor(posRnd() * 10), entry_price: round2(price * (1 + (posRnd() - 0.5) * 0.01)) };
    });
    // Market 0 starts at the beginning of a CLOSED period, so its first session is whole;
    // the others are spread over the cycle.
    this.markets = MARKETS.map((m, i) => ({ ...m, phaseMs: (this.cycleMs * i) / MARKETS.length, status: 'CLOSED', session: 0 }));
    for (const m of this.markets) {
      m.status = this.phaseAt(m, now).status;
      if (m.status === 'OPEN') m.session = 1;
    }
    this.bars = opts.symbols.map((s) => this.bySymbol.get(s)!.bar);
    this.stepPositions();
    this.stepAccount();
    this.stepMarkets();
  }

  /** A strictly increasing rehearsal time per feature, so each state has a timestamp of its own. */
  private stamp(which: keyof MarketState['lastStamp']): { ms: number; iso: string } {
    let ms = Math.floor(this.clock.now());
    if (ms <= this.lastStamp[which]) ms = this.lastStamp[which] + 1;
    this.lastStamp[which] = ms;
    return { ms, iso: new Date(ms).toISOString() };
  }

  private newBar(symbol: string, nowMs: number, price: number): Bar {
    const minute = Math.floor(nowMs / MINUTE) * MINUTE;
    return { symbol, timestamp: new Date(minute).toISOString(), open: price, high: price, low: price, close: price, volume: 0 };
  }

  /**
   * One intraday job run over symbols [from, to): each price moves; the current minute's bar
   * grows or a new one starts. Returns the bars of that range.
   */
  stepBars(from = 0, to = this.symbols.length): Bar[] {
    const now = this.clock.now();
    const minuteIso = new Date(Math.floor(now / MINUTE) * MINUTE).toISOString();
    const out = this.bars;
    for (let i = from; i < to; i++) {
      const s = this.bySymbol.get(this.symbols[i]!)!;
      s.price = Math.max(0.25, round2(s.price * (1 + 0.0004 * gaussian(s.rnd))));
      const volume = 1 + Math.floor(s.rnd() * 50);
      const prev = s.bar;
      // A new object per step: a bar already handed to a REST response or a fault copy
      // must not change under it.
      s.bar = prev.timestamp === minuteIso
        ? { symbol: prev.symbol, timestamp: prev.timestamp, open: prev.open, high: Math.max(prev.high, s.price), low: Math.min(prev.low, s.price), close: s.price, volume: prev.volume + volume }
        : { symbol: prev.symbol, timestamp: minuteIso, open: prev.close, high: Math.max(prev.close, s.price), low: Math.min(prev.close, s.price), close: s.price, volume };
      out[i] = s.bar;
    }
    return from === 0 && to === this.symbols.length ? out : out.slice(from, to);
  }

  priceOf(symbol: string): number {
    return this.bySymbol.get(symbol)?.price ?? 0;
  }

  stepPositions(): PositionsPayload {
    const { iso } = this.stamp('positions');
    this.positions = {
      account_id: ACCOUNT_ID,
      positions: this.held.map((h) => {
        const current = this.priceOf(h.symbol);
        return { symbol: h.symbol, quantity: h.quantity, entry_price: h.entry_price, current_price: current, pnl: round2((current - h.entry_price) * h.quantity) };
      }),
      timestamp: iso,
    };
    return this.positions;
  }

  stepAccount(): AccountBalance {
    const { iso } = this.stamp('account');
    // Fees, interest, fills: the cash moves a little every run.
    this.cashValue = round2(Math.max(0, this.cashValue + (this.accountRnd() - 0.5) * 40));
    const holdings = this.held.reduce((sum, h) => sum + h.quantity * this.priceOf(h.symbol), 0);
    this.account = {
      account_id: ACCOUNT_ID,
      cash: this.cashValue,
      portfolio_value: round2(this.cashValue + holdings),
      buying_power: round2(this.cashValue * 4),
      timestamp: iso,
    };
    return this.account;
  }

  private phaseAt(m: MarketPhase, nowMs: number): { status: MarketStatusValue; msToNext: number } {
    const closed = this.opts.sessionClosedMs;
    const p = (((nowMs - this.startMs + m.phaseMs) % this.cycleMs) + this.cycleMs) % this.cycleMs;
    return p < closed ? { status: 'CLOSED', msToNext: closed - p } : { status: 'OPEN', msToNext: this.cycleMs - p };
  }

  /**
   * Recompute every market's status. Returns the markets whose status changed since the
   * last call (the transitions to broadcast at once).
   */
  stepMarkets(onlyOnTransition = false): MarketStatus[] {
    // The transition timer may fire a hair early: then nothing moved, and the state (and its
    // timestamp) must stay as WS last carried it, or REST would show a version WS never sent.
    if (onlyOnTransition && this.markets.every((m) => this.phaseAt(m, this.clock.now()).status === m.status)) return [];
    const { ms, iso } = this.stamp('market');
    const changed: MarketStatus[] = [];
    this.marketStatus = this.markets.map((m) => {
      const { status, msToNext } = this.phaseAt(m, ms);
      const moved = status !== m.status;
      if (moved && status === 'OPEN') m.session += 1;
      m.status = status;
      const item: MarketStatus = {
        market_id: m.market_id, country: m.country, status, seconds_to_next_event: Math.ceil(msToNext / 1000), session: m.session, timestamp: iso,
      };
      if (moved) changed.push(item);
      return item;
    });
    return changed;
  }

  /** Rehearsal ms until the next transition of any market. */
  msToNextTransition(): number {
    const now = this.clock.now();
    return Math.min(...this.markets.map((m) => this.phaseAt(m, now).msToNext));
  }
}
