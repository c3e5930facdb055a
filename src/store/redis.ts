import { Cluster, type Redis } from 'ioredis';
import { redactUrl } from '../redact.js';
import { CHANGE_COMMAND, CHANGE_SCRIPT } from './change.lua.js';
import { judgeHealth, type HealthFinding, type KeyFacts } from './health.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, describeRedisError, makeClient, serverFacts, type Client, type RedisStoreOptions } from './redis-client.js';
import { AUDIT_MAXLEN, VERIFY_KEEP, storeKeys, type StoreKeys } from './keys.js';
import type {
  AuditEntry, ChangeOutcome, ChangeRequest, ConnectionState, FlagEvent, FlagSnapshot, FlagStore, Subscription,
} from './types.js';

export { describeRedisError, type RedisStoreOptions } from './redis-client.js';

function parseAudit(id: string, fields: string[]): AuditEntry {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
  return {
    id,
    feature: m.get('feature') ?? '',
    from: m.get('from') === 'true',
    to: m.get('to') === 'true',
    actor: m.get('actor') ?? '',
    reason: m.get('reason') ?? '',
    rev: Number(m.get('rev') ?? 0),
    at: m.get('at') ?? '',
    forced: m.get('forced') === 'true',
  };
}

/** How far back the reset check reads the audit stream for each feature's last write. */
const HEALTH_AUDIT_SCAN = 2_000;

export class RedisFlagStore implements FlagStore {
  readonly kind = 'redis' as const;
  readonly description: string;
  private readonly keys: StoreKeys;
  private readonly subscribers = new Set<Client>();

  private constructor(private readonly client: Client, private readonly opts: RedisStoreOptions) {
    this.description = redactUrl(opts.url);
    this.keys = storeKeys(opts.prefix);
    // ioredis emits 'error' on every failed attempt; without a listener Node prints them. We
    // surface failures through the commands that hit them instead.
    client.on('error', (err: Error) => { this.lastError = err; });
  }

  /**
   * The change script, defined on the first change (hashing it loads crypto: a read-only
   * command such as status does not pay for it), then sent once and called by its SHA
   * (ioredis sends it again after a SCRIPT FLUSH or a restart).
   */
  private changeScript(): (...a: (string | number)[]) => Promise<unknown> {
    const c = this.client as unknown as Record<string, ((...a: (string | number)[]) => Promise<unknown>) | undefined>;
    if (!c[CHANGE_COMMAND]) this.client.defineCommand(CHANGE_COMMAND, { numberOfKeys: 4, lua: CHANGE_SCRIPT });
    return c[CHANGE_COMMAND]!.bind(this.client);
  }

  /** The socket-level cause (ECONNREFUSED, WRONGPASS...) behind a generic "Connection is closed". */
  private lastError: Error | undefined;

