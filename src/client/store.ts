/**
 * The cache store contract. Stores hold bytes and metadata; every caching decision lives in the policy
 * (`policy.ts`), so memory, SQLite and Redis stores pass one shared test suite (`store-suite.ts`).
 */

/** One stored response: a variant of the resource named by `key`. */
export interface StoredResponse {
  /** Primary cache key (RFC 9111 §2): method and target URI. */
  key: string;
  /** Secondary key (RFC 9111 §4.1): the normalised request values of the headers named by Vary; '' when none. */
  variant: string;
  status: number;
  /** Response header lines as received (names lower-case), in order. */
  headers: [string, string][];
  /** The request headers named by Vary, normalised, for matching later requests (§4.1). */
  varyHeaders: Record<string, string>;
  body: Uint8Array;
  /** When the request was sent and the response received (ms since epoch), for Age (§4.2.3). */
  requestTime: number;
  responseTime: number;
}

export interface CacheStore {
  /**
   * True when other processes or machines may use the same entries (a SQLite file, Redis). createFetch then takes
   * `lease` before revalidating a stale response, so that only one of them revalidates a key at a time.
   */
  readonly shared?: boolean;
  /** All stored variants of `key`, newest first. Never throws for a missing key: returns []. */
  get(key: string): Promise<StoredResponse[]>;
  /** Stores (or replaces) the variant `entry.variant` of `entry.key`. */
  put(entry: StoredResponse): Promise<void>;
  /** Removes every variant of `key` (invalidation, RFC 9111 §4.4). */
  delete(key: string): Promise<void>;
  /**
   * Tries to take a short lease on revalidating `key`, so that only one client (or machine) revalidates it at a
   * time. Returns true when this caller holds it. Stores for a single process may always return true.
   */
  lease(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Optional: removes every key that starts with `prefix` (all their variants) and resolves with how many keys
   * went. The proxy's purge by prefix needs it; memory, SQLite and Redis stores have it.
   */
  deletePrefix?(prefix: string): Promise<number>;
  /** Gives back a lease taken with `lease`. */
  release(key: string): Promise<void>;
  close(): Promise<void>;
}
