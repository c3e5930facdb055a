import { CutoverError, ExitCode } from '../errors.js';
import type { CommandContext } from './context.js';
import { resolveActor } from './context.js';
import { findFeature } from '../config/load.js';
import type { FeatureConfig } from '../config/types.js';
import { withStore } from '../store/index.js';
import { effectiveFlag, isTrue } from '../store/effective.js';
import type { ChangeRequest, FlagStore } from '../store/types.js';
import { judgeSessions, readSessions } from '../store/verify-record.js';
import type { Config } from '../config/types.js';

export interface ChangeOptions {
  reason?: string;
  actor?: string;
  dryRun?: boolean;
  force?: boolean;
}

export type ChangeResultKind = 'changed' | 'noop' | 'refused' | 'dry-run';

export interface ChangeResult {
  action: 'enable' | 'disable';
  feature: string;
  result: ChangeResultKind;
  /** Effective value before (and, for changed / dry-run, after). */
  previous: boolean;
  enabled: boolean;
  rev: number;
  at: string | null;
  actor: string;
  reason: string;
  forced: boolean;
  /** Enable refused: the earlier features still off. */
  blockers: string[];
  /** Why it was refused (order guard or verify gate), with the stable code scripts match on. */
  refusal: { code: 'E_REFUSED' | 'E_VERIFY_GATE'; message: string; hint: string } | null;
  warnings: string[];
  store: string;
}

/**
 * enable and disable are the same write (PROTOCOL.md: "a rollback is the same kind of
 * write"); only the target value and the guard differ.
 */
export async function runChange(ctx: CommandContext, name: string, enabled: boolean, opts: ChangeOptions): Promise<ChangeResult> {
  const { config, io } = ctx;
  const feature = findFeature(config, name);
  const actor = await resolveActor(io, opts.actor);
  return withStore(config, async (store) => {
    // The verify gate is judged here and checked again inside the atomic write: when its
    // evidence moved in between (a flag change, a new verify record), it is judged again.
    for (let attempt = 1; ; attempt++) {
      const r = await changeOnce(ctx, store, feature, enabled, actor, opts);
      if (r !== 'stale') return r;
      if (attempt >= MAX_GATE_TRIES) {
        throw new CutoverError('E_CONTENDED', `enable ${feature.name}: the flags or ${feature.name}'s verify records kept changing while the verify gate was judged (${MAX_GATE_TRIES} tries)`, {
          hint: 'another enable, disable or verify is writing right now: run it again in a moment', exitCode: ExitCode.ERROR,
        });
      }
    }
  });
}

const MAX_GATE_TRIES = 5;

