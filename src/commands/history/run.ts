import { findFeature } from '../../config/load.js';
import { openStore } from '../../store/index.js';
import type { AuditEntry, FlagEvent } from '../../store/types.js';
import { untilAborted } from '../../abort.js';
import type { CommandContext } from '../context.js';

export interface HistoryOptions {
  feature?: string;
  limit: number;
  follow?: boolean;
}

export interface HistoryReport {
  store: string;
  feature: string | null;
  entries: AuditEntry[];
}

/** What --follow tells as it goes (render.ts prints it). */
export interface FollowEvents {
  /** The past entries, oldest first, before the live ones. */
  past(r: HistoryReport): void;
  event(e: FlagEvent): void;
  reconnecting(detail: string | undefined): void;
  reconnected(): void;
  catchUpFailed(message: string): void;
  following(store: string): void;
}

/** The audit stream, newest first. */
export async function runHistory(ctx: CommandContext, o: HistoryOptions): Promise<HistoryReport> {
  const feature = o.feature ? findFeature(ctx.config, o.feature).name : undefined;
  const store = await openStore(ctx.config, { oneShot: true });
  try {
    const entries = await store.history({ feature, limit: o.limit });
    return { store: store.description, feature: feature ?? null, entries };
  } finally {
    await store.close();
  }
}

/**
 * --follow: the past, then each change as it is published, until Ctrl-C. Long-running: it
 * reconnects, and says so, instead of failing fast. Subscribes before reading the past, so a
 * change made in between is not lost; events the past entries already show are dropped by rev.
 */
export async function followHistory(ctx: CommandContext, o: HistoryOptions, on: FollowEvents): Promise<void> {
  const feature = o.feature ? findFeature(ctx.config, o.feature).name : undefined;
  const store = await openStore(ctx.config, { oneShot: false });
  try {
    let early: FlagEvent[] | null = [];
    let lastShown = 0;
    const show = (e: FlagEvent) => {
      if (feature && e.feature !== feature) return;
      lastShown = Math.max(lastShown, e.rev);
      on.event(e);
    };
    // Changes made while the subscriber was away are in the audit stream: shown too.
    const catchUp = async () => {
      const missed = (await store.history({ feature, limit: 100 })).filter((e) => e.rev > lastShown).reverse();
      for (const e of missed) show({ feature: e.feature, enabled: e.to, previous: e.from, actor: e.actor, reason: e.reason, rev: e.rev, at: e.at });
    };
    const sub = await store.subscribe(
      (e: FlagEvent) => { if (early) early.push(e); else show(e); },
      (state, detail) => {
        if (state === 'reconnecting') on.reconnecting(detail);
        if (state === 'connected') {
          on.reconnected();
          catchUp().catch((err: Error) => on.catchUpFailed(err.message));
        }
      },
    );
    const entries = await store.history({ feature, limit: o.limit });
    on.past({ store: store.description, feature: feature ?? null, entries: [...entries].reverse() });
    // Only the events that arrived while the past was read can repeat it; later ones are
    // new whatever their rev (a restarted Redis without persistence starts again at 1).
    const lastRev = entries.reduce((m, e) => Math.max(m, e.rev), 0);
    lastShown = lastRev;
    const pending = early;
    early = null;
    for (const e of pending) if (e.rev > lastRev) show(e);
    on.following(store.description);
    await untilAborted(ctx.io.interrupted);
    await sub.close();
  } finally {
    await store.close();
  }
}
