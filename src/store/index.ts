import type { Config } from '../config/types.js';
import { MemoryFlagStore } from './memory.js';
import { RedisFlagStore } from './redis.js';
import type { FlagStore } from './types.js';

export type { FlagStore } from './types.js';
export { MemoryFlagStore } from './memory.js';

/**
 * `memory://NAME` names an in-process store shared by every command run in this process:
 * the demo runs the real commands against the simulator without a Redis. Each open gets a
 * handle whose close() leaves the shared store alone.
 */
const inProcess = new Map<string, MemoryFlagStore>();

export function isInProcessUrl(url: string): boolean {
  return url.startsWith('memory://');
}

export function inProcessStore(url: string): FlagStore {
  let shared = inProcess.get(url);
  if (!shared) { shared = new MemoryFlagStore(); inProcess.set(url, shared); }
  const store = shared;
  const handle: FlagStore = {
    kind: 'memory',
    description: store.description,
    snapshot: () => store.snapshot(),
    change: (req) => store.change(req),
    history: (o) => store.history(o),
    subscribe: (onEvent) => store.subscribe(onEvent),
    pushVerify: (f, r) => store.pushVerify(f, r),
    verifyReports: (f, n) => store.verifyReports(f, n),
    verifyHead: (f) => store.verifyHead(f),
    ping: () => store.ping(),
    beat: (info, ttl) => store.beat(info, ttl),
    monitorBeat: () => store.monitorBeat(),
    health: () => store.health(),
    close: async () => {},
  };
  return handle;
}

/** Open the configured store. One-shot commands fail fast; long-running ones reconnect. */
export async function openStore(config: Config, opts: { oneShot: boolean }): Promise<FlagStore> {
  if (isInProcessUrl(config.redis.url)) return inProcessStore(config.redis.url);
  return RedisFlagStore.connect({ url: config.redis.url, prefix: config.redis.prefix, oneShot: opts.oneShot });
}

/** Scoped use: the store is closed whatever happens inside. */
export async function withStore<T>(config: Config, fn: (store: FlagStore) => Promise<T>): Promise<T> {
  const store = await openStore(config, { oneShot: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function memoryStore(): FlagStore {
  return new MemoryFlagStore();
}
