/**
 * `createFetch()`: a `fetch` with an RFC 9111 cache in front of it. Every decision comes from `policy.ts`; this
 * module routes each call — pass through, hit, miss, revalidate — and the parts in `context.ts` and
 * `revalidation.ts` move the bytes and report what happened in `Cache-Status` (RFC 9211), `stats()` and the
 * `etagkit:client:decision` diagnostics channel.
 */
import {
  type CacheStatusEntry,
  evaluatePreconditions,
  parseEntityTag,
  parseHttpDate,
} from '../core/index.ts';
import {
  admit,
  asksConditional,
  asksNotModified,
  CACHE_NAME,
  type CacheContext,
  type CacheStats,
  cacheKey,
  currentAgeOf,
  type FetchLike,
  forward,
  fromStore,
  mayShare,
  passThrough,
  refuseNotModified,
  report,
  reportStoreError,
} from './context.ts';
import { guardStore, StoreUnavailable } from './guarded-store.ts';
import {
  abortable,
  type Call,
  normalizeCall,
  partialResponse,
  relayResponse,
  responseFor,
} from './messages.ts';
import {
  evaluateReuse,
  fieldValue,
  headerLines,
  invalidationTargets,
  matchesVary,
  notModifiedMatches,
  type ReuseDecision,
  type RevalidateReason,
  requestDirectives,
} from './policy.ts';
import { backgroundRevalidate, freshen, revalidate, revalidateStale } from './revalidation.ts';
import type { CacheStore, StoredResponse } from './store.ts';
import { memoryStore } from './stores/memory.ts';

export type { CacheStats, DecisionMessage } from './context.ts';

export interface CreateFetchOptions {
  /** The fetch that reaches the network. Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Where responses are kept. Default `memoryStore()`. */
  store?: CacheStore;
  /** Apply shared-cache rules (s-maxage, `private`, Authorization; RFC 9111 §3.5). Default false. */
  shared?: boolean;
  /**
   * Keep the responses to requests with different credentials (`Authorization`, `Cookie`) apart: each set of
   * credentials gets a cache of its own, keyed by a SHA-256 digest of them (never stored in clear), as if each user
   * had their own private cache. Turn it off only when the process acts for a single user (a CLI, a desktop app).
   * Default true for a private cache, false for a shared one (which stores authenticated responses only when
   * they say they may be shared, RFC 9111 §3.5).
   */
  partitionByCredentials?: boolean;
  /** Clock in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Bodies larger than this stream through without being stored. Default 8 MiB. */
  maxEntryBytes?: number;
  /**
   * Before revalidating a stale response, take the store's lease on its key for this long (ms), so that of the
   * processes and machines sharing the store only one revalidates it; the others wait for what it stores, at most
   * this long, then go to the origin themselves. 0 turns it off (requests in one process are still coalesced).
   * Default 5,000 for stores shared between processes (`store.shared`: SQLite, Redis), else 0.
   */
  revalidationLeaseMs?: number;
  /**
   * Hears every store failure — the request itself is answered by the origin — and every stored entry found
   * unusable (then a miss, and deleted): `(error, { op, key })`. By default the first failure of each store is
   * written once to stderr (a process warning, code ETAGKIT_STORE_ERROR), so that a store that never works is
   * not silent; every failure also goes to `stats().storeErrors` and the diagnostics channel.
   */
  onStoreError?: (error: unknown, context: { op: string; key: string }) => void;
}

export interface CachingFetch {
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Counters since the fetch was created (a copy). */
  stats(): CacheStats;
}

/**
 * Creates a caching `fetch`. Private cache by default; `shared: true` applies the shared-cache rules.
 *
 * @example
 * import { createFetch, memoryStore } from 'etagkit/client';
 * const cachedFetch = createFetch({ store: memoryStore({ maxBytes: 32 * 1024 * 1024 }) });
 * const res = await cachedFetch('https://example.com/data.json');
 * console.log(res.headers.get('cache-status')); // e.g. "etagkit; fwd=uri-miss; fwd-status=200; stored"
 * console.log(cachedFetch.stats().hits);
 */
