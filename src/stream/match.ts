import type { FeatureConfig } from '../config/types.js';
import { fieldPattern, type NoiseTracker } from './noise.js';
import { MAX_DROP_RUN } from './stats.js';

/**
 * Payload matching: each REST item against the WS messages for its key. The data moves
 * (a forming bar changes every second), so a REST snapshot agrees when it equals the latest
 * WS message for the key as of the poll or any WS message within a grace window around it;
 * with a version field, it is compared with the WS message of the same version instead.
 */

import {
  applyFieldMap, compareFlat, flatten, ignoredBy, isStampDiff, keyOf, stampPaths, valuesEqual, versionOrder,
  type CompareResult, type FieldDiff, type Flat,
} from './compare.js';

export { applyFieldMap, compareFlat, flatten, ignoredBy, isStampDiff, keyOf, valuesEqual, type CompareResult, type FieldDiff, type Flat } from './compare.js';

/**
 * A WS message kept for matching. With `text` (the raw frame) the parsed object is let go:
 * one flat string is far cheaper for the GC to keep than a parsed tree, and most entries
 * are never compared.
 */
interface RingEntry {
  at: number;
  data: Record<string, unknown> | null;
  text: string | null;
  version: string | null;
  flat?: Flat;
}

export interface MismatchRecord {
  feature: string;
  key: string;
  at: number;
  version: string | null;
  fields: FieldDiff[];
  /** Signed time from the poll to the WS message compared (ms): + WS came after. */
  skewMs: number;
}

export type Decision =
  | { kind: 'agree'; key: string; at: number; noise: FieldDiff[]; restamped: boolean }
  | { kind: 'mismatch'; record: MismatchRecord; noise: FieldDiff[]; detail: MismatchContext }
  /**
   * REST showed a state WS never carried, between an older and a newer one WS did carry:
   * a channel layer that dropped a message, or a state recomputed between broadcasts. Not
   * a disagreement (PROTOCOL.md section 3, "Skipped states"); the record is the nearest.
   */
  | { kind: 'skipped'; record: MismatchRecord; noise: FieldDiff[] }
  | { kind: 'unmatched'; key: string; at: number; reason: 'version-not-carried' | 'ws-gap' | 'no-ws-in-window' }
  | { kind: 'missing-ws'; key: string; at: number };

/** What the report shows beside a mismatch's diff: both payloads and the poll's timings. */
export interface MismatchContext {
  restSentAt: number;
  wsAt: number;
  /** Flat payloads, REST field names on both sides. */
  rest: Flat;
  ws: Flat;
}

export interface SchemaNote {
  side: 'rest' | 'ws';
  field: string;
  key: string;
}

export interface StalenessResult {
  key: string;
  /** When REST first showed the change. */
  at: number;
  /** How long WS took to carry it (null: not within the limit). */
  ms: number | null;
}

interface Pending {
  key: string;
  /** The stream the item belongs to (streamKey: a symbol of symbol+minute), null without one. */
  stream: string | null;
  flat: Flat;
  version: string | null;
  sentAt: number;
  at: number;
  deadline: number;
}

interface Compared {
  entry: RingEntry;
  result: CompareResult;
  /** Differences that are not volatile (noise) fields. */
  real: FieldDiff[];
  noise: FieldDiff[];
}

interface PendingChange {
  key: string;
  flat: Flat;
  at: number;
  deadline: number;
}

export interface MatcherOptions {
  /** Window each side of a poll, ms (already divided by --speed). */
  graceMs: number;
  /** How long a WS message stays a candidate, ms. */
  retentionMs: number;
  /** event/on-change features: how long a REST change may take to show on WS, ms. */
  maxStalenessMs: number;
  ringSize?: number;
  noise?: NoiseTracker;
  /**
   * When WS last carried a message of this stream (REST's streamKey value), null if never:
   * WS moving on to the next key of a stream (the next minute's bar) is moving on too.
   */
  streamLastAt?: (stream: string) => number | null;
}

/**
 * One feature's matcher. The WS side is hot (every message), so it only files the
 * message under its key; flattening and comparing happen when a REST poll is decided.
 */
/**
 * The recent messages of one key, in a fixed ring whose entry objects are reused: at full
 * rate an allocation per message that lives through a few young-generation collections is
 * what the GC pays most for.
 */
export interface KeyLeaf {
  key: string;
  slots: RingEntry[];
  /** Next slot to write. */
  head: number;
  size: number;
  dead: boolean;
  /** The engine's per-stream state, cached when the stream key is a prefix of the key. */
  stream?: unknown;
  /** Where the hot-path index holds this leaf, so a forgotten leaf leaves it too. */
  home?: FastNode;
  homeValue?: unknown;
}

/**
 * One level of the hot-path index. `lastValue`/`lastLeaf` remember the previous hit on a
 * last level: a stream repeats its key (a forming bar keeps its minute), and comparing with
 * the previous value is cheaper than hashing a freshly parsed string for a Map lookup.
 */
interface FastNode {
  map: Map<unknown, FastNode | KeyLeaf>;
  lastValue: unknown;
  lastLeaf: KeyLeaf | null;
}

function fastNode(): FastNode {
  return { map: new Map(), lastValue: undefined, lastLeaf: null };
}

