import type { FeatureConfig } from '../config/types.js';
import { fieldPattern } from './noise.js';
import { MAX_DROP_RUN } from './stats.js';
import {
  KeyRings, MAX_LAST_REST, ringEntries, ringPush,
  type Compared, type Decision, type KeyLeaf, type MatcherOptions, type MismatchRecord, type Pending, type PendingChange, type RingEntry, type SchemaNote, type StalenessResult,
} from './match-ring.js';

import {
  applyFieldMap, compareFlat, flatten, ignoredBy, isStampDiff, keyOf, stampPaths, valuesEqual, versionOrder,
  type CompareResult, type Flat,
} from './compare.js';

export type { Decision, KeyLeaf, MatcherOptions, MismatchContext, MismatchRecord, SchemaNote, StalenessResult } from './match-ring.js';

/**
 * Payload matching: each REST item against the WS messages for its key. The data moves
 * (a forming bar changes every second), so a REST snapshot agrees when it equals the latest
 * WS message for the key as of the poll or any WS message within a grace window around it;
 * with a version field, it is compared with the WS message of the same version instead.
 */


export { applyFieldMap, compareFlat, flatten, ignoredBy, isStampDiff, keyOf, valuesEqual, type CompareResult, type FieldDiff, type Flat } from './compare.js';

export class FeatureMatcher {
  private readonly keys: KeyRings;
  private pending: Pending[] = [];
  private changes: PendingChange[] = [];
  /** The last REST item of each key (bounded like the rings). */
  private readonly lastRest = new Map<string, Flat>();
  /**
   * Field patterns REST changes between reads of one key (versionless features), with how
   * often: see `explainedBySkip`. One change proves nothing (it may be the wrong value).
   */
  private readonly movingFields = new Map<string, number>();
  private readonly versionless: boolean;
  private readonly ignored: (path: string) => boolean;
  private readonly wsKeyFields: string[];
  private readonly wsVersionField: string | null;
  private readonly ringSize: number;
  private lastPrune = 0;
  readonly trackStaleness: boolean;

  constructor(readonly feature: FeatureConfig, private readonly o: MatcherOptions) {
    this.ignored = ignoredBy(feature.ignoreFields);
    // Keys and versions are named in REST terms; on WS they may carry their WS names.
    const restToWs = new Map(Object.entries(feature.fieldMap).map(([ws, rest]) => [rest, ws]));
    this.wsKeyFields = feature.key.map((k) => restToWs.get(k) ?? k);
    this.wsVersionField = feature.versionField ? restToWs.get(feature.versionField) ?? feature.versionField : null;
    // Enough to cover the grace window at the expected rate; more only keeps parsed
    // messages alive into the old generation, which the GC then pays for.
    this.ringSize = o.ringSize ?? 8;
    this.keys = new KeyRings(this.wsKeyFields, this.ringSize);
    this.trackStaleness = feature.cadence !== 'periodic';
    this.versionless = feature.versionField === null;
  }

  /** The match key of a WS payload (null: a key field is missing). */
  wsKey(data: Record<string, unknown>): string | null {
    return keyOf(data, this.wsKeyFields);
  }

  restKey(item: Record<string, unknown>): string | null {
    return keyOf(item, this.feature.key);
  }

  /** The leaf of a WS payload by its key fields (null: a key field is missing): the hot path. */
  wsLeaf(data: Record<string, unknown>): KeyLeaf | null {
    return this.keys.leafOf(data);
  }

  /** File a WS message by its key string (see `wsLeaf` for the hot path). */
  addWs(key: string, data: Record<string, unknown>, at: number, text?: string): StalenessResult[] | null {
    return this.addToLeaf(this.keys.leaf(key), data, at, text);
  }

  /** File a WS message; returns staleness results it resolves (event/on-change features). */
  addToLeaf(leaf: KeyLeaf, data: Record<string, unknown>, at: number, text?: string): StalenessResult[] | null {
    const key = leaf.key;
    const v = this.wsVersionField ? data[this.wsVersionField] : undefined;
    const entry = ringPush(leaf, this.ringSize, at, text === undefined ? data : null, text ?? null, v === undefined || v === null ? null : String(v));
    if (!this.trackStaleness || this.changes.length === 0) return null;
    let resolved: StalenessResult[] | null = null;
    this.changes = this.changes.filter((c) => {
      if (c.key !== key || !this.equalToEntry(c.flat, entry)) return true;
      (resolved ??= []).push({ key, at: c.at, ms: Math.max(0, at - c.at) });
      return false;
    });
    return resolved;
  }

