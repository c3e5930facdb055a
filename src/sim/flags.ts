import type { FeatureConfig } from '../config/types.js';
import { cutoverMode, resolveFlags, type FlagSource, type Mode } from '../store/effective.js';
import type { FlagStore, Subscription } from '../store/types.js';

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

/**
 * Reads the flags the way a backend does (PROTOCOL.md section 2): the effective value from
 * the store's hash and the env, re-read on every event and on a slow poll.
 */
export class FlagWatcher {
  private current: FlagsView;
  private sub: Subscription | null = null;
  private poll: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly store: FlagStore,
    private readonly features: readonly FeatureConfig[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly onChange: (view: FlagsView) => void,
    private readonly log: (line: string) => void,
  ) {
    this.current = this.resolve({}, 0);
  }

  view(): FlagsView {
    return this.current;
  }

  async start(): Promise<void> {
    await this.refresh();
    await this.subscribe();
    this.poll = setInterval(() => {
      if (!this.sub) void this.subscribe();
      void this.refresh();
    }, POLL_MS);
    this.poll.unref();
  }

  private async subscribe(): Promise<void> {
    try {
      this.sub = await this.store.subscribe(
        () => void this.refresh(),
        (state, detail) => {
          if (state === 'reconnecting') this.log(`flag store: reconnecting${detail ? ` (${detail})` : ''}`);
          // Events sent while we were away are gone: read the hash again.
          if (state === 'connected') { this.log('flag store: reconnected'); void this.refresh(); }
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

  /** Coalesced: a burst of events costs at most one read in flight and one after it. */
  refresh(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      do {
        this.again = false;
        try {
          const snap = await this.store.snapshot();
          if (this.failing) { this.failing = false; this.log('flag store: readable again'); }
          const next = this.resolve(snap.raw, snap.rev);
          const changed = JSON.stringify(next.flags) !== JSON.stringify(this.current.flags) || next.rev !== this.current.rev;
          this.current = next;
          if (changed && !this.stopped) this.onChange(next);
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
