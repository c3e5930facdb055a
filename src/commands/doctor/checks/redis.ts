import { Redis } from 'ioredis';
import { redactUrl } from '../../../config/load.js';
import type { Config } from '../../../config/types.js';
import { isCutoverError } from '../../../errors.js';
import { formatDuration } from '../../../output/format.js';
import { cutoverMode, resolveFlags } from '../../../store/effective.js';
import { isInProcessUrl, openStore } from '../../../store/index.js';
import { storeKeys } from '../../../store/keys.js';
import type { HealthFinding, HealthId } from '../../../store/health.js';
import type { AuditEntry, FlagSnapshot, FlagStore } from '../../../store/types.js';
import { beforeDeadline, LATE, msLeft } from '../deadline.js';
import { check, type Check } from '../types.js';

/** What the later checks (the backend's flags) need from Redis. */
export interface RedisFacts {
  reachable: boolean;
  snapshot: FlagSnapshot | null;
  /** The newest audit entry of each feature: when its flag last changed. */
  lastChange: Map<string, AuditEntry>;
  /** Subscribers of `<prefix>:events` (PUBSUB NUMSUB); null when not measured. */
  eventSubscribers: number | null;
}

/** How far back the audit stream is read to find each feature's last change. */
const HISTORY_SCAN = 2_000;

const title = {
  reachable: 'Redis', layout: 'Redis key layout', env: 'flags: env vs Redis',
  persistence: 'Redis persistence', eviction: 'Redis eviction', reset: 'flag store reset',
} as const;

const HEALTH_IDS: HealthId[] = ['persistence', 'eviction', 'reset'];

export async function checkRedis(config: Config, env: NodeJS.ProcessEnv, until: number): Promise<{ checks: Check[]; facts: RedisFacts }> {
  const facts: RedisFacts = { reachable: false, snapshot: null, lastChange: new Map(), eventSubscribers: null };
  const skipped = (why: string): Check[] => [
    check('redis', 'redis.layout', title.layout, 'skip', why),
    check('redis', 'redis.env', title.env, 'skip', why),
    ...HEALTH_IDS.map((id) => check('redis', `redis.${id}`, title[id], 'skip', why)),
  ];

  let store: FlagStore | typeof LATE;
  try {
    store = await beforeDeadline(openStore(config, { oneShot: true }), until, (s) => s.close());
  } catch (err) {
    if (!isCutoverError(err)) throw err;
    const hint = err.hint ?? 'is redis-server running? check --redis / THOR_CUTOVER_REDIS_URL (runbook: `redis-cli ping` should say PONG)';
    return { checks: [check('redis', 'redis.reachable', title.reachable, 'fail', err.message, hint), ...skipped('Redis unreachable')], facts };
  }
  if (store === LATE) {
    return { checks: [noAnswer(config), ...skipped('Redis unreachable')], facts };
  }

  const s = store;
  try {
    const read = await beforeDeadline(Promise.all([
      s.ping(),
      s.snapshot().catch((err: unknown) => err as Error),
      s.history({ limit: HISTORY_SCAN }).catch(() => [] as AuditEntry[]),
      inspectLayout(config, until),
      s.health(config.features.map((f) => f.name)).catch((err: unknown) => err as Error),
    ]), until);
    if (read === LATE) return { checks: [noAnswer(config), ...skipped('Redis did not answer in time')], facts };
    const [rtt, snap, history, layout, health] = read;
    facts.reachable = true;
    for (const e of history) if (!facts.lastChange.has(e.feature)) facts.lastChange.set(e.feature, e);
    const checks = [check('redis', 'redis.reachable', title.reachable, 'pass', `${s.description} · PONG in ${formatDuration(rtt)}`)];

    if (layout.kind === 'skipped') checks.push(check('redis', 'redis.layout', title.layout, 'skip', layout.why));
    else {
      facts.eventSubscribers = layout.subscribers;
      checks.push(layoutCheck(config, layout));
    }

    if (snap instanceof Error) {
      checks.push(check('redis', 'redis.env', title.env, 'skip', `cannot read the flags hash: ${snap.message}`));
    } else {
      facts.snapshot = snap;
      checks.push(envCheck(config, snap, env));
    }
    checks.push(...healthChecks(health));
    return { checks, facts };
  } catch (err) {
    if (!isCutoverError(err)) throw err;
    return { checks: [check('redis', 'redis.reachable', title.reachable, 'fail', err.message, err.hint ?? null), ...skipped('Redis unreachable')], facts };
  } finally {
    await s.close();
  }
}

/** Could the store silently forget the flags? A setting we may not read is a skip that says so, never a fail. */
function healthChecks(health: HealthFinding[] | null | Error): Check[] {
  return HEALTH_IDS.map((id) => {
    const name = `redis.${id}`;
    if (health === null) return check('redis', name, title[id], 'skip', 'in-process store (memory://): nothing is kept after exit, by design');
    if (health instanceof Error) return check('redis', name, title[id], 'skip', `could not check: ${health.message}`);
    const f = health.find((x) => x.id === id)!;
    if (f.status === 'ok') return check('redis', name, title[id], 'pass', f.summary);
    if (f.status === 'warn') return check('redis', name, title[id], 'warn', f.summary, f.hint);
    return check('redis', name, title[id], 'skip', f.summary, f.hint);
  });
}

function noAnswer(config: Config): Check {
  return check('redis', 'redis.reachable', title.reachable, 'fail', `no answer from ${redactUrl(config.redis.url)} before the --timeout`,
    'check the host and port, and that nothing between blocks it; a busy Redis (a long KEYS or SAVE) stalls every client');
}

