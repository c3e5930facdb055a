/**
 * Market sessions (PROTOCOL.md section 5): one session runs from a `market_status` with
 * status OPEN for the configured country to the next one for that market that is not OPEN.
 * A session already under way when the tool connects is partial and does not count.
 * Backends without market status are judged over fixed windows instead.
 */

export interface SessionInfo {
  /** 1, 2, ... for complete sessions; 0 for the partial one under way at connect. */
  index: number;
  partial: boolean;
  openedAt: number;
  closedAt: number | null;
  /** "USA 14:30-21:00" (UTC), or "window 2" for fixed windows. */
  label: string;
  /** The status that ended it (CLOSED, ...). */
  endStatus: string | null;
  /** The market opened while the socket was away: counted, and the gap is charged to it. */
  openedInGap?: boolean;
}

export type SessionChange = { kind: 'open' | 'close'; session: SessionInfo };

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

export interface SessionSource {
  /** Current session (open), if any. */
  current(): SessionInfo | null;
  all(): SessionInfo[];
  completed(): number;
}

export class MarketSessions implements SessionSource {
  private status: string | null = null;
  private open: SessionInfo | null = null;
  private readonly done: SessionInfo[] = [];
  private next = 1;
  private openLabelAt = 0;
  /** The socket was away with no session open, and no status has come since. */
  private gapped = false;

  constructor(readonly country: string) {}

  /**
   * Feed one market_status payload. Returns the session change it causes, if any. Items
   * for other countries, and repeats of the current status, change nothing.
   */
  onStatus(data: unknown, at: number): SessionChange | null {
    if (typeof data !== 'object' || data === null) return null;
    const d = data as Record<string, unknown>;
    // Countries are names people type into a config: "usa" means USA.
    if (String(d.country ?? '').toUpperCase() !== this.country.toUpperCase() || typeof d.status !== 'string') return null;
    const status = d.status.toUpperCase();
    // Label with the backend's own clock when it says (rehearsals run it faster than ours).
    const ts = typeof d.timestamp === 'string' || typeof d.timestamp === 'number' ? new Date(d.timestamp).getTime() : NaN;
    const labelAt = Number.isFinite(ts) ? ts : at;
    const first = this.status === null;
    const was = this.status;
    const gapped = this.gapped;
    this.status = status;
    this.gapped = false;
    if (status === 'OPEN' && (first || was !== 'OPEN')) {
      const partial = first;
      this.open = { index: partial ? 0 : this.next++, partial, openedAt: at, closedAt: null, label: `${this.country} ${hhmm(labelAt)}-`, endStatus: null };
      if (gapped && !partial) this.open.openedInGap = true;
      this.openLabelAt = labelAt;
      return { kind: 'open', session: { ...this.open } };
    }
    if (status !== 'OPEN' && was === 'OPEN' && this.open) {
      const s = this.open;
      s.closedAt = at;
      s.endStatus = status;
      s.label = `${this.country} ${hhmm(this.openLabelAt)}-${hhmm(labelAt)}${s.partial ? ' (partial)' : ''}`;
      this.done.push(s);
      this.open = null;
      return { kind: 'close', session: { ...s } };
    }
    return null;
  }

  /**
   * The socket was away. A session still open carries on (the gap is charged to it). With
   * none open, the market may have opened during the gap: that session is still counted
   * (the run was watching before it opened; "partial" means joined after the open), marked
   * openedInGap so the gap is charged to it.
   */
  onReconnect(): void {
    if (!this.open) this.gapped = true;
  }

  get marketStatus(): string | null {
    return this.status;
  }

  current(): SessionInfo | null {
    return this.open ? { ...this.open } : null;
  }

  all(): SessionInfo[] {
    return [...this.done, ...(this.open ? [this.open] : [])].map((s) => ({ ...s }));
  }

  completed(): number {
    return this.done.filter((s) => !s.partial).length;
  }
}

/** Back-to-back windows of a fixed length from the start; each one is complete. */
export class FixedSessions implements SessionSource {
  private open: SessionInfo | null = null;
  private readonly done: SessionInfo[] = [];

  constructor(readonly lengthMs: number) {}

  /** Open the first window, or roll to the next ones when time has passed. */
  tick(now: number): SessionChange[] {
    const changes: SessionChange[] = [];
    if (!this.open) {
      this.open = { index: 1, partial: false, openedAt: now, closedAt: null, label: 'window 1', endStatus: null };
      changes.push({ kind: 'open', session: { ...this.open } });
      return changes;
    }
    while (now >= this.open.openedAt + this.lengthMs) {
      const s: SessionInfo = this.open;
      s.closedAt = s.openedAt + this.lengthMs;
      s.endStatus = 'WINDOW';
      this.done.push(s);
      changes.push({ kind: 'close', session: { ...s } });
      const n: number = s.index + 1;
      this.open = { index: n, partial: false, openedAt: s.closedAt, closedAt: null, label: `window ${n}`, endStatus: null };
      changes.push({ kind: 'open', session: { ...this.open } });
    }
    return changes;
  }

  current(): SessionInfo | null {
    return this.open ? { ...this.open } : null;
  }

  all(): SessionInfo[] {
    return [...this.done, ...(this.open ? [this.open] : [])].map((s) => ({ ...s }));
  }

  completed(): number {
    return this.done.length;
  }
}
