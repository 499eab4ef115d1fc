/**
 * A CacheStore seen through the rule "a store failure never fails a request": writes never reject, a failed store
 * is left alone for a while (so that with Redis down requests go straight to the origin instead of each waiting
 * for a timeout), an entry that cannot be served is a miss (and is deleted) without the rest of the store being
 * skipped, and a lookup waits for writes of its key still under way (read-your-writes within a process).
 */
import { unusableEntry } from './entry-check.ts';
import type { CacheStore, StoredResponse } from './store.ts';

/** How long a store that failed is bypassed before it is tried again. */
export const STORE_RETRY_MS = 5_000;

/** Why a lookup could not use the store: it failed just now, or it failed recently and is being bypassed. */
export class StoreUnavailable extends Error {
  readonly reason: 'store-error' | 'store-down';
  constructor(reason: 'store-error' | 'store-down', cause?: unknown) {
    super(
      reason === 'store-down' ? 'the cache store failed recently and is bypassed' : 'the cache store failed',
      {
        cause,
      },
    );
    this.reason = reason;
  }
}

/** A stored entry that cannot be served (see unusableEntry): reported, deleted, and treated as a miss. */
export class UnusableEntry extends Error {
  constructor(key: string, reason: string) {
    super(`the cache store returned an unusable entry for ${key} (${reason}); it was deleted`);
    this.name = 'UnusableEntry';
  }
}

export interface GuardedStore {
  /** The usable variants of `key`; rejects only with StoreUnavailable. */
  get(key: string): Promise<StoredResponse[]>;
  /** Never rejects: true once written, false when the store failed or is bypassed. */
  put(entry: StoredResponse): Promise<boolean>;
  /** Never rejects. */
  delete(key: string): Promise<void>;
  /** A lease on revalidating `key`; true when the store cannot say (revalidating twice beats never). */
  lease(key: string, ttlMs: number): Promise<boolean>;
  release(key: string): Promise<void>;
  /** Makes lookups of `key` wait for `write` until it settles. */
  track(key: string, write: Promise<unknown>): void;
}

/**
 * Wraps `store`. `onError(key, op, error)` hears about every failure (for stats and diagnostics), and about every
 * unusable entry (op `get`, error UnusableEntry).
 *
 * @example
 * const guarded = guardStore(redisStore(url), Date.now, (key, op, error) => console.warn(op, key, error));
 * await guarded.put(entry); // never throws, even with Redis down
 */
export function guardStore(
  store: CacheStore,
  now: () => number,
  onError: (key: string, op: string, error: unknown) => void,
): GuardedStore {
  const writes = new Map<string, Promise<unknown>>();
  let downUntil = 0;

  function failed(key: string, op: string, error: unknown): void {
    downUntil = now() + STORE_RETRY_MS;
    onError(key, op, error);
  }

  /** store.get, with a synchronous throw turned into a rejection. */
  function callGet(key: string): Promise<StoredResponse[]> {
    try {
      return store.get(key);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Entries already found usable, for a store that hands the same objects back (the memory store): an entry is
   * never changed once stored (an update is a new object), so its check holds for every later lookup.
   */
  const usable = new WeakSet<object>();

  function unusable(entry: StoredResponse, key: string): string | undefined {
    if (usable.has(entry) && entry.key === key) return undefined;
    const bad = unusableEntry(entry, key);
    if (bad === undefined) usable.add(entry);
    return bad;
  }

  /** The usable entries of a lookup; the others are reported and their key deleted, so that they go once. */
  function checked(key: string, variants: StoredResponse[]): StoredResponse[] {
    if (!Array.isArray(variants)) {
      onError(key, 'get', new UnusableEntry(key, 'get did not return a list'));
      return [];
    }
    let bad: string | undefined;
    for (const entry of variants) bad ??= unusable(entry, key);
    if (bad === undefined) return variants;
    onError(key, 'get', new UnusableEntry(key, bad));
    guarded.track(key, guarded.delete(key));
    return variants.filter((entry) => unusableEntry(entry, key) === undefined);
  }

  const guarded: GuardedStore = {
    get(key) {
      if (now() < downUntil) return Promise.reject(new StoreUnavailable('store-down'));
      // Promise chains rather than an async function: a lookup with no write under way takes no extra hops.
      const pending = writes.get(key);
      const read = pending ? pending.then(() => store.get(key)) : callGet(key);
      return read.then(
        (variants) => checked(key, variants),
        (error: unknown) => {
          failed(key, 'get', error);
          throw new StoreUnavailable('store-error', error);
        },
      );
    },
    async put(entry) {
      if (now() < downUntil) return false;
      try {
        await store.put(entry);
        return true;
      } catch (error) {
        failed(entry.key, 'put', error);
        return false;
      }
    },
    async delete(key) {
      // Tried even while bypassed: a missed invalidation would outlive the outage.
      try {
        await store.delete(key);
      } catch (error) {
        failed(key, 'delete', error);
      }
    },
    async lease(key, ttlMs) {
      if (now() < downUntil) return true; // nobody to coordinate with: revalidate rather than wait on a timeout
      try {
        return await store.lease(key, ttlMs);
      } catch (error) {
        failed(key, 'lease', error);
        return true;
      }
    },
    async release(key) {
      try {
        await store.release(key);
      } catch (error) {
        failed(key, 'release', error);
      }
    },
    track(key, write) {
      writes.set(key, write);
      const forget = () => {
        if (writes.get(key) === write) writes.delete(key);
      };
      write.then(forget, forget);
    },
  };
  return guarded;
}
