import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../errors.js';
import { redactText, redactUrl } from '../redact.js';
import { parseInfo, type ServerFacts } from './health.js';

/** The ioredis client of the store (standalone, Sentinel, Cluster), its errors in people's words, and the server's settings. */

export type Client = Redis | Cluster;

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

export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 3_000;

function backoff(times: number): number {
  return Math.min(200 * 2 ** Math.min(times, 5), 5_000) + Math.floor(Math.random() * 200);
}

/** Parse the URL forms we accept into ioredis constructor arguments. */
export function makeClient(opts: RedisStoreOptions): Client {
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

export const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0]!;

/**
 * One server's persistence and eviction settings. INFO answers on most managed Redis
 * (ElastiCache, Memorystore) where CONFIG is renamed or refused; `save` has no INFO field,
 * so RDB snapshots need CONFIG GET, and "could not check" is an answer, not an error.
 */
export async function serverFacts(node: string, client: Redis): Promise<ServerFacts> {
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
