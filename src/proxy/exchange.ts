/**
 * One trip upstream for a GET on behalf of the cache, shared by everyone who needs the same key at the same time:
 * concurrent requests in this process join the trip in flight (request collapsing), and proxies sharing a store
 * take its lease first, so that of several proxies only one goes upstream while the others wait for what it
 * stores. Revalidations use the same trip with the stored response's validators (RFC 9111 §4.3.1).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { evaluateReuse, matchesVary } from '../client/policy.ts';
import type { StoredResponse } from '../client/store.ts';
import type { CacheStatusEntry } from '../core/index.ts';
import type { Admitted } from './admit.ts';
import { fromEntry } from './answer.ts';
import type { Flight, ProxyContext, ProxyRequest, Reply } from './context.ts';
import { factsOf } from './entry-facts.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { type UpstreamResponse, upstreamError } from './upstream.ts';

/**
 * Whether a response that another request fetched may answer `req` without a trip of its own: only when it
 * matches the request's Vary-selected headers (§4.1) and is fresh for it (§4.2). A response with no freshness
 * (no-cache, max-age=0, or none given) is fetched per request: it may differ per user (cookies, credentials).
 */
export function reusable(ctx: ProxyContext, req: ProxyRequest, entry: StoredResponse): boolean {
  const facts = factsOf(entry, ctx.policy);
  if (!matchesVary(entry, req.headers, facts.varyNames)) return false;
  const decision = evaluateReuse(req.headers, entry, ctx.now(), ctx.policy, facts);
  return decision.action === 'fresh';
}

/** A request's content and conditionals are not sent on a trip made for the cache. */
const OMIT_FOR_CACHE = new Set([
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'range',
  'content-length',
  'content-type',
]);

export interface TripOptions {
  /** Headers to set on the request (the validators of a revalidation). */
  set?: Record<string, string>;
  /** Forward the client's own conditionals as they are (a miss: the cache cannot answer them). */
  keepConditionals?: boolean;
  /** Never aborted by the client going away (a background revalidation). */
  detached?: boolean;
}

/** Sends `req` upstream as a GET for the cache. Rejects with an UpstreamError. */
export async function sendForCache(
  ctx: ProxyContext,
  req: ProxyRequest,
  options: TripOptions,
  flight: Flight | undefined,
): Promise<UpstreamResponse> {
  const controller = new AbortController();
  // The client going away aborts the trip, unless other requests wait for its result.
  const onAbort = () => {
    if (!flight || flight.waiters === 0) controller.abort();
  };
  if (!options.detached) req.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const headers = upstreamRequestHeaders(req.headers, {
      upstreamHost: ctx.upstream.host,
      remoteAddress: req.remoteAddress,
      omit: options.keepConditionals ? undefined : OMIT_FOR_CACHE,
      set: options.set,
    });
    const res = await ctx.upstream.send({
      method: 'GET',
      path: ctx.upstream.basePath + req.target,
      headers,
      signal: controller.signal,
    });
    ctx.metrics.upstreamStatus(res.status);
    return res;
  } catch (error) {
    ctx.metrics.upstreamStatus('error');
    throw upstreamError(error, ctx.upstream.origin);
  } finally {
    req.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The trip in flight for `key`, joined: resolves with the reply from what it stored when that may answer `req`,
 * else undefined (the caller goes upstream itself).
 */
export async function join(
  ctx: ProxyContext,
  req: ProxyRequest,
  flight: Flight,
  member: Omit<CacheStatusEntry, 'cache'>,
): Promise<Reply | undefined> {
  flight.waiters++;
  let entry: StoredResponse | undefined;
  try {
    entry = await Promise.race([flight.stored, aborted(req.signal)]);
  } finally {
    flight.waiters--;
  }
  if (!entry || !reusable(ctx, req, entry)) return undefined;
  ctx.metrics.stats.collapsed++;
  ctx.metrics.stats.bytesSaved += entry.body.byteLength;
  return fromEntry(ctx, req, entry, { ...member, collapsed: true });
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * Leads the trip for `key`: registers it for others to join, takes the store's lease (waiting for a peer that
 * holds it, or giving up at once with `peers: 'skip'`), then calls `go`, whose admitted result settles the
 * flight. `replaced` is the stored response a revalidation replaces: a peer's result is one that differs from it.
 */
export async function lead(
  ctx: ProxyContext,
  req: ProxyRequest,
  key: string,
  replaced: StoredResponse | undefined,
  peerMember: Omit<CacheStatusEntry, 'cache'>,
  go: (flight: Flight) => Promise<Admitted | Reply>,
  peers: 'wait' | 'skip' = 'wait',
): Promise<Reply | undefined> {
  let settle: (entry: StoredResponse | undefined) => void = () => {};
  const flight: Flight = { stored: new Promise((resolve) => (settle = resolve)), waiters: 0 };
  ctx.flights.set(key, flight);
  let leased = false;
  const finish = () => {
    if (ctx.flights.get(key) === flight) ctx.flights.delete(key);
    if (leased) ctx.guarded.release(key).catch(() => {});
  };
  try {
    if (ctx.leaseMs > 0) {
      leased = await ctx.guarded.lease(key, ctx.leaseMs);
      if (!leased && peers === 'skip') {
        settle(undefined);
        finish();
        return undefined;
      }
      if (!leased) {
        const peer = await awaitPeer(ctx, req, key, replaced);
        if (typeof peer === 'object' && reusable(ctx, req, peer)) {
          settle(peer);
          finish();
          ctx.metrics.stats.collapsed++;
          ctx.metrics.stats.bytesSaved += peer.body.byteLength;
          return fromEntry(ctx, req, peer, { ...peerMember, collapsed: true, detail: 'peer-fetched' });
        }
        leased = peer === 'leased';
      }
    }
    const outcome = await go(flight);
    if (!('stored' in outcome)) {
      settle(undefined);
      finish();
      return outcome;
    }
    // Others keep waiting until the body is stored (or known not to be), then the lease goes back.
    outcome.stored.then(settle, () => settle(undefined)).finally(finish);
    return await outcome.reply;
  } catch (error) {
    settle(undefined);
    finish();
    throw error;
  }
}

/** Longest pause between two looks at the store while a peer fetches. */
const MAX_POLL_MS = 50;

/**
 * Waits while another proxy holds the lease on `key`, looking at the store with growing pauses: resolves with the
 * variant it stored for this request (one other than `replaced`), 'leased' once this proxy holds the lease (the
 * peer gave it back without storing), or 'timeout' after `leaseMs` or when the store fails.
 */
async function awaitPeer(
  ctx: ProxyContext,
  req: ProxyRequest,
  key: string,
  replaced: StoredResponse | undefined,
): Promise<StoredResponse | 'leased' | 'timeout'> {
  const deadline = performance.now() + ctx.leaseMs;
  for (let pause = 5; performance.now() < deadline; pause = Math.min(pause * 1.25, MAX_POLL_MS)) {
    await sleep(Math.min(pause, deadline - performance.now()), undefined, { signal: req.signal });
    let variants: StoredResponse[];
    try {
      variants = await ctx.guarded.get(key);
    } catch {
      return 'timeout';
    }
    const found = variants.find(
      (v) =>
        matchesVary(v, req.headers) &&
        (replaced === undefined ||
          v.responseTime !== replaced.responseTime ||
          v.requestTime !== replaced.requestTime),
    );
    if (found) return found;
    if (await ctx.guarded.lease(key, ctx.leaseMs)) return 'leased';
  }
  return 'timeout';
}