/** One judgement and one atomic write; 'stale' when the write found the gate's evidence changed. */
async function changeOnce(ctx: CommandContext, store: FlagStore, feature: FeatureConfig, enabled: boolean, actor: string, opts: ChangeOptions): Promise<ChangeResult | 'stale'> {
  const { config, io } = ctx;
  const reason = opts.reason ?? '';
  const forced = Boolean(opts.force);
  const envOn = (f: FeatureConfig) => isTrue(io.env[f.envVar]);
  const earlier = config.features.filter((f) => f.order < feature.order);
  const later = config.features.filter((f) => f.order > feature.order);
  const base = { action: enabled ? 'enable' : 'disable', feature: feature.name, actor, reason, store: store.description } as const;
  const snap = await store.snapshot();
  const flagOf = (f: FeatureConfig) => effectiveFlag(snap.raw[f.name], f.envVar, io.env[f.envVar]).enabled;
  const warnings: string[] = [];
  if (!enabled) {
    const stillOn = later.filter(flagOf).map((f) => f.name);
    if (stillOn.length) warnings.push(`${stillOn.join(', ')} ${stillOn.length > 1 ? 'are' : 'is'} later in the cutover order and still on`);
  }
  const blockersNow = enabled ? earlier.filter((f) => !flagOf(f)).map((f) => f.name) : [];
  if (enabled && forced && blockersNow.length) warnings.push(`forced past the cutover order: ${blockersNow.join(', ')} still off (recorded as forced)`);
  let guard: ChangeRequest['guard'];
  // The order guard speaks first: a gate refusal about a feature that is off would mislead.
  if (enabled && !blockersNow.length && !flagOf(feature)) {
    const prev = earlier.at(-1);
    const head = prev && config.verify.gate ? await store.verifyHead(prev.name) : null;
    const gate = await verifyGate(store, config, feature);
    if (gate && !forced) {
      const previous = flagOf(feature);
      return {
        ...base, result: 'refused', previous, enabled: previous, rev: snap.rev, at: null, forced, blockers: [], warnings,
        refusal: { code: 'E_VERIFY_GATE', message: `enable ${feature.name} refused: ${gate.reason}`, hint: gate.hint },
      };
    }
    if (gate) warnings.push(`forced past the verify gate: ${gate.reason} (recorded as forced)`);
    else if (prev && config.verify.gate) guard = { rev: snap.rev, verifyFeature: prev.name, verifyHead: head };
  }

  if (opts.dryRun) {
    const previous = flagOf(feature);
    const stored = snap.raw[feature.name];
    const result: ChangeResultKind = stored !== undefined && isTrue(stored) === enabled ? 'noop' : blockersNow.length && !forced ? 'refused' : 'dry-run';
    return {
      ...base, result, previous, enabled: result === 'dry-run' ? enabled : previous, rev: snap.rev, at: null, forced,
      blockers: result === 'refused' ? blockersNow : [], warnings, refusal: result === 'refused' ? orderRefusal(feature.name, blockersNow) : null,
    };
  }

  const req: ChangeRequest = {
    feature: feature.name, enabled, actor, reason, forced, envFallback: envOn(feature),
    requireOn: enabled ? earlier.map((f) => ({ feature: f.name, envFallback: envOn(f) })) : [],
    ...(guard ? { guard } : {}),
  };
  const outcome = await store.change(req);
  switch (outcome.status) {
    case 'stale':
      return 'stale';
    case 'changed':
      return { ...base, result: 'changed', previous: outcome.previous, enabled, rev: outcome.rev, at: outcome.at, forced: req.forced, blockers: [], warnings, refusal: null };
    case 'noop':
      return { ...base, result: 'noop', previous: outcome.current, enabled: outcome.current, rev: outcome.rev, at: null, forced, blockers: [], warnings, refusal: null };
    case 'refused':
      return {
        ...base, result: 'refused', previous: flagOf(feature), enabled: flagOf(feature), rev: snap.rev, at: null, forced,
        blockers: outcome.blockers, warnings, refusal: orderRefusal(feature.name, outcome.blockers),
      };
  }
}

function orderRefusal(feature: string, blockers: string[]): NonNullable<ChangeResult['refusal']> {
  const many = blockers.length > 1;
  return {
    code: 'E_REFUSED',
    message: `enable ${feature} refused: ${blockers.join(', ')} ${many ? 'come' : 'comes'} earlier in the cutover order and ${many ? 'are' : 'is'} still off`,
    hint: `thor-cutover enable ${blockers[0]} first, or pass --force (recorded as forced in the audit stream)`,
  };
}

/**
 * The verify gate (runbook step 3.3 before the next feature): the last N sessions recorded
 * for the feature before this one, since it was last enabled, must all have passed (N:
 * verify.requiredSessions). The same reading of the records as `thor-cutover gate`.
 * Returns why not, or null when the gate is open.
 */
export async function verifyGate(store: FlagStore, config: Config, feature: FeatureConfig): Promise<{ reason: string; hint: string } | null> {
  if (!config.verify.gate) return null;
  const prev = config.features.filter((f) => f.order < feature.order).at(-1);
  if (!prev) return null;
  const required = config.verify.requiredSessions;
  const evidence = await readSessions(store, prev.name);
  const judged = judgeSessions(evidence, required);
  if (judged.status === 'pass') return null;
  const last = evidence.lastRecord;
  const sessions = `${required} session${required === 1 ? '' : 's'}`;
  const when = evidence.since ? ` since it was enabled (${evidence.since.at}, rev ${evidence.since.rev})` : '';
  const seen = last ? `; its last verify: ${last.verdict}${last.shadow ? ' (shadow)' : ''} over ${last.sessions} session${last.sessions === 1 ? '' : 's'}, ${last.finishedAt}` : '; it was never verified';
  const failed = judged.status === 'fail'
    ? `; failed: ${judged.failed.map((s) => `${s.label}${s.problems.length ? ` (${s.problems[0]})` : ''}`).join(', ')}`
    : '';
  return {
    reason: `${prev.name} (before ${feature.name} in the cutover order) has no passing verify covering ${sessions}${when}${seen}${failed}`,
    hint: `thor-cutover verify ${prev.name} --sessions ${required}, or pass --force (recorded as forced in the audit stream); thor-cutover gate ${prev.name} lists the sessions recorded`,
  };
}