  /** File one REST poll's items; returns schema notes for fields on one side only. */
  addRest(items: Record<string, unknown>[], sentAt: number, at: number): { keyless: number; staleness: StalenessResult[] } {
    let keyless = 0;
    const staleness: StalenessResult[] = [];
    for (const item of items) {
      const key = this.restKey(item);
      if (key === null) { keyless += 1; continue; }
      const flat = flatten(item);
      const v = this.feature.versionField ? item[this.feature.versionField] : undefined;
      const stream = this.o.streamLastAt && this.feature.streamKey.length ? keyOf(item, this.feature.streamKey) : null;
      this.pending.push({ key, stream, flat, version: v === undefined || v === null ? null : String(v), sentAt, at, deadline: at + this.o.graceMs });
      const prev = this.lastRest.get(key);
      this.lastRest.delete(key);
      this.lastRest.set(key, flat);
      // Only recent keys matter (the moving fields are learnt from them); a bar a minute
      // per symbol would otherwise keep every minute's last item.
      if (this.lastRest.size > MAX_LAST_REST) this.lastRest.delete(this.lastRest.keys().next().value as string);
      // Fields REST itself changes from one read of a key to the next: the state moves in them.
      if (prev && this.versionless) {
        for (const d of compareFlat(prev, flat, this.feature.tolerance, this.ignored).diffs) {
          const f = fieldPattern(d.path);
          this.movingFields.set(f, (this.movingFields.get(f) ?? 0) + 1);
        }
      }
      if (this.trackStaleness) {
        if (prev && !this.flatEqual(prev, flat)) {
          // WS may have carried the change before REST showed it.
          const leaf = this.keys.rings.get(key);
          const seen = leaf && ringEntries(leaf, this.ringSize).some((e) => this.equalToEntry(flat, e));
          if (seen) staleness.push({ key, at: sentAt, ms: 0 });
          else this.changes.push({ key, flat, at: sentAt, deadline: sentAt + this.o.maxStalenessMs });
        }
      }
    }
    return { keyless, staleness };
  }

  /**
   * Decide every REST item whose window has closed (or that already agrees).
   * `inGap(from, to)` says whether the WS connection was down during that time.
   */
  decide(now: number, inGap: (from: number, to: number) => boolean, wsClock = now): { decisions: Decision[]; schema: SchemaNote[]; stale: StalenessResult[] } {
    const decisions: Decision[] = [];
    const schema: SchemaNote[] = [];
    const keep: Pending[] = [];
    for (const p of this.pending) {
      const d = this.decideOne(p, now, inGap, schema, wsClock);
      if (d) decisions.push(d);
      else keep.push(p);
    }
    this.pending = keep;
    const stale: StalenessResult[] = [];
    if (this.changes.length) {
      this.changes = this.changes.filter((c) => {
        if (now <= c.deadline) return true;
        stale.push({ key: c.key, at: c.at, ms: null });
        return false;
      });
    }
    if (now - this.lastPrune > this.o.retentionMs) { this.lastPrune = now; this.keys.prune(now, this.o.retentionMs); }
    return { decisions, schema, stale };
  }

