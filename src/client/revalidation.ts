/**
 * Revalidation (RFC 9111 §4.3) and serving stale content (RFC 5861): the conditional request, the 304 that
 * freshens the stored response (§4.3.4), the full response that replaces it, stale-if-error when the origin fails,
 * and stale-while-revalidate's one background revalidation per key.
 */
import type { CacheStatusEntry } from '../core/index.ts';
import { admit, CACHE_NAME, type CacheContext, currentAgeOf, forward, fromStore, report } from './context.ts';
import type { Call } from './messages.ts';
import {
  type HeaderLines,
  headerLines,
  isStorable,
  mergeNotModified,
  notModifiedMatches,
  type ReuseDecision,
  revalidationHeaders,
} from './policy.ts';
import type { StoredResponse } from './store.ts';

/** How long a background revalidation holds the store's lease on its key. */
const LEASE_MS = 30_000;

/**
 * Revalidates `entry` with the origin (§4.3): conditional request, then 304 → stored body with merged headers,
 * status as stored (§4.3.4); full response → replaces the entry; 5xx or network error → stale-if-error when
 * allowed. `fwd` says why the request went forward (Cache-Status `fwd`, RFC 9211 §2.2).
 */
export async function revalidate(
  ctx: CacheContext,
  call: Call,
  key: string,
  entry: StoredResponse,
  decision: ReuseDecision,
  fwd: 'stale' | 'request',
): Promise<Response> {
  const validators = revalidationHeaders(entry);
  const requestTime = ctx.now();
  if (!validators) {
    // Nothing to validate with: a plain request, whose response replaces the entry.
    const outcome = await forwardOrStale(ctx, call, call.headers, entry, decision);
    if (outcome instanceof Response) return outcome;
    const status: CacheStatusEntry = { cache: CACHE_NAME, fwd, fwdStatus: outcome.res.status };
    return admit(ctx, call, outcome.res, key, requestTime, status, 'replaced').response;
  }
  ctx.stats.revalidations++;
  const headers = new Headers(call.headers);
  for (const [n, v] of Object.entries(validators)) headers.set(n, v);
  const outcome = await forwardOrStale(ctx, call, headers, entry, decision);
  if (outcome instanceof Response) return outcome;
  const { res } = outcome;
  if (res.status !== 304) {
    const status: CacheStatusEntry = { cache: CACHE_NAME, fwd, fwdStatus: res.status };
    return admit(ctx, call, res, key, requestTime, status, 'replaced').response;
  }
  const lines = headerLines(res.headers);
  if (notModifiedMatches(entry.headers, lines)) {
    ctx.stats.notModified++;
    ctx.stats.bytesSavedBy304 += entry.body.byteLength;
    const updated = freshen(ctx, call, entry, lines, requestTime);
    const status: CacheStatusEntry = { cache: CACHE_NAME, fwd, fwdStatus: 304 };
    return fromStore(ctx, call, updated, currentAgeOf(ctx, updated), report(call.url, 'revalidated', status));
  }
  // §4.3.4: the 304 names no stored response; ask again without validators.
  await res.body?.cancel();
  const again = ctx.now();
  const full = await forward(ctx, call, call.headers);
  const status: CacheStatusEntry = {
    cache: CACHE_NAME,
    fwd,
    fwdStatus: full.status,
    detail: 'unmatched-304',
  };
  return admit(ctx, call, full, key, again, status, 'unmatched-304').response;
}

/**
 * Applies a 304 (or a 200 to a HEAD, §4.3.5) that identifies `entry` to it (§3.2, §4.3.4), stores the result in
 * the background, and returns it.
 */
export function freshen(
  ctx: CacheContext,
  call: Call,
  entry: StoredResponse,
  lines: HeaderLines,
  requestTime: number,
): StoredResponse {
  // A literal rather than a spread: the same object shape as every other entry, and cheaper to build.
  const updated: StoredResponse = {
    key: entry.key,
    variant: entry.variant,
    status: entry.status,
    headers: mergeNotModified(entry.headers, lines),
    varyHeaders: entry.varyHeaders,
    body: entry.body,
    requestTime,
    responseTime: ctx.now(),
  };
  // The merged headers may forbid storing now (e.g. the 304 said no-store): then the entry goes.
  const keep = isStorable('GET', call.headers, updated.status, updated.headers, ctx.policy).storable;
  ctx.guarded.track(entry.key, keep ? ctx.guarded.put(updated) : ctx.guarded.delete(entry.key));
  return updated;
}

/**
 * Forwards a request for a stale entry. A network error or a 5xx within the stale-if-error window (RFC 5861 §4)
 * is answered with the stored response instead (a Response); otherwise the origin's answer comes back as `res`.
 */
async function forwardOrStale(
  ctx: CacheContext,
  call: Call,
  headers: Headers,
  entry: StoredResponse,
  decision: ReuseDecision,
): Promise<Response | { res: Response }> {
  let res: Response;
  try {
    res = await forward(ctx, call, headers);
  } catch (error) {
    if (decision.staleIfError && !call.signal?.aborted) return staleIfError(ctx, call, entry, decision);
    throw error;
  }
  if (res.status >= 500 && decision.staleIfError) {
    await res.body?.cancel();
    return staleIfError(ctx, call, entry, decision, res.status);
  }
  return { res };
}

/** Serves stale content for RFC 5861 stale-if-error. */
function staleIfError(
  ctx: CacheContext,
  call: Call,
  entry: StoredResponse,
  decision: ReuseDecision,
  fwdStatus?: number,
): Response {
  ctx.stats.hits++;
  const status: CacheStatusEntry = {
    cache: CACHE_NAME,
    fwd: 'stale',
    fwdStatus,
    ttl: Math.round(decision.ttl),
    detail: 'stale-if-error',
  };
  return fromStore(ctx, call, entry, decision.age, report(call.url, 'stale-if-error', status));
}

/**
 * stale-while-revalidate (RFC 5861 §3): revalidates `entry` in the background, once per key and variant in this
 * process and, through the store's lease, once across the machines sharing the store.
 */
export function backgroundRevalidate(
  ctx: CacheContext,
  call: Call,
  key: string,
  entry: StoredResponse,
): void {
  const flightKey = `revalidate\n${key}\n${entry.variant}`;
  if (ctx.inflight.has(flightKey)) return;
  // Detached from the caller: its AbortSignal must not cancel a revalidation others rely on.
  const background: Call = {
    ...call,
    signal: undefined,
    mode: 'default',
    init: { ...call.init, signal: null },
  };
  const job = (async () => {
    if (!(await ctx.guarded.lease(key, LEASE_MS))) return undefined;
    try {
      const noFallback: ReuseDecision = {
        action: 'revalidate',
        reason: 'stale',
        age: 0,
        ttl: 0,
        staleIfError: false,
      };
      const res = await revalidate(ctx, background, key, entry, noFallback, 'stale');
      await res.arrayBuffer();
    } finally {
      await ctx.guarded.release(key);
    }
    return undefined;
  })();
  ctx.inflight.set(flightKey, job);
  job
    .catch(() => {}) // a failed background revalidation leaves the stale entry in place
    .finally(() => ctx.inflight.delete(flightKey))
    .catch(() => {});
}
