/**
 * An in-process CacheStore: least-recently-used eviction by bytes, and leases held in this process only.
 */
import type { CacheStore, StoredResponse } from '../store.ts';

export interface MemoryStoreOptions {
  /** Upper bound on the bytes held (bodies + header text + a small per-entry overhead). Default 64 MiB. */
  maxBytes?: number;
  /** Clock for lease expiry, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** Rough fixed cost of one entry's object graph, so that many tiny entries still count against maxBytes. */
const ENTRY_OVERHEAD = 256;

/** The bytes one stored response accounts for in the LRU budget. */
export function entrySize(entry: StoredResponse): number {
  let size = ENTRY_OVERHEAD + entry.body.byteLength + entry.key.length + entry.variant.length;
  for (const [name, value] of entry.headers) size += name.length + value.length;
  for (const name in entry.varyHeaders) size += name.length + (entry.varyHeaders[name]?.length ?? 0);
  return size;
}

interface Slot {
  /** Variants, newest (highest responseTime, then most recently put) first. */
  variants: StoredResponse[];
  bytes: number;
}

/**
 * Creates a memory store. Keys are kept in a Map whose insertion order is the recency order: a `get` or `put`
 * moves the key to the end, and eviction removes from the front until the budget holds.
 *
 * @example
 * import { createFetch, memoryStore } from 'etagkit/client';
 * const cachedFetch = createFetch({ store: memoryStore({ maxBytes: 16 * 1024 * 1024 }) });
 */
export function memoryStore(options: MemoryStoreOptions = {}): CacheStore & { readonly bytes: number } {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  if (!(maxBytes > 0))
    throw new RangeError(`memoryStore: maxBytes must be a positive number, got ${maxBytes}`);
  const now = options.now ?? Date.now;
  const slots = new Map<string, Slot>();
  const leases = new Map<string, number>();
  let bytes = 0;

  /** The key touched last (the Map's last key while it is set): touching it again moves nothing. */
  let newest: string | undefined;

  function touch(key: string, slot: Slot): void {
    if (key === newest && slots.get(key) === slot) return;
    slots.delete(key);
    slots.set(key, slot);
    newest = key;
  }

  function evict(): void {
    for (const [key, slot] of slots) {
      if (bytes <= maxBytes) return;
      slots.delete(key);
      bytes -= slot.bytes;
      if (key === newest) newest = undefined;
    }
  }

  return {
    get bytes() {
      return bytes;
    },
    async get(key) {
      const slot = slots.get(key);
      if (!slot) return [];
      touch(key, slot);
      return slot.variants.slice();
    },
    async put(entry) {
      const size = entrySize(entry);
      if (size > maxBytes) return; // larger than the whole budget: never stored
      const slot = slots.get(entry.key) ?? { variants: [], bytes: 0 };
      const old = slot.variants.findIndex((v) => v.variant === entry.variant);
      if (old >= 0) {
        const removed = slot.variants.splice(old, 1)[0]!;
        const removedSize = entrySize(removed);
        slot.bytes -= removedSize;
        bytes -= removedSize;
      }
      let at = slot.variants.findIndex((v) => v.responseTime <= entry.responseTime);
      if (at < 0) at = slot.variants.length;
      slot.variants.splice(at, 0, entry);
      slot.bytes += size;
      bytes += size;
      touch(entry.key, slot);
      evict();
    },
    async delete(key) {
      const slot = slots.get(key);
      if (!slot) return;
      slots.delete(key);
      bytes -= slot.bytes;
      if (key === newest) newest = undefined;
    },
    async deletePrefix(prefix) {
      let removed = 0;
      for (const [key, slot] of slots) {
        if (!key.startsWith(prefix)) continue;
        slots.delete(key);
        bytes -= slot.bytes;
        if (key === newest) newest = undefined;
        removed++;
      }
      return removed;
    },
    async lease(key, ttlMs) {
      const t = now();
      const until = leases.get(key);
      if (until !== undefined && until > t) return false;
      leases.set(key, t + ttlMs);
      return true;
    },
    async release(key) {
      leases.delete(key);
    },
    async close() {
      slots.clear();
      leases.clear();
      newest = undefined;
      bytes = 0;
    },
  };
}