  /** The stream has been seen for this key at all (used for "missing on WS"). */
  hasKey(key: string): boolean {
    return this.keys.rings.has(key);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  private decideOne(p: Pending, now: number, inGap: (from: number, to: number) => boolean, schema: SchemaNote[], wsClock: number): Decision | null {
    const leaf = this.keys.rings.get(p.key);
    const ring = leaf ? ringEntries(leaf, this.ringSize) : null;
    // A time has passed for WS only once WS has delivered something later (`wsClock`, the
    // last frame read): after a stall of this process, the tick can run before the frames
    // waiting in the socket are read, and they would look missing. A WS that is up but
    // silent is waited for a while longer by the wall clock.
    const passed = (t: number) => wsClock > t || now > t + Math.max(1_000, 4 * this.o.graceMs);
    const closed = now > p.deadline && passed(p.deadline);
    // A state WS has not carried (yet) gets more time before it is called missing or not
    // carried: a stream that is merely slow carries it later, and after two messages lost
    // in a row (see MAX_DROP_RUN) the next one comes three intervals on.
    const final = passed(p.deadline + MAX_DROP_RUN * this.o.graceMs);
    const from = p.sentAt - this.o.graceMs;
    if (!ring || ring.length === 0) {
      if (!final) return null;
      if (inGap(from, p.deadline)) return { kind: 'unmatched', key: p.key, at: p.at, reason: 'ws-gap' };
      // The stream went on to its next key without this one: every state of it was skipped.
      if (this.streamMovedOn(p)) return { kind: 'skipped', noise: [], record: { feature: this.feature.name, key: p.key, at: p.at, version: p.version, fields: [], skewMs: 0 } };
      return { kind: 'missing-ws', key: p.key, at: p.at };
    }
    const { latestAtSend, latestAtAnswer, windowed, versioned, sameVersion, candidates } = this.candidatesOf(p, ring, from);

    let nearest: Compared | null = null;
    for (const e of candidates) {
      const c = this.compareEntry(p, e);
      if (c.real.length === 0) return this.agree(p, c, schema, false);
      if (!nearest || Math.abs(e.at - (p.sentAt + p.at) / 2) < Math.abs(nearest.entry.at - (p.sentAt + p.at) / 2)) nearest = c;
    }
    // The same state with another time stamp, one WS never carried (the item was
    // re-stamped when read): agreement.
    if (sameVersion.length === 0) {
      for (const e of windowed) {
        const c = e === nearest?.entry ? nearest : this.compareEntry(p, e);
        if (c.real.every(isStampDiff)) return this.agree(p, c, schema, true);
      }
    }
    // Not agreeing yet: a later WS message inside the window may still agree.
    if (!closed) return null;
    return this.decideClosed(p, ring, { from, final, nearest, before: latestAtAnswer ?? latestAtSend, versioned, sameVersion: sameVersion.length > 0 }, inGap, schema);
  }

  /**
   * The WS messages a REST snapshot is compared with. "The latest WS message as of the poll":
   * the server read its state somewhere between sending and answering, so the latest as of
   * either end is a fair candidate (a stalled job can leave the state older than the window).
   */
  private candidatesOf(p: Pending, ring: RingEntry[], from: number) {
    let latestAtSend: RingEntry | undefined;
    let latestAtAnswer: RingEntry | undefined;
    for (const e of ring) {
      if (e.at <= p.sentAt) latestAtSend = e;
      if (e.at <= p.at) latestAtAnswer = e;
    }
    const windowed = ring.filter((e) => e.at >= from && e.at <= p.deadline);
    for (const e of [latestAtAnswer, latestAtSend]) if (e && !windowed.includes(e)) windowed.unshift(e);
    const versioned = p.version !== null && ring.some((e) => e.version !== null);
    let sameVersion = versioned ? ring.filter((e) => e.version === p.version) : [];
    // Without a version field, a WS message carrying REST's own time stamp is the same
    // state: a difference from it is a disagreement, not a skip or a re-stamp.
    if (!versioned) {
      const stamps = stampPaths(p.flat, this.feature.key);
      if (stamps.length) sameVersion = ring.filter((e) => stamps.every((path) => valuesEqual(this.flatOf(e).get(path), p.flat.get(path), 0)));
    }
    const candidates = versioned ? sameVersion : sameVersion.length ? sameVersion : windowed;
    return { latestAtSend, latestAtAnswer, windowed, versioned, sameVersion, candidates };
  }

  /** The window has closed and nothing agreed: a mismatch, a skipped state, or not comparable. */
  private decideClosed(
    p: Pending, ring: RingEntry[], c: { from: number; final: boolean; nearest: Compared | null; before: RingEntry | undefined; versioned: boolean; sameVersion: boolean },
    inGap: (from: number, to: number) => boolean, schema: SchemaNote[],
  ): Decision | null {
    const { from, final, nearest, before } = c;
    if (c.sameVersion) {
      // The same version, different values: a disagreement, whatever the timing.
      return this.disagree(p, nearest!, schema, 'mismatch');
    }
    if (inGap(from, p.deadline)) return { kind: 'unmatched', key: p.key, at: p.at, reason: 'ws-gap' };
    if (c.versioned) {
      // REST's version was never on WS. Between an older and a newer one WS did carry, it
      // was skipped; otherwise wait out the extra grace, then it is not comparable.
      const mine = versionOrder(p.version!);
      const older = ring.filter((e) => e.version !== null && this.isOlder(e, mine, p, true));
      const newer = ring.filter((e) => e.version !== null && this.isOlder(e, mine, p, false));
      if (older.length && newer.length) return this.disagree(p, this.compareEntry(p, older[older.length - 1]!), schema, 'skipped');
      if (!final) return null;
      return { kind: 'unmatched', key: p.key, at: p.at, reason: 'version-not-carried' };
    }
    if (!nearest) return { kind: 'unmatched', key: p.key, at: p.at, reason: 'no-ws-in-window' };
    // No version: order by arrival. WS carried a state before the poll and moved on after
    // it; REST differs from the earlier one only in fields WS itself keeps changing, so
    // REST shows a state in between that WS skipped. A field that WS holds steady and
    // REST shows otherwise is a disagreement however the timing falls.
    const after = ring.filter((e) => e.at > p.at);
    if (after.length || this.streamMovedOn(p)) {
      if (!before) return this.disagree(p, nearest, schema, 'skipped');
      const vsBefore = before === nearest.entry ? nearest : this.compareEntry(p, before);
      if (vsBefore.real.every((d) => this.explainedBySkip(d.path, p, ring, before))) return this.disagree(p, vsBefore, schema, 'skipped');
    } else if (!final) {
      // WS has not moved on yet: wait to see whether it does.
      return null;
    }
    return this.disagree(p, nearest, schema, 'mismatch');
  }

  /** WS carried a later message of the item's stream (under another key) after the poll. */
  private streamMovedOn(p: Pending): boolean {
    if (p.stream === null || !this.o.streamLastAt) return false;
    const last = this.o.streamLastAt(p.stream);
    return last !== null && last > p.at;
  }

  private compareEntry(p: Pending, entry: RingEntry): Compared {
    const result = compareFlat(p.flat, this.flatOf(entry), this.feature.tolerance, this.ignored);
    const noise = this.o.noise ? result.diffs.filter((d) => this.o.noise!.isNoise(d.path)) : [];
    const real = noise.length ? result.diffs.filter((d) => !noise.includes(d)) : result.diffs;
    return { entry, result, real, noise };
  }

  private agree(p: Pending, c: Compared, schema: SchemaNote[], restamped: boolean): Decision {
    this.noteSchema(p.key, c.result, schema);
    this.o.noise?.recordComparison(c.result.diffs.map((d) => d.path));
    return { kind: 'agree', key: p.key, at: p.at, noise: c.noise, restamped };
  }

  private disagree(p: Pending, c: Compared, schema: SchemaNote[], kind: 'mismatch' | 'skipped'): Decision {
    this.noteSchema(p.key, c.result, schema);
    this.o.noise?.recordComparison(c.result.diffs.map((d) => d.path));
    const record: MismatchRecord = {
      feature: this.feature.name, key: p.key, at: p.at, version: p.version, fields: c.real, skewMs: Math.round(c.entry.at - (p.sentAt + p.at) / 2),
    };
    if (kind === 'skipped') return { kind, record, noise: c.noise };
    return { kind, record, noise: c.noise, detail: { restSentAt: p.sentAt, wsAt: c.entry.at, rest: p.flat, ws: this.flatOf(c.entry) } };
  }

  /** Entry e is older (or newer) than REST's version: by the version's order, else by arrival. */
  private isOlder(e: RingEntry, mine: number | null, p: Pending, older: boolean): boolean {
    const theirs = mine === null ? null : versionOrder(e.version!);
    if (mine !== null && theirs !== null) return older ? theirs < mine : theirs > mine;
    return older ? e.at <= p.sentAt : e.at > p.at;
  }

  /**
   * A difference from the WS message before the poll that a skipped state explains: the
   * field moves (REST changes it between reads of the key, or WS does among its messages),
   * and the message before is not the one wrong value between neighbours that agree with
   * REST. A field that never moves, or one WS message out of line, is a disagreement.
   */
  private explainedBySkip(path: string, p: Pending, ring: RingEntry[], before: RingEntry): boolean {
    const value = (e: RingEntry) => this.flatOf(e).get(path);
    const tol = this.feature.tolerance;
    const first = value(ring[0]!);
    const wsMoves = ring.some((e) => !valuesEqual(first, value(e), tol));
    if (!wsMoves && (this.movingFields.get(fieldPattern(path)) ?? 0) < 2) return false;
    const older = ring.filter((e) => e.at < before.at);
    const after = ring.filter((e) => e.at > before.at);
    if (older.length && after.length) {
      const v = value(older[0]!);
      const rest = p.flat.get(path);
      const neighboursAgree = [...older, ...after].every((e) => valuesEqual(v, value(e), tol));
      if (neighboursAgree && valuesEqual(v, rest, tol) && !valuesEqual(v, value(before), tol)) return false;
    }
    return true;
  }


  private noteSchema(key: string, r: CompareResult, out: SchemaNote[]): void {
    for (const field of r.restOnly) out.push({ side: 'rest', field, key });
    for (const field of r.wsOnly) out.push({ side: 'ws', field, key });
  }

  private flatOf(e: RingEntry): Flat {
    if (!e.flat) {
      const data = e.data ?? ((JSON.parse(e.text!) as { data?: unknown }).data as Record<string, unknown>);
      e.flat = applyFieldMap(flatten(data), this.feature.fieldMap);
      e.text = null;
    }
    return e.flat;
  }

  private equalToEntry(restFlat: Flat, e: RingEntry): boolean {
    const r = compareFlat(restFlat, this.flatOf(e), this.feature.tolerance, this.ignored);
    return r.diffs.length === 0 || r.diffs.every((d) => this.o.noise?.isNoise(d.path));
  }

  private flatEqual(a: Flat, b: Flat): boolean {
    const r = compareFlat(a, b, this.feature.tolerance, this.ignored);
    return r.diffs.length === 0 && r.restOnly.length === 0 && r.wsOnly.length === 0;
  }

  /** Forget old messages; a key keeps its latest one until it has been idle for long. */

}
