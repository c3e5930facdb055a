import { keyOf, type CompareResult, type FieldDiff, type Flat } from './compare.js';
import type { NoiseTracker } from './noise.js';

/** What the matcher keeps: the ring of recent WS messages per key, pending REST items, and the decisions it returns. */

/**
 * A WS message kept for matching. With `text` (the raw frame) the parsed object is let go:
 * one flat string is far cheaper for the GC to keep than a parsed tree, and most entries
 * are never compared.
 */
export interface RingEntry {
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

export interface Pending {
  key: string;
  /** The stream the item belongs to (streamKey: a symbol of symbol+minute), null without one. */
  stream: string | null;
  flat: Flat;
  version: string | null;
  sentAt: number;
  at: number;
  deadline: number;
}

export interface Compared {
  entry: RingEntry;
  result: CompareResult;
  /** Differences that are not volatile (noise) fields. */
  real: FieldDiff[];
  noise: FieldDiff[];
}

export interface PendingChange {
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
export interface FastNode {
  map: Map<unknown, FastNode | KeyLeaf>;
  lastValue: unknown;
  lastLeaf: KeyLeaf | null;
}

export function fastNode(): FastNode {
  return { map: new Map(), lastValue: undefined, lastLeaf: null };
}

export function ringPush(leaf: KeyLeaf, cap: number, at: number, data: Record<string, unknown> | null, text: string | null, version: string | null): RingEntry {
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
export const MAX_LEAVES = 50_000;
/** Keys whose last REST item is kept per feature (least recently polled go first). */
export const MAX_LAST_REST = 5_000;

export function lastAt(leaf: KeyLeaf, cap: number): number {
  return leaf.size ? leaf.slots[(leaf.head - 1 + cap) % cap]!.at : 0;
}

/** Oldest first. */
export function ringEntries(leaf: KeyLeaf, cap: number): RingEntry[] {
  const out: RingEntry[] = new Array(leaf.size);
  for (let k = 0; k < leaf.size; k++) out[k] = leaf.slots[(leaf.head - leaf.size + k + cap) % cap]!;
  return out;
}

/**
 * The WS messages kept per key: a ring of the last few for each, found on the hot path by
 * the raw key values nested field by field (no joined key string built and hashed).
 */
export class KeyRings {
  readonly rings = new Map<string, KeyLeaf>();
  private readonly fast = fastNode();

  constructor(private readonly keyFields: string[], readonly ringSize: number) {}

  /** The leaf of a payload by its key fields (null: a key field is missing). */
  leafOf(data: Record<string, unknown>): KeyLeaf | null {
    const f = this.keyFields;
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
    return this.leaf(keyOf(data, this.keyFields)!);
  }

  leaf(key: string): KeyLeaf {
    let leaf = this.rings.get(key);
    if (!leaf) { leaf = { key, slots: [], head: 0, size: 0, dead: false }; this.rings.set(key, leaf); }
    return leaf;
  }

  /** Lets go of messages older than the retention, and of keys idle for 20 retentions (or the least recent past MAX_LEAVES). */
  prune(now: number, retentionMs: number): void {
    const cutoff = now - retentionMs;
    const forget = now - retentionMs * 20;
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