export function createFetch(options: CreateFetchOptions = {}): CachingFetch {
  const now = options.now ?? Date.now;
  const store = options.store ?? memoryStore();
  const leaseMs = options.revalidationLeaseMs;
  if (leaseMs !== undefined && !(leaseMs >= 0))
    throw new RangeError(`createFetch: revalidationLeaseMs must be >= 0, got ${leaseMs}`);
  const stats: CacheStats = {
    hits: 0,
    misses: 0,
    revalidations: 0,
    notModified: 0,
    bytesFromCache: 0,
    bytesSavedBy304: 0,
    storeErrors: 0,
  };
  const ctx: CacheContext = {
    origin: options.fetch ?? globalThis.fetch,
    guarded: guardStore(store, now, (key, op, error) => {
      stats.storeErrors++;
      reportStoreError(key, op, error);
      if (options.onStoreError) options.onStoreError(error, { op, key });
      else warnOnce(store, op, key, error);
    }),
    policy: { shared: options.shared ?? false },
    now,
    maxEntryBytes: options.maxEntryBytes ?? 8 * 1024 * 1024,
    stats,
    inflight: new Map(),
    leaseMs: leaseMs ?? (store.shared ? 5_000 : 0),
    partitionByCredentials: options.partitionByCredentials ?? !(options.shared ?? false),
  };
  // A bad URL rejects, as fetch's does, instead of throwing. Not an async function: returning route's promise
  // from one would cost the caller extra microtask hops on every call.
  const cachingFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    let call: Call;
    try {
      call = normalizeCall(input, init);
    } catch (error) {
      return Promise.reject(error);
    }
    return route(ctx, call);
  };
  return Object.assign(cachingFetch, { stats: () => ({ ...stats }) });
}

/** Stores whose failure has been written to stderr already. */
const warned = new WeakSet<CacheStore>();

/** The default for onStoreError: one process warning per store, naming what failed and what to do. */
function warnOnce(store: CacheStore, op: string, key: string, error: unknown): void {
  if (warned.has(store)) return;
  warned.add(store);
  const reason = error instanceof Error ? error.message : String(error);
  process.emitWarning(
    `etagkit: the cache store failed (${op} of ${key}): ${reason}. Requests still go to the origin, ` +
      'uncached. This is said once per store; pass onStoreError to createFetch to handle every failure.',
    { code: 'ETAGKIT_STORE_ERROR' },
  );
}

/** Routes one call: pass-throughs first, then the stored response (if any) decides. */
async function route(ctx: CacheContext, call: Call): Promise<Response> {
  call.signal?.throwIfAborted();
  if (call.method !== 'GET' && call.method !== 'HEAD') return unsafe(ctx, call);
  const key = cacheKey(ctx, call.url, call.headers);

  // The caller's own validators go to the origin untouched and its answer (a 304 too) comes back: RFC 9111 §4.3.2
  // lets a cache answer them, but the caller asked the origin, e.g. with a validator from an earlier session.
  if (asksConditional(call.headers)) return passThrough(ctx, call, 'request', 'caller-conditional');
  // Fetch's `reload` and `no-store`: no stored response is used nor validated; `reload` stores the answer.
  if (call.mode === 'no-store' || call.mode === 'reload') {
    if (call.method === 'HEAD') return passThrough(ctx, call, 'request', call.mode);
    ctx.stats.misses++;
    const requestTime = ctx.now();
    const res = await forward(ctx, call, call.headers);
    const status: CacheStatusEntry = {
      cache: CACHE_NAME,
      fwd: 'request',
      fwdStatus: res.status,
      detail: call.mode,
    };
    return admit(ctx, call, res, key, requestTime, status, call.mode).response;
  }

  let variants: StoredResponse[];
  try {
    variants = await ctx.guarded.get(key);
  } catch (error) {
    // A store failure never fails the request (the rule): the origin answers, Cache-Status says why.
    const detail = error instanceof StoreUnavailable ? error.reason : 'store-error';
    if (call.mode === 'only-if-cached')
      throw new TypeError(`only-if-cached: the store failed for ${call.url}`);
    ctx.stats.misses++;
    return passThrough(ctx, call, 'miss', detail);
  }
  const entry = variants.find((v) => matchesVary(v, call.headers));

  if (!entry) {
    if (call.mode === 'only-if-cached')
      throw new TypeError(`only-if-cached: no stored response for ${call.url}`);
    if ('only-if-cached' in requestDirectives(call.headers)) return gatewayTimeout(call); // §5.2.1.7
    if (call.method === 'HEAD') return passThrough(ctx, call, 'miss', 'head');
    if (call.headers.has('range')) return rangeRequest(ctx, call, key, undefined, undefined);
    return miss(ctx, call, key, variants.length > 0 ? 'vary-miss' : 'uri-miss');
  }

  const decision = evaluateReuse(call.headers, entry, ctx.now(), ctx.policy);
  if (call.headers.has('range')) return rangeRequest(ctx, call, key, entry, decision);
  // Fetch's `force-cache` and `only-if-cached` use any stored response, stale or not.
  if (call.mode === 'force-cache' || call.mode === 'only-if-cached')
    return hit(ctx, call, entry, decision, call.mode);
  if (call.mode === 'no-cache')
    return (await revalidate(ctx, call, key, entry, decision, 'request')).response;
  switch (decision.action) {
    case 'fresh':
      return hit(ctx, call, entry, decision, undefined);
    case 'stale-allowed':
      return hit(ctx, call, entry, decision, 'max-stale');
    case 'stale-while-revalidate':
      backgroundRevalidate(ctx, call, key, entry);
      return hit(ctx, call, entry, decision, 'stale-while-revalidate');
    case 'revalidate':
      if ('only-if-cached' in requestDirectives(call.headers)) return gatewayTimeout(call);
      if (call.method === 'HEAD') return headForStale(ctx, call, entry);
      // Only a response that went stale can be revalidated once for many; what no-cache (in the response or the
      // request) demands is a validation per request.
      if (decision.reason === 'stale' || decision.reason === 'must-revalidate')
        return revalidateStale(ctx, call, key, entry, decision);
      return (await revalidate(ctx, call, key, entry, decision, fwdFor(decision.reason))).response;
  }
}

