import { findFeature } from '../../config/load.js';
import { ExitCode } from '../../errors.js';
import { openStore } from '../../store/index.js';
import type { AuditEntry, FlagEvent } from '../../store/types.js';
import type { CommandContext } from '../context.js';
import { printEvent, printHistory } from './render.js';

interface HistoryOptions {
  feature?: string;
  limit: number;
  follow?: boolean;
}

export interface HistoryReport {
  store: string;
  feature: string | null;
  entries: AuditEntry[];
}

export async function runHistory(ctx: CommandContext): Promise<number> {
  const { config, out, io } = ctx;
  const o = ctx.opts as unknown as HistoryOptions;
  const feature = o.feature ? findFeature(config, o.feature).name : undefined;
  // --follow is long-running: it reconnects, and says so, instead of failing fast.
  const store = await openStore(config, { oneShot: !o.follow });
  try {
    if (!o.follow) {
      const entries = await store.history({ feature, limit: o.limit });
      printHistory(out, { store: store.description, feature: feature ?? null, entries });
      return ExitCode.OK;
    }
    // Subscribe before reading the past, so a change made in between is not lost; events
    // that the past entries already show are dropped by rev.
    let early: FlagEvent[] | null = [];
    let lastShown = 0;
    const show = (e: FlagEvent) => {
      if (feature && e.feature !== feature) return;
      lastShown = Math.max(lastShown, e.rev);
      printEvent(out, e);
    };
    // Changes made while the subscriber was away are in the audit stream: print those too.
    const catchUp = async () => {
      const missed = (await store.history({ feature, limit: 100 })).filter((e) => e.rev > lastShown).reverse();
      for (const e of missed) show({ feature: e.feature, enabled: e.to, previous: e.from, actor: e.actor, reason: e.reason, rev: e.rev, at: e.at });
    };
    const sub = await store.subscribe(
      (e: FlagEvent) => { if (early) early.push(e); else show(e); },
      (state, detail) => {
        if (state === 'reconnecting') out.io.stderr.write(`${out.errStyle.warn('warning:')} lost Redis${detail ? ` (${detail})` : ''}; reconnecting…\n`);
        if (state === 'connected') {
          out.io.stderr.write('reconnected to Redis; following again\n');
          catchUp().catch((err: Error) => out.io.stderr.write(`${out.errStyle.warn('warning:')} could not read the changes made while away: ${err.message}\n`));
        }
      },
    );
    const entries = await store.history({ feature, limit: o.limit });
    // With --follow, the past entries are printed oldest first so the live ones continue the list.
    printHistory(out, { store: store.description, feature: feature ?? null, entries: [...entries].reverse() }, true);
    // Only the events that arrived while the past was read can repeat it; later ones are
    // new whatever their rev (a restarted Redis without persistence starts again at 1).
    const lastRev = entries.reduce((m, e) => Math.max(m, e.rev), 0);
    lastShown = lastRev;
    const pending = early;
    early = null;
    for (const e of pending) if (e.rev > lastRev) show(e);
    if (out.format !== 'json') out.io.stderr.write(`following changes on ${store.description} (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      if (io.interrupted.aborted) return resolve();
      io.interrupted.addEventListener('abort', () => resolve(), { once: true });
    });
    await sub.close();
    return ExitCode.INTERRUPTED;
  } finally {
    await store.close();
  }
}
