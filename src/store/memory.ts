import { EventEmitter } from 'node:events';
import { isTrue } from './effective.js';
import { AUDIT_MAXLEN, VERIFY_KEEP } from './keys.js';
import type {
  AuditEntry, ChangeOutcome, ChangeRequest, FlagEvent, FlagSnapshot, FlagStore, Subscription,
} from './types.js';

/**
 * The in-process store: same rules as the Redis one (CHANGE_SCRIPT), for the demo and the
 * simulator on a machine without Redis. Nothing survives the process.
 */
export class MemoryFlagStore implements FlagStore {
  readonly kind = 'memory' as const;
  readonly description = 'in-process store (nothing is kept after exit)';
  private readonly flags = new Map<string, string>();
  private rev = 0;
  private seq = 0;
  private readonly audit: AuditEntry[] = [];
  private readonly verify = new Map<string, unknown[]>();
  private readonly events = new EventEmitter();

  async snapshot(): Promise<FlagSnapshot> {
    return { raw: Object.fromEntries(this.flags), rev: this.rev };
  }

  async change(req: ChangeRequest): Promise<ChangeOutcome> {
    const effective = (v: string | undefined, fallback: boolean) => (v === undefined ? fallback : isTrue(v));
    const current = this.flags.get(req.feature);
    const previous = effective(current, req.envFallback);
    const target = String(req.enabled);
    // As CHANGE_SCRIPT: only a value in the store makes a no-op; a missing field is pinned.
    if (current !== undefined && previous === req.enabled) return { status: 'noop', current: previous, rev: this.rev };
    // As CHANGE_SCRIPT: the verify gate's evidence must be what it was judged on.
    if (req.guard && (req.guard.rev !== this.rev || (await this.verifyHead(req.guard.verifyFeature)) !== req.guard.verifyHead)) return { status: 'stale' };
    if (req.enabled && !req.forced) {
      const blockers = req.requireOn.filter((r) => !effective(this.flags.get(r.feature), r.envFallback)).map((r) => r.feature);
      if (blockers.length) return { status: 'refused', blockers };
    }
    this.flags.set(req.feature, target);
    const rev = ++this.rev;
    const at = new Date().toISOString();
    const auditId = `${Date.now()}-${this.seq++}`;
    this.audit.push({ id: auditId, feature: req.feature, from: previous, to: req.enabled, actor: req.actor, reason: req.reason, rev, at, forced: req.forced });
    if (this.audit.length > AUDIT_MAXLEN) this.audit.shift();
    const event: FlagEvent = { feature: req.feature, enabled: req.enabled, previous, actor: req.actor, reason: req.reason, rev, at };
    // Delivered asynchronously, as pub/sub is: a subscriber never runs inside change().
    setImmediate(() => this.events.emit('event', event));
    return { status: 'changed', previous, rev, at, auditId };
  }

  async history(opts: { feature?: string; limit: number }): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    for (let i = this.audit.length - 1; i >= 0 && out.length < opts.limit; i--) {
      const e = this.audit[i]!;
      if (!opts.feature || e.feature === opts.feature) out.push(e);
    }
    return out;
  }

  async subscribe(onEvent: (e: FlagEvent) => void): Promise<Subscription> {
    this.events.on('event', onEvent);
    return { close: async () => { this.events.off('event', onEvent); } };
  }

  async pushVerify(feature: string, report: unknown): Promise<void> {
    const list = this.verify.get(feature) ?? [];
    list.unshift(JSON.parse(JSON.stringify(report)));
    list.length = Math.min(list.length, VERIFY_KEEP);
    this.verify.set(feature, list);
  }

  async verifyHead(feature: string): Promise<string | null> {
    const head = this.verify.get(feature)?.[0];
    return head === undefined ? null : JSON.stringify(head);
  }

  async verifyReports(feature: string, limit: number): Promise<unknown[]> {
    return (this.verify.get(feature) ?? []).slice(0, limit);
  }

  async ping(): Promise<number> {
    return 0;
  }

  private monitor: { info: unknown; until: number } | null = null;

  async beat(info: object, ttlMs: number): Promise<void> {
    this.monitor = { info: JSON.parse(JSON.stringify(info)), until: Date.now() + ttlMs };
  }

  async monitorBeat(): Promise<unknown> {
    return this.monitor && this.monitor.until > Date.now() ? this.monitor.info : null;
  }

  async health(): Promise<null> {
    return null;
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }
}
