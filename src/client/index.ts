/**
 * etagkit/client: a `fetch` with an RFC 9111 cache (private by default, shared on request), its stores, and
 * conditional updates.
 */

export {
  ConditionalUpdateError,
  type ConditionalUpdateFailure,
  type ConditionalUpdateOptions,
  type ConditionalUpdateResult,
  conditionalUpdate,
  type MutateContext,
} from './conditional-update.ts';
export {
  type CacheStats,
  type CachingFetch,
  type CreateFetchOptions,
  createFetch,
  type DecisionMessage,
} from './fetch.ts';
export type { CacheStore, StoredResponse } from './store.ts';
export { type MemoryStoreOptions, memoryStore } from './stores/memory.ts';
export { type RedisStoreOptions, redisStore } from './stores/redis.ts';
export { type SqliteStoreOptions, sqliteStore } from './stores/sqlite.ts';