function ringPush(leaf: KeyLeaf, cap: number, at: number, data: Record<string, unknown> | null, text: string | null, version: string | null): RingEntry {
  let e = leaf.slots[leaf.head];
  if (e) {
    e.at = at; e.data = data; e.text = text; e.version = version; e.flat = undefined;
  } else {
    e = { at, data, text, version };
    leaf.slots[leaf.head] = e;
  }
  leaf.head = (leaf.head + 1) % cap;
  if (leaf.size < cap) leaf.size += 1;
  return e;
}

/** Keys (with their recent messages) kept per feature. */
const MAX_LEAVES = 50_000;
/** Keys whose last REST item is kept per feature (least recently polled go first). */
const MAX_LAST_REST = 5_000;

function lastAt(leaf: KeyLeaf, cap: number): number {
  return leaf.size ? leaf.slots[(leaf.head - 1 + cap) % cap]!.at : 0;
}

/** Oldest first. */
function ringEntries(leaf: KeyLeaf, cap: number): RingEntry[] {
  const out: RingEntry[] = new Array(leaf.size);
  for (let k = 0; k < leaf.size; k++) out[k] = leaf.slots[(leaf.head - leaf.size + k + cap) % cap]!;
  return out;
}

export class FeatureMatcher {
  private readonly rings = new Map<string, KeyLeaf>();
  /**
   * The same leaves, by the raw key values nested field by field: the hot path finds a
   * message's leaf without building and hashing a joined key string.
   */
  private readonly fast = fastNode();
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

  /** The leaf of a WS payload by its key fields (null: a key field is missing). */
  wsLeaf(data: Record<string, unknown>): KeyLeaf | null {
    const f = this.wsKeyFields;
    const last = f.length - 1;
    let node = this.fast;
    for (let i = 0; i < last; i++) {
      const v = data[f[i]!];
      if (v === undefined || v === null) return null;
      // A fresh object every message: indexed by identity it would add an entry each time.
      if (typeof v === 'object') return this.slowLeaf(data);
      let next = node.map.get(v) as FastNode | undefined;
      if (!next) { next = fastNode(); node.map.set(v, next); }
      node = next;
    }
    const v = data[f[last]!];
    if (v === undefined || v === null) return null;
    if (typeof v === 'object') return this.slowLeaf(data);
    const hit = node.lastLeaf;
    if (hit !== null && node.lastValue === v && !hit.dead) return hit;
    let leaf = node.map.get(v) as KeyLeaf | undefined;
    if (!leaf || leaf.dead) {
      leaf = this.leaf(keyOf(data, f)!);
      leaf.home = node;
      leaf.homeValue = v;
      node.map.set(v, leaf);
    }
    node.lastValue = v;
    node.lastLeaf = leaf;
    return leaf;
  }

  /** By the joined key string, outside the hot-path index (key values that are objects). */
  private slowLeaf(data: Record<string, unknown>): KeyLeaf {
    return this.leaf(keyOf(data, this.wsKeyFields)!);
  }

  private leaf(key: string): KeyLeaf {
    let leaf = this.rings.get(key);
    if (!leaf) { leaf = { key, slots: [], head: 0, size: 0, dead: false }; this.rings.set(key, leaf); }
    return leaf;
  }

  /** File a WS message by its key string (see `wsLeaf` for the hot path). */
  addWs(key: string, data: Record<string, unknown>, at: number, text?: string): StalenessResult[] | null {
    return this.addToLeaf(this.leaf(key), data, at, text);
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
          const leaf = this.rings.get(key);
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
    if (now - this.lastPrune > this.o.retentionMs) this.prune(now);
    return { decisions, schema, stale };
  }

  /** The stream has been seen for this key at all (used for "missing on WS"). */
  hasKey(key: string): boolean {
    return this.rings.has(key);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  private decideOne(p: Pending, now: number, inGap: (from: number, to: number) => boolean, schema: SchemaNote[], wsClock: number): Decision | null {
    const leaf = this.rings.get(p.key);
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
  private prune(now: number): void {
    this.lastPrune = now;
    const cutoff = now - this.o.retentionMs;
    const forget = now - this.o.retentionMs * 20;
    for (const [key, leaf] of this.rings) {
      const ring = ringEntries(leaf, this.ringSize);
      const last = ring[ring.length - 1];
      if (!last || last.at < forget) {
        this.rings.delete(key);
        this.forget(leaf);
        continue;
      }
      let drop = 0;
      while (drop < ring.length - 1 && ring[drop]!.at < cutoff) {
        ring[drop]!.data = null;
        ring[drop]!.text = null;
        ring[drop]!.flat = undefined;
        drop++;
      }
      leaf.size -= drop;
    }
    // Keys that keep changing (a bar per minute) stay bounded even when time runs faster
    // than the idle rule can forget them: the least recently updated go first.
    if (this.rings.size > MAX_LEAVES) {
      const byAge = [...this.rings.values()].sort((a, b) => lastAt(a, this.ringSize) - lastAt(b, this.ringSize));
      for (const leaf of byAge.slice(0, this.rings.size - MAX_LEAVES)) {
        this.rings.delete(leaf.key);
        this.forget(leaf);
      }
    }
  }

  /** A forgotten leaf leaves the hot-path index too, with the messages its ring holds. */
  private forget(leaf: KeyLeaf): void {
    leaf.dead = true;
    const home = leaf.home;
    if (!home) return;
    if (home.map.get(leaf.homeValue) === leaf) home.map.delete(leaf.homeValue);
    if (home.lastLeaf === leaf) { home.lastLeaf = null; home.lastValue = undefined; }
    leaf.home = undefined;
    leaf.homeValue = undefined;
  }
}
