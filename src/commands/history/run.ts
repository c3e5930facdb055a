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
    const entries = await store.history({ feature, limit: o.limit });
    const report: HistoryReport = { store: store.description, feature: feature ?? null, entries };
    if (!o.follow) {
      printHistory(out, report);
      return ExitCode.OK;
    }
    // With --follow, the past entries are printed oldest first so the live ones continue the list.
    printHistory(out, { ...report, entries: [...entries].reverse() }, true);
    if (io.interrupted.aborted) return ExitCode.INTERRUPTED;
    const sub = await store.subscribe(
      (e: FlagEvent) => { if (!feature || e.feature === feature) printEvent(out, e); },
      (state, detail) => {
        if (state === 'reconnecting') out.io.stderr.write(`${out.errStyle.warn('warning:')} lost Redis${detail ? ` (${detail})` : ''}; reconnecting…\n`);
        if (state === 'connected') out.io.stderr.write('reconnected to Redis; following again (changes made while away are in `thor-cutover history`)\n');
      },
    );
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