function hit(
  ctx: CacheContext,
  call: Call,
  entry: StoredResponse,
  decision: ReuseDecision,
  detail: string | undefined,
): Response {
  ctx.stats.hits++;
  const status: CacheStatusEntry = { cache: CACHE_NAME, hit: true, ttl: Math.round(decision.ttl), detail };
  return fromStore(ctx, call, entry, decision.age, report(call.url, detail ?? 'hit', status));
}

/**
 * Origin fetch for a miss. Requests for the same key that arrive while it waits for response headers join it
 * (request coalescing) and, once the body is complete, are served from the stored copy when its Vary-selected
 * headers match theirs (§4.1) and they may share it; the others make their own request.
 */
async function miss(ctx: CacheContext, call: Call, key: string, fwd: 'uri-miss' | 'vary-miss') {
  const coalesce = call.mode === 'default' || call.mode === 'force-cache';
  const leader = coalesce ? ctx.inflight.get(key) : undefined;
  if (leader) {
    const entry = await abortable(leader, call.signal);
    if (entry && mayShare(ctx, call, entry)) {
      ctx.stats.hits++;
      const status: CacheStatusEntry = { cache: CACHE_NAME, fwd, collapsed: true };
      return fromStore(ctx, call, entry, currentAgeOf(ctx, entry), report(call.url, 'collapsed', status));
    }
  }
  ctx.stats.misses++;
  const leads = coalesce && !leader;
  let settle: (entry: StoredResponse | undefined) => void = () => {};
  if (leads) ctx.inflight.set(key, new Promise((resolve) => (settle = resolve)));
  const requestTime = ctx.now();
  let res: Response;
  try {
    res = await forward(ctx, call, call.headers);
  } catch (error) {
    settle(undefined);
    throw error;
  } finally {
    if (leads) ctx.inflight.delete(key);
  }
  const status: CacheStatusEntry = { cache: CACHE_NAME, fwd, fwdStatus: res.status };
  const { response, stored } = admit(ctx, call, res, key, requestTime, status, fwd);
  stored.then(settle, () => settle(undefined));
  return response;
}

/**
 * A Range request (RFC 9110 §14.2). A complete stored 200 usable without revalidation answers it: one range
 * → 206 from the stored bytes, an If-Range that does not match or an invalid Range → the whole response.
 * Anything else (several ranges, unsatisfiable, stale, coded body) goes to the origin, which decides.
 */