  static async connect(opts: RedisStoreOptions): Promise<RedisFlagStore> {
    const client = makeClient(opts);
    const store = new RedisFlagStore(client, opts);
    const timeout = (opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS) + 500;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('connect timed out')), timeout); }),
      ]);
      // AUTH errors only surface on the first command with some servers: ask now, fail now.
      await client.ping();
    } catch (err) {
      client.disconnect();
      const generic = /Connection is closed|connect timed out/i.test(String((err as Error)?.message));
      throw describeRedisError(generic && store.lastError ? store.lastError : err, store.description);
    } finally {
      clearTimeout(timer);
    }
    return store;
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw describeRedisError(err, this.description);
    }
  }

  snapshot(): Promise<FlagSnapshot> {
    return this.run(async () => {
      // One MULTI so the flags and rev are read at the same instant.
      const res = await this.client.multi().hgetall(this.keys.flags).get(this.keys.rev).exec();
      if (!res) throw new Error('transaction aborted');
      const [[e1, raw], [e2, rev]] = res as [[Error | null, Record<string, string>], [Error | null, string | null]];
      if (e1) throw e1;
      if (e2) throw e2;
      return { raw: raw ?? {}, rev: Number(rev ?? 0) };
    });
  }

  change(req: ChangeRequest): Promise<ChangeOutcome> {
    return this.run(async () => {
      const at = new Date().toISOString();
      const args: (string | number)[] = [
        req.feature, String(req.enabled), req.actor, req.reason, at, String(req.forced), this.keys.events,
        String(req.envFallback), AUDIT_MAXLEN, req.requireOn.length,
        req.guard ? 'guard' : '', req.guard?.rev ?? 0, req.guard?.verifyHead ?? '',
      ];
      for (const r of req.requireOn) args.push(r.feature, String(r.envFallback));
      const verifyKey = this.keys.verify(req.guard?.verifyFeature ?? req.feature);
      const res = (await this.changeScript()(this.keys.flags, this.keys.rev, this.keys.audit, verifyKey, ...args)) as (string | number)[];
      const status = res[0];
      if (status === 'stale') return { status: 'stale' };
      if (status === 'noop') return { status: 'noop', current: res[1] === 'true', rev: Number(res[2]) };
      if (status === 'refused') return { status: 'refused', blockers: res.slice(1).map(String) };
      return { status: 'changed', previous: res[1] === 'true', rev: Number(res[2]), at, auditId: String(res[3]) };
    });
  }

  history(opts: { feature?: string; limit: number }): Promise<AuditEntry[]> {
    return this.run(async () => {
      const out: AuditEntry[] = [];
      let end = '+';
      // Page backwards; filtering by feature may need more than one page.
      for (;;) {
        const page = (await this.client.xrevrange(this.keys.audit, end, '-', 'COUNT', 500)) as [string, string[]][];
        for (const [id, fields] of page) {
          const e = parseAudit(id, fields);
          if (!opts.feature || e.feature === opts.feature) out.push(e);
          if (out.length >= opts.limit) return out;
        }
        if (page.length < 500) return out;
        end = `(${page[page.length - 1]![0]}`;
      }
    });
  }

  async subscribe(onEvent: (e: FlagEvent) => void, onState?: (s: ConnectionState, detail?: string) => void): Promise<Subscription> {
    // A subscriber connection is its own client, and always reconnects: it is long-lived by nature.
    const sub = makeClient({ ...this.opts, oneShot: false, commandTimeoutMs: undefined });
    this.subscribers.add(sub);
    let connected = false;
    sub.on('error', (err: Error) => onState?.('reconnecting', describeRedisError(err, this.description).message));
    sub.on('ready', () => { if (connected) onState?.('connected'); connected = true; });
    sub.on('reconnecting', () => onState?.('reconnecting'));
    sub.on('message', (_channel: string, message: string) => {
      let parsed: unknown;
      try { parsed = JSON.parse(message); } catch { return; }
      if (parsed && typeof parsed === 'object' && typeof (parsed as FlagEvent).feature === 'string') onEvent(parsed as FlagEvent);
    });
    try {
      await sub.connect();
      await sub.subscribe(this.keys.events);
    } catch (err) {
      sub.disconnect();
      this.subscribers.delete(sub);
      throw describeRedisError(err, this.description);
    }
    return {
      close: async () => {
        this.subscribers.delete(sub);
        sub.disconnect();
        onState?.('closed');
      },
    };
  }

  pushVerify(feature: string, report: unknown): Promise<void> {
    return this.run(async () => {
      const key = this.keys.verify(feature);
      const res = await this.client.multi().lpush(key, JSON.stringify(report)).ltrim(key, 0, VERIFY_KEEP - 1).exec();
      const failed = res?.find(([e]) => e);
      if (failed) throw failed[0];
    });
  }

  verifyHead(feature: string): Promise<string | null> {
    return this.run(() => this.client.lindex(this.keys.verify(feature), 0));
  }

  verifyReports(feature: string, limit: number): Promise<unknown[]> {
    return this.run(async () => {
      const items = await this.client.lrange(this.keys.verify(feature), 0, limit - 1);
      const out: unknown[] = [];
      for (const s of items) {
        try { out.push(JSON.parse(s)); } catch { /* a record someone wrote by hand: skip, it is not ours */ }
      }
      return out;
    });
  }

  ping(): Promise<number> {
    return this.run(async () => {
      const t = performance.now();
      await this.client.ping();
      return performance.now() - t;
    });
  }

  beat(info: object, ttlMs: number): Promise<void> {
    return this.run(async () => {
      await this.client.set(this.keys.monitor, JSON.stringify(info), 'PX', Math.max(1, Math.round(ttlMs)));
    });
  }

  monitorBeat(): Promise<unknown> {
    return this.run(async () => {
      const raw = await this.client.get(this.keys.monitor);
      if (raw === null) return null;
      try { return JSON.parse(raw) as unknown; } catch { return null; }
    });
  }

  health(features: string[]): Promise<HealthFinding[]> {
    return this.run(async () => {
      // The flag keys share one slot, but which master holds it moves with resharding: a
      // Cluster is judged by its worst master.
      const nodes: { node: string; client: Redis }[] = this.client instanceof Cluster
        ? this.client.nodes('master').map((n) => ({ node: `${n.options.host}:${n.options.port}`, client: n }))
        : [{ node: '', client: this.client }];
      const [servers, keys] = await Promise.all([Promise.all(nodes.map((n) => serverFacts(n.node, n.client))), this.keyFacts(features)]);
      return judgeHealth(servers, keys);
    });
  }

  private async keyFacts(features: string[]): Promise<KeyFacts> {
    const k = this.keys;
    const verifyKeys = features.map((f) => k.verify(f));
    const p = this.client.pipeline()
      .exists(k.flags).hkeys(k.flags).get(k.rev).xlen(k.audit)
      .xrevrange(k.audit, '+', '-', 'COUNT', HEALTH_AUDIT_SCAN)
      .pttl(k.flags).pttl(k.rev).pttl(k.audit);
    for (const key of verifyKeys) p.exists(key);
    const res = await p.exec();
    if (!res) throw new Error('pipeline aborted');
    const failed = res.find(([e]) => e);
    if (failed) throw failed[0];
    const v = res.map(([, r]) => r);
    const audit = (v[4] as [string, string[]][]).map(([id, f]) => parseAudit(id, f));
    const audited = new Map<string, { feature: string; to: boolean; rev: number; at: string }>();
    for (const e of audit) if (!audited.has(e.feature)) audited.set(e.feature, { feature: e.feature, to: e.to, rev: e.rev, at: e.at });
    const ttls = [k.flags, k.rev, k.audit].map((key, i) => ({ key, ms: Number(v[5 + i]) })).filter((t) => t.ms > 0);
    return {
      flagsKey: k.flags, revKey: k.rev, auditKey: k.audit,
      flagFields: Number(v[0]) ? (v[1] as string[]) : null,
      rev: v[2] === null ? null : Number(v[2]),
      auditLength: Number(v[3]),
      auditLastRev: audit.length ? audit[0]!.rev : null,
      audited: [...audited.values()],
      verifyKeys: verifyKeys.filter((_, i) => Number(v[8 + i]) > 0),
      ttls,
    };
  }

  /**
   * Delete every key under this store's prefix. Only for a throw-away prefix (the demo's):
   * deliberately not on the FlagStore interface, so no command can reach it by accident.
   */
  dropPrefix(features: string[]): Promise<void> {
    return this.run(async () => {
      await this.client.del(this.keys.flags, this.keys.rev, this.keys.audit, this.keys.monitor, ...features.map((f) => this.keys.verify(f)));
    });
  }

  async close(): Promise<void> {
    for (const s of this.subscribers) s.disconnect();
    this.subscribers.clear();
    try {
      await this.client.quit();
    } catch {
      // Already gone (Redis stopped): nothing left to close politely.
      this.client.disconnect();
    }
  }
}
