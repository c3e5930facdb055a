import type { FeatureConfig } from '../config/types.js';
import { cutoverMode, resolveFlags, type FlagSource, type Mode } from './effective.js';
import type { FlagEvent, FlagStore, Subscription } from './types.js';

/** The flags as this backend sees them: what the heartbeat and GET /api/cutover/flags/ show. */
export interface FlagsView {
  flags: Record<string, boolean>;
  rev: number;
  source: Record<string, FlagSource>;
  mode: Mode;
  store: string;
}

/**
 * Pub/sub is fire-and-forget: a message sent while the subscriber reconnects is lost. The
 * poll catches that case; the event path is what makes a change show within a second.
 */
const POLL_MS = 2_000;

/** What made the watcher read the flags again. */
export type WatchCause =
  | { kind: 'event'; event: FlagEvent }
  | { kind: 'poll' }
  | { kind: 'reconnect' }
  | { kind: 'start' };

/**
 * Reads the flags the way a backend does (PROTOCOL.md section 2): the effective value from
 * the store's hash and the env, re-read on every event and on a slow poll. The simulator
 * follows the store with it, and so do parity and verify (a flag that changes under a run).
 */
export class FlagWatcher {
  private current: FlagsView;
  private sub: Subscription | null = null;
  private poll: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private failing = false;
  private pendingCause: WatchCause | null = null;

  constructor(
    private readonly store: FlagStore,
    private readonly features: readonly FeatureConfig[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly onChange: (view: FlagsView, cause: WatchCause, previous: FlagsView) => void,
    private readonly log: (line: string) => void,
    private readonly pollMs = POLL_MS,
  ) {
    this.current = this.resolve({}, 0);
  }

  view(): FlagsView {
    return this.current;
  }

  async start(): Promise<void> {
    await this.refresh({ kind: 'start' });
    await this.subscribe();
    this.poll = setInterval(() => {
      if (!this.sub) void this.subscribe();
      void this.refresh({ kind: 'poll' });
    }, this.pollMs);
    this.poll.unref();
  }

  private async subscribe(): Promise<void> {
    try {
      this.sub = await this.store.subscribe(
        (event) => void this.refresh({ kind: 'event', event }),
        (state, detail) => {
          if (state === 'reconnecting') this.log(`flag store: reconnecting${detail ? ` (${detail})` : ''}`);
          // Events sent while we were away are gone: read the hash again.
          if (state === 'connected') { this.log('flag store: reconnected'); void this.refresh({ kind: 'reconnect' }); }
        },
      );
      if (this.stopped) await this.sub.close();
    } catch (err) {
      this.log(`flag store: cannot subscribe to flag events (${(err as Error).message}); polling every ${POLL_MS / 1000}s`);
    }
  }

  private resolve(raw: Record<string, string>, rev: number): FlagsView {
    const resolved = resolveFlags(this.features, raw, this.env);
    return {
      flags: Object.fromEntries(resolved.map((f) => [f.feature, f.enabled])),
      source: Object.fromEntries(resolved.map((f) => [f.feature, f.source])),
      rev,
      mode: cutoverMode(resolved),
      store: this.store.description,
    };
  }

  /**
   * Coalesced: a burst of events costs at most one read in flight and one after it. The
   * cause reported is the latest one asked for (an event's actor and reason win a poll).
   */
  refresh(cause: WatchCause = { kind: 'poll' }): Promise<void> {
    if (!this.pendingCause || cause.kind === 'event' || this.pendingCause.kind === 'poll') this.pendingCause = cause;
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      do {
        this.again = false;
        const why = this.pendingCause ?? cause;
        this.pendingCause = null;
        try {
          const snap = await this.store.snapshot();
          if (this.failing) { this.failing = false; this.log('flag store: readable again'); }
          const next = this.resolve(snap.raw, snap.rev);
          const changed = JSON.stringify(next.flags) !== JSON.stringify(this.current.flags) || next.rev !== this.current.rev;
          const previous = this.current;
          this.current = next;
          if (changed && !this.stopped) this.onChange(next, why, previous);
        } catch (err) {
          // Keep serving the last flags we read: a backend does not flip features because Redis blinked.
          if (!this.failing) this.log(`flag store: read failed, keeping the last flags (${(err as Error).message})`);
          this.failing = true;
        }
      } while (this.again && !this.stopped);
    })().finally(() => { this.inFlight = null; });
    return this.inFlight;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    const sub = this.sub;
    this.sub = null;
    await sub?.close();
  }
}
