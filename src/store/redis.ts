import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../errors.js';
import { redactText, redactUrl } from '../redact.js';
import { CHANGE_COMMAND, CHANGE_SCRIPT } from './change.lua.js';
import { judgeHealth, parseInfo, type HealthFinding, type KeyFacts, type ServerFacts } from './health.js';
import { AUDIT_MAXLEN, VERIFY_KEEP, storeKeys, type StoreKeys } from './keys.js';
import type {
  AuditEntry, ChangeOutcome, ChangeRequest, ConnectionState, FlagEvent, FlagSnapshot, FlagStore, Subscription,
} from './types.js';

type Client = Redis | Cluster;

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  /**
   * One-shot commands fail fast: no retries, no offline queue, short timeouts. ioredis's
   * defaults are for servers and retry forever, which hangs a CLI (ioredis #1194, #285).
   * Long-running commands (simulate, parity, verify, history --follow) pass false and
   * reconnect with backoff.
   */
  oneShot: boolean;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 3_000;

function backoff(times: number): number {
  return Math.min(200 * 2 ** Math.min(times, 5), 5_000) + Math.floor(Math.random() * 200);
}

/** Parse the URL forms we accept into ioredis constructor arguments. */
function makeClient(opts: RedisStoreOptions): Client {
  const base: RedisOptions = {
    lazyConnect: true,
    connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    commandTimeout: opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    enableOfflineQueue: !opts.oneShot,
    maxRetriesPerRequest: opts.oneShot ? 0 : 1,
    retryStrategy: opts.oneShot ? () => null : backoff,
    // A one-shot CLI has nothing to do while disconnected; a server keeps trying.
    reconnectOnError: null,
  };
  const url = opts.url;
  const multi = /^redis\+(sentinel|cluster):\/\/(?:([^@/]*)@)?([^/?]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(url);
  if (multi) {
    const [, kind, auth, hosts, path, query] = multi;
    const nodes = hosts!.split(',').map((h) => {
      const [host, port] = h.split(':');
      return { host: host || '127.0.0.1', port: Number(port || (kind === 'sentinel' ? 26379 : 6379)) };
    });
    let username: string | undefined;
    let password: string | undefined;
    if (auth) {
      const i = auth.indexOf(':');
      if (i >= 0) { username = decodeURIComponent(auth.slice(0, i)) || undefined; password = decodeURIComponent(auth.slice(i + 1)); }
      else password = decodeURIComponent(auth);
    }
    const params = new URLSearchParams(query ?? '');
    if (kind === 'cluster') {
      return new Cluster(nodes, {
        lazyConnect: true,
        enableOfflineQueue: !opts.oneShot,
        clusterRetryStrategy: opts.oneShot ? () => null : backoff,
        redisOptions: { ...base, username, password },
      });
    }
    const [name, db] = (path ?? '').split('/');
    if (!name) throw new StoreUnavailableError(`Redis URL ${redactUrl(url)} names no Sentinel master`, 'use redis+sentinel://host:26379,host2:26379/mymaster');
    return new Redis({
      ...base, sentinels: nodes, name, username, password,
      db: db ? Number(db) : undefined,
      sentinelPassword: params.get('sentinelPassword') ?? undefined,
    });
  }
  return new Redis(url, base);
}

/** Turn an ioredis failure into one line a person can act on. */
export function describeRedisError(err: unknown, where: string): StoreUnavailableError {
  const e = err as NodeJS.ErrnoException & { message?: string };
  const msg = String(e?.message ?? err);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(msg)) {
    return new StoreUnavailableError(`Redis at ${where} refused the credentials`, 'check the user and password in --redis / THOR_CUTOVER_REDIS_URL', err, 'E_STORE_AUTH');
  }
  if (/NOPERM/.test(msg)) {
    return new StoreUnavailableError(`Redis at ${where}: the ACL user may not run a command the tool needs (${msg.split('\n')[0]})`, 'grant +@read +@write +@stream +@pubsub +@scripting on the prefix keys', err, 'E_STORE_AUTH');
  }
  if (/certificate|SSL|TLS|EPROTO|self.signed|wrong version number/i.test(msg)) {
    return new StoreUnavailableError(`TLS to Redis at ${where} failed: ${msg}`, 'rediss:// needs a TLS port; redis:// a plain one', err, 'E_STORE_TLS');
  }
  if (e?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) {
    return new StoreUnavailableError(`cannot reach Redis at ${where}: connection refused`, 'is redis-server running? set --redis or THOR_CUTOVER_REDIS_URL', err);
  }
  if (/ETIMEDOUT|timed? ?out/i.test(msg) && where.startsWith('rediss://')) {
    return new StoreUnavailableError(`cannot reach Redis at ${where}: the TLS handshake did not complete`, 'is that port TLS-enabled? rediss:// needs a TLS port, redis:// a plain one', err, 'E_STORE_TLS');
  }
  if (/ETIMEDOUT|timed? ?out/i.test(msg)) {
    return new StoreUnavailableError(`cannot reach Redis at ${where}: timed out`, 'check the host and port, and that nothing between blocks it', err);
  }
  if (/ENOTFOUND|EAI_AGAIN/.test(msg)) {
    return new StoreUnavailableError(`cannot reach Redis at ${where}: host not found`, 'check the host name in --redis / THOR_CUTOVER_REDIS_URL', err);
  }
  if (/Connection is closed|Stream isn't writeable|enableOfflineQueue|max retries per request/i.test(msg)) {
    return new StoreUnavailableError(`lost the connection to Redis at ${where}`, 'is redis-server running?', err);
  }
  return new StoreUnavailableError(`Redis at ${where}: ${redactText(msg.split('\n')[0] ?? '')}`, undefined, err);
}

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

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0]!;

/**
 * One server's persistence and eviction settings. INFO answers on most managed Redis
 * (ElastiCache, Memorystore) where CONFIG is renamed or refused; `save` has no INFO field,
 * so RDB snapshots need CONFIG GET, and "could not check" is an answer, not an error.
 */
async function serverFacts(node: string, client: Redis): Promise<ServerFacts> {
  const facts: ServerFacts = { node, save: null, aof: null, policy: null, maxmemory: null, uptimeS: null, refused: [] };
  const [info, save] = await Promise.all([
    client.info().then((t) => parseInfo(t), (err: unknown) => { facts.refused.push(`INFO refused: ${firstLine(err)}`); return null; }),
    client.config('GET', 'save').then((r) => r as string[], (err: unknown) => { facts.refused.push(`CONFIG GET refused: ${firstLine(err)}`); return null; }),
  ]);
  if (save && save.length >= 2) facts.save = save[1]!;
  if (info) {
    const num = (key: string) => (info.has(key) && Number.isFinite(Number(info.get(key))) ? Number(info.get(key)) : null);
    if (info.has('aof_enabled')) facts.aof = info.get('aof_enabled') === '1';
    facts.policy = info.get('maxmemory_policy') ?? null;
    facts.maxmemory = num('maxmemory');
    facts.uptimeS = num('uptime_in_seconds');
  } else if (save) {
    // INFO refused but CONFIG allowed: read the rest from CONFIG.
    const get = async (name: string) => ((await client.config('GET', name)) as string[])[1] ?? null;
    const [aof, policy, maxmemory] = await Promise.all([get('appendonly'), get('maxmemory-policy'), get('maxmemory')]);
    facts.aof = aof === null ? null : aof === 'yes';
    facts.policy = policy;
    facts.maxmemory = maxmemory === null ? null : Number(maxmemory);
  }
  return facts;
}

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
