import type { FeatureConfig } from '../config/types.js';
import { formatTime } from '../output/units.js';
import type { FeatureFlag } from '../store/effective.js';
import type { FlagStore } from '../store/types.js';
import { FlagWatcher, type FlagsView, type WatchCause } from '../store/watch.js';
import type { Engine } from './engine.js';

/**
 * Flags that change under a run (PROTOCOL.md section 3, "Flags that vanish"). Two views of
 * each watched feature's flag, kept as timelines: the store's (events, a re-read on a slow
 * poll and on every reconnect: a store restarted empty sends no event) and the backend's
 * (the flags its heartbeat carries). A verified session needs its feature in the expected
 * state in both, from its open to its close.
 */

export interface FlagChange {
  feature: string;
  at: number;
  /** null: the first reading of that source. */
  from: boolean | null;
  to: boolean;
  source: 'redis' | 'backend';
  /** Where the change came from, in words: "in Redis by alice: rollback (rev 7)". */
  detail: string;
}

export interface FlagFollowerOptions {
  features: readonly FeatureConfig[];
  /** The effective flags read at the start of the run. */
  initial: readonly FeatureFlag[];
  store: FlagStore | null;
  env: NodeJS.ProcessEnv;
  /** Re-read the store this often (real ms). */
  pollMs?: number;
  log?: (line: string) => void;
  /** Each change, as it is seen. */
  onChange?: (c: FlagChange) => void;
}

export class FlagFollower {
  /** Every change seen, in order. */
  readonly changes: FlagChange[] = [];
  private readonly timelines = new Map<string, { redis: FlagChange[]; backend: FlagChange[] }>();
  private watcher: FlagWatcher | null = null;
  private readonly names: Set<string>;
  private listener: ((e: { at: number; flags: Record<string, boolean> }) => void) | null = null;
  private engine: Engine | null = null;

  constructor(private readonly o: FlagFollowerOptions) {
    this.names = new Set(o.features.map((f) => f.name));
    for (const f of o.initial) {
      if (!this.names.has(f.feature)) continue;
      this.timelines.set(f.feature, {
        redis: [{ feature: f.feature, at: -Infinity, from: null, to: f.enabled, source: 'redis', detail: `${f.enabled ? 'on' : 'off'} at the start (from ${f.source})` }],
        backend: [],
      });
    }
  }

  /** Follow the store and the engine's heartbeat flags until stop(). */
  async start(engine: Engine): Promise<void> {
    this.engine = engine;
    this.listener = (e) => {
      for (const [feature, enabled] of Object.entries(e.flags)) {
        const t = this.timelines.get(feature);
        if (!t) continue;
        const last = t.backend[t.backend.length - 1];
        if (last && last.to === enabled) continue;
        this.push(t.backend, {
          feature, at: e.at, from: last?.to ?? null, to: enabled, source: 'backend',
          detail: `the backend's heartbeat reports ${feature} ${enabled ? 'on' : 'off'}${last ? '' : ' (first heartbeat)'}`,
        });
      }
    };
    engine.on('backend-flags', this.listener);
    if (!this.o.store) return;
    this.watcher = new FlagWatcher(this.o.store, this.o.features, this.o.env, (view, cause, previous) => this.onStore(view, cause, previous), this.o.log ?? (() => {}), this.o.pollMs);
    await this.watcher.start();
  }

  async stop(): Promise<void> {
    if (this.listener) this.engine?.off('backend-flags', this.listener);
    this.listener = null;
    await this.watcher?.stop();
    this.watcher = null;
  }

  /** The backend's readings of the feature's flag, in order. */
  backendView(feature: string): readonly FlagChange[] {
    return this.timelines.get(feature)?.backend ?? [];
  }

  /** A new state on one timeline; a first reading is a state, not a change. */
  private push(line: FlagChange[], c: FlagChange): void {
    line.push(c);
    if (c.from === null) return;
    this.changes.push(c);
    this.o.onChange?.(c);
  }

  private onStore(view: FlagsView, cause: WatchCause, previous: FlagsView): void {
    const at = Date.now();
    for (const feature of this.names) {
      const t = this.timelines.get(feature);
      const to = view.flags[feature];
      if (!t || to === undefined) continue;
      const last = t.redis[t.redis.length - 1]!;
      if (last.to === to) continue;
      let detail: string;
      if (cause.kind === 'event' && cause.event.feature === feature) {
        const e = cause.event;
        detail = `turned ${to ? 'on' : 'off'} in Redis by ${e.actor}${e.reason ? `: "${e.reason}"` : ''} (rev ${e.rev})`;
      } else if (previous.source[feature] === 'redis' && view.source[feature] !== 'redis') {
        const cfg = this.o.features.find((f) => f.name === feature)!;
        detail = `the flags hash no longer has ${feature} (the store was restarted empty, flushed, or evicted the key?): it falls back to ${view.source[feature] === 'env' ? cfg.envVar : 'off'}, with no event`;
      } else {
        detail = `turned ${to ? 'on' : 'off'} in Redis (seen on a re-read${cause.kind === 'reconnect' ? ' after the store reconnected' : ''}, with no event)`;
      }
      this.push(t.redis, { feature, at, from: last.to, to, source: 'redis', detail });
    }
  }

  /**
   * The first reading against `expected` for the feature in [from, to]: the state at `from`
   * in either view, or a change inside the span. null when the flag held throughout.
   * The backend's view counts from the first heartbeat that agreed: a backend that never
   * reported the expected state does not read this store at all (doctor's question, not a
   * change under the run; see `backendNeverAgreed`).
   */
  breach(feature: string, expected: boolean, from: number, to: number): FlagChange | null {
    const t = this.timelines.get(feature);
    if (!t) return null;
    let first: FlagChange | null = null;
    const agreed = t.backend.findIndex((c) => c.to === expected);
    const backend = agreed < 0 ? [] : t.backend.slice(agreed);
    for (const line of [t.redis, backend]) {
      let state: FlagChange | undefined;
      for (const c of line) {
        if (c.at <= from) { state = c; continue; }
        if (c.at > to) break;
        if (state && state.to !== expected) break;
        state = c;
        if (c.to !== expected) break;
      }
      if (state && state.to !== expected && (!first || Math.max(state.at, from) < Math.max(first.at, from))) first = state;
    }
    return first;
  }
}

/** The backend's heartbeats report the feature, and never in the expected state. */
export function backendNeverAgreed(f: FlagFollower, feature: string, expected: boolean): FlagChange | null {
  return f.backendView(feature).find((c) => c.to === expected) ? null : f.backendView(feature)[0] ?? null;
}

/** "account_balance turned off at 14:32:05 UTC: the flags hash no longer has ..." */
export function describeFlagChange(c: FlagChange): string {
  const when = Number.isFinite(c.at) ? ` at ${formatTime(c.at)}` : '';
  return `${c.feature} ${c.to ? 'on' : 'off'}${when}: ${c.detail}`;
}
