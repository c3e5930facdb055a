import type { Config } from '../config/types.js';
import { MemoryFlagStore } from './memory.js';
import { RedisFlagStore } from './redis.js';
import type { FlagStore } from './types.js';

export type { FlagStore } from './types.js';
export { MemoryFlagStore } from './memory.js';

/** Open the configured Redis store. One-shot commands fail fast; long-running ones reconnect. */
export function openStore(config: Config, opts: { oneShot: boolean }): Promise<FlagStore> {
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