type Layout =
  | { kind: 'skipped'; why: string }
  | { kind: 'read'; types: { flags: string; rev: string; audit: string }; fields: string[]; rev: string | null; auditLength: number; subscribers: number };

/**
 * TYPE and friends need a plain client: the flag store deliberately offers no raw access.
 * Only plain redis:// and rediss:// URLs are inspected; Sentinel and Cluster URLs need the
 * store's topology handling, which it does not expose.
 */
async function inspectLayout(config: Config, until: number): Promise<Layout> {
  const url = config.redis.url;
  if (isInProcessUrl(url)) return { kind: 'skipped', why: 'in-process store (memory://): no Redis keys' };
  if (!/^rediss?:\/\//.test(url)) return { kind: 'skipped', why: 'key layout is inspected on redis:// and rediss:// URLs only (not Sentinel / Cluster)' };
  const timeout = Math.max(200, Math.min(3_000, msLeft(until)));
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeout,
    commandTimeout: timeout,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Failures surface through the commands below; without a listener ioredis prints them.
  client.on('error', () => {});
  const keys = storeKeys(config.redis.prefix);
  try {
    await client.connect();
    const [flags, rev, audit] = await Promise.all([client.type(keys.flags), client.type(keys.rev), client.type(keys.audit)]);
    const [fields, revValue, auditLength, numsub] = await Promise.all([
      flags === 'hash' ? client.hkeys(keys.flags) : Promise.resolve([] as string[]),
      rev === 'string' ? client.get(keys.rev) : Promise.resolve(null),
      audit === 'stream' ? client.xlen(keys.audit) : Promise.resolve(0),
      client.call('PUBSUB', 'NUMSUB', keys.events) as Promise<[string, number]>,
    ]);
    return { kind: 'read', types: { flags, rev, audit }, fields, rev: revValue, auditLength, subscribers: Number(numsub[1] ?? 0) };
  } catch (err) {
    return { kind: 'skipped', why: `could not inspect the keys: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    client.disconnect();
  }
}

function layoutCheck(config: Config, l: Extract<Layout, { kind: 'read' }>): Check {
  const keys = storeKeys(config.redis.prefix);
  const wrong: string[] = [];
  if (l.types.flags !== 'hash' && l.types.flags !== 'none') wrong.push(`${keys.flags} is a ${l.types.flags}, expected a hash`);
  if (l.types.rev !== 'string' && l.types.rev !== 'none') wrong.push(`${keys.rev} is a ${l.types.rev}, expected a string`);
  else if (l.rev !== null && !/^\d+$/.test(l.rev)) wrong.push(`${keys.rev} holds "${l.rev.slice(0, 20)}", expected an integer`);
  if (l.types.audit !== 'stream' && l.types.audit !== 'none') wrong.push(`${keys.audit} is a ${l.types.audit}, expected a stream`);
  const parts = [
    l.types.flags === 'hash' ? `flags hash (${l.fields.length} field${l.fields.length === 1 ? '' : 's'})` : `flags ${l.types.flags === 'none' ? 'not set yet' : l.types.flags}`,
    l.types.rev === 'string' ? `rev ${l.rev}` : `rev ${l.types.rev === 'none' ? '0' : l.types.rev}`,
    l.types.audit === 'stream' ? `audit stream (${l.auditLength})` : `audit ${l.types.audit === 'none' ? 'empty' : l.types.audit}`,
    `events: ${l.subscribers} subscriber${l.subscribers === 1 ? '' : 's'}`,
  ];
  const measured = `${config.redis.prefix} · ${parts.join(' · ')}`;
  if (wrong.length) {
    return check('redis', 'redis.layout', title.layout, 'fail', `${measured} · ${wrong.join('; ')}`,
      'something else writes under this prefix (PROTOCOL.md section 2 lists the types): pick another with --prefix, or remove the stray keys');
  }
  const known = new Set(config.features.map((f) => f.name));
  const unknown = l.fields.filter((f) => !known.has(f)).sort();
  if (unknown.length) {
    return check('redis', 'redis.layout', title.layout, 'warn', `${measured} · not configured features: ${unknown.join(', ')}`,
      'a typo written by hand (redis-cli HSET), or a feature removed from the config: `thor-cutover status` lists them; HDEL the field or add the feature');
  }
  return check('redis', 'redis.layout', title.layout, 'pass', measured);
}

function envCheck(config: Config, snap: FlagSnapshot, env: NodeJS.ProcessEnv): Check {
  const flags = resolveFlags(config.features, snap.raw, env);
  const on = flags.filter((f) => f.enabled).map((f) => `${f.feature} (${f.source})`);
  const envSet = flags.filter((f) => f.envValue !== undefined).map((f) => `${f.envVar}=${f.envValue}`);
  const measured = `${cutoverMode(flags)} · on: ${on.length ? on.join(', ') : 'none'}${envSet.length ? ` · env: ${envSet.join(' ')}` : ''}`;
  const warnings = flags.flatMap((f) => f.warnings.map((w) => `${f.feature}: ${w}`));
  if (warnings.length) {
    return check('redis', 'redis.env', title.env, 'warn', `${measured} · ${warnings.join('; ')}`,
      'a backend reads the hash first and the env var only when the hash has no field (PROTOCOL.md section 2): make them agree or unset the env var');
  }
  return check('redis', 'redis.env', title.env, 'pass', measured);
}
