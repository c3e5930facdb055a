import type { CommandContext } from '../context.js';
import { withStore } from '../../store/index.js';
import { cutoverMode, resolveFlags, type FlagSource, type Mode } from '../../store/effective.js';
import type { HealthFinding } from '../../store/health.js';
import type { AuditEntry, MonitorBeat } from '../../store/types.js';
import { latestVerdict, type VerdictSummary } from '../../store/verify-record.js';

export interface FeatureStatus {
  name: string;
  order: number;
  envVar: string;
  enabled: boolean;
  source: FlagSource;
  redisValue: string | null;
  envValue: string | null;
  warnings: string[];
  lastChange: Pick<AuditEntry, 'actor' | 'at' | 'reason' | 'rev' | 'forced' | 'from' | 'to'> | null;
  lastVerify: VerdictSummary | null;
}

export interface StatusReport {
  store: string;
  rev: number;
  mode: Mode;
  /** The next feature to cut over (first one still off, in order), or null when FULL. */
  next: string | null;
  features: FeatureStatus[];
  /** Fields in the flags hash that are not configured features. */
  unknownFlags: string[];
  /** Can the store silently forget (persistence, eviction), does it look reset? null: in-process store. */
  storeHealth: HealthFinding[] | null;
  /** A running `monitor` (its heartbeat key), or null when none is running. */
  monitor: MonitorBeat | null;
}

function asBeat(v: unknown): MonitorBeat | null {
  if (!v || typeof v !== 'object') return null;
  const b = v as Partial<MonitorBeat>;
  if (typeof b.runId !== 'string' || typeof b.startedAt !== 'string') return null;
  return { ...b, recorded: Array.isArray(b.recorded) ? b.recorded : [], features: Array.isArray(b.features) ? b.features : [] } as MonitorBeat;
}

/** How far back status looks for each feature's last change. */
const HISTORY_SCAN = 2_000;

export async function runStatus(ctx: CommandContext): Promise<StatusReport> {
  const { config, io } = ctx;
  return withStore(config, async (store) => {
    const [snap, recent] = await Promise.all([store.snapshot(), store.history({ limit: HISTORY_SCAN })]);
    const [verdicts, storeHealth, beat] = await Promise.all([
      Promise.all(config.features.map((f) => latestVerdict(store, f.name))),
      store.health(config.features.map((f) => f.name)),
      store.monitorBeat(),
    ]);
    const flags = resolveFlags(config.features, snap.raw, io.env);
    const features: FeatureStatus[] = config.features.map((f, i) => {
      const flag = flags[i]!;
      const last = recent.find((e) => e.feature === f.name);
      return {
        name: f.name,
        order: f.order,
        envVar: f.envVar,
        enabled: flag.enabled,
        source: flag.source,
        redisValue: flag.redisValue ?? null,
        envValue: flag.envValue ?? null,
        warnings: flag.warnings,
        lastChange: last ? { actor: last.actor, at: last.at, reason: last.reason, rev: last.rev, forced: last.forced, from: last.from, to: last.to } : null,
        lastVerify: verdicts[i] ?? null,
      };
    });
    const known = new Set(config.features.map((f) => f.name));
    return {
      store: store.description,
      rev: snap.rev,
      mode: cutoverMode(features),
      next: features.find((f) => !f.enabled)?.name ?? null,
      features,
      unknownFlags: Object.keys(snap.raw).filter((k) => !known.has(k)).sort(),
      storeHealth,
      monitor: asBeat(beat),
    };
  });
}