async function rangeRequest(
  ctx: CacheContext,
  call: Call,
  key: string,
  entry: StoredResponse | undefined,
  decision: ReuseDecision | undefined,
): Promise<Response> {
  const usable =
    entry !== undefined &&
    decision !== undefined &&
    entry.status === 200 &&
    (decision.action === 'fresh' || decision.action === 'stale-allowed' || call.mode === 'force-cache') &&
    (fieldValue(entry.headers, 'content-encoding') ?? 'identity').toLowerCase() === 'identity';
  if (usable) {
    const outcome = evaluatePreconditions(call, {
      etag: parseEntityTag(fieldValue(entry.headers, 'etag')),
      lastModified: parseHttpDate(fieldValue(entry.headers, 'last-modified')),
      size: entry.body.byteLength,
      now: ctx.now(),
    });
    if (outcome.action === 'partial' && outcome.ranges.length === 1) {
      const range = outcome.ranges[0]!;
      ctx.stats.hits++;
      ctx.stats.bytesFromCache += range.end - range.start + 1;
      const status: CacheStatusEntry = {
        cache: CACHE_NAME,
        hit: true,
        ttl: Math.round(decision.ttl),
        detail: 'range',
      };
      return partialResponse(call, entry, range, decision.age, report(call.url, 'range', status));
    }
    if (outcome.action === 'ignore-range' || outcome.action === 'proceed')
      return hit(ctx, call, entry, decision, outcome.action === 'proceed' ? 'invalid-range' : 'if-range');
  }
  ctx.stats.misses++;
  const requestTime = ctx.now();
  const res = await forward(ctx, call, call.headers);
  const status: CacheStatusEntry = {
    cache: CACHE_NAME,
    fwd: 'request',
    fwdStatus: res.status,
    detail: 'range',
  };
  return admit(ctx, call, res, key, requestTime, status, 'range').response;
}

/**
 * A HEAD for a stale stored GET goes to the origin; a 200 that names the same representation (same validators,
 * as for a 304) freshens the stored response with its header fields (RFC 9111 §4.3.5).
 */
async function headForStale(ctx: CacheContext, call: Call, entry: StoredResponse): Promise<Response> {
  const requestTime = ctx.now();
  const res = await forward(ctx, call, call.headers);
  if (res.status === 304) return refuseNotModified(call, res, { fwd: 'stale' });
  const lines = headerLines(res.headers);
  const hasValidator =
    fieldValue(entry.headers, 'etag') !== undefined ||
    fieldValue(entry.headers, 'last-modified') !== undefined;
  const same = res.status === 200 && hasValidator && notModifiedMatches(entry.headers, lines);
  if (same) freshen(ctx, call, entry, lines, requestTime);
  const status: CacheStatusEntry = { cache: CACHE_NAME, fwd: 'stale', fwdStatus: res.status, detail: 'head' };
  return relayResponse(call, res, report(call.url, same ? 'head-freshened' : 'head', status), res.body);
}

/** Why a revalidation went forward (RFC 9211 §2.2): the request asked for it, or the stored response did. */
const fwdFor = (reason: RevalidateReason) => (reason.startsWith('request-') ? 'request' : 'stale');

/** `Cache-Control: only-if-cached` with nothing usable stored (RFC 9111 §5.2.1.7). */
function gatewayTimeout(call: Call): Response {
  const status: CacheStatusEntry = { cache: CACHE_NAME, detail: 'only-if-cached' };
  const headers = new Headers({ 'cache-status': report(call.url, 'only-if-cached', status) });
  return responseFor(call.url, null, { status: 504, headers });
}

/** Unsafe and uncacheable methods go straight through; a non-error response invalidates (§4.4). */
async function unsafe(ctx: CacheContext, call: Call): Promise<Response> {
  const { cache: _ignored, ...init } = call.init;
  const res = await ctx.origin(call.input, init);
  if (res.status === 304 && !asksNotModified(call.headers))
    return refuseNotModified(call, res, { fwd: 'method' });
  // Later lookups of these keys wait for the deletes (GuardedStore.track); this response does not. A cache
  // partitioned by credentials invalidates the partition of the request's credentials: each one is a private
  // cache of its own.
  for (const target of invalidationTargets(call.method, call.url, res.status, headerLines(res.headers))) {
    const key = cacheKey(ctx, target, call.headers);
    ctx.guarded.track(key, ctx.guarded.delete(key));
  }
  const status: CacheStatusEntry = { cache: CACHE_NAME, fwd: 'method', fwdStatus: res.status };
  return relayResponse(call, res, report(call.url, 'method', status), res.body);
}
