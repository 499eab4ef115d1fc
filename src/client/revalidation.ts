/**
 * Revalidation (RFC 9111 §4.3) and serving stale content (RFC 5861): the conditional request, the 304 that
 * freshens the stored response (§4.3.4), the full response that replaces it, stale-if-error when the origin fails,
 * and stale-while-revalidate's one background revalidation per key.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { CacheStatusEntry } from '../core/index.ts';
import {
  admit,
  CACHE_NAME,
  type CacheContext,
  currentAgeOf,
  forward,
  fromStore,
  mayShare,
  NOTHING_STORED,
  refuseNotModified,
  report,
} from './context.ts';
import { FetchedEntry } from './entry-check.ts';
import { abortable, type Call } from './messages.ts';
import {
  type HeaderLines,
  headerLines,
  isStorable,
  matchesVary,
  mergeNotModified,
  notModifiedMatches,
  type ReuseDecision,
  revalidationHeaders,
  unconditionalNotModifiedMatches,
} from './policy.ts';
import type { StoredResponse } from './store.ts';

/** How long a background revalidation holds the store's lease on its key. */
const LEASE_MS = 30_000;

/** What a revalidation produced: the caller's response, and the entry it stored (undefined when none). */
export interface Revalidated {
  response: Response;
  stored: Promise<StoredResponse | undefined>;
}

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
): Promise<Revalidated> {
  const validators = revalidationHeaders(entry);
  const requestTime = ctx.now();
  if (!validators) {
    // Nothing to validate with: a plain request, whose response replaces the entry.
    const outcome = await forwardOrStale(ctx, call, call.headers, entry, decision);
    if (outcome instanceof Response) return { response: outcome, stored: NOTHING_STORED };
    const { res } = outcome;
    // §4.3.4, third rule: a 304 without validators selects the one stored response that has none either.
    if (res.status === 304) return unaskedNotModified(ctx, call, entry, res, requestTime, fwd);
    const status: CacheStatusEntry = { cache: CACHE_NAME, fwd, fwdStatus: res.status };
    return admit(ctx, call, res, key, requestTime, status, 'replaced');
  }
  ctx.stats.revalidations++;
  const headers = withValidators(call.headers, validators);
  const outcome = await forwardOrStale(ctx, call, headers, entry, decision);
  if (outcome instanceof Response) return { response: outcome, stored: NOTHING_STORED };
  const { res } = outcome;
  if (res.status !== 304) {
    const status: CacheStatusEntry = { cache: CACHE_NAME, fwd, fwdStatus: res.status };
    return admit(ctx, call, res, key, requestTime, status, 'replaced');
  }
  const lines = headerLines(res.headers);
  if (notModifiedMatches(entry.headers, lines)) return notModified(ctx, call, entry, lines, requestTime, fwd);
  // §4.3.4: the 304 names no stored response; ask again without validators.
  await res.body?.cancel();
  const again = ctx.now();
  const full = await forward(ctx, call, call.headers);
  if (full.status === 304) return unaskedNotModified(ctx, call, entry, full, again, fwd);
  const status: CacheStatusEntry = {
    cache: CACHE_NAME,
    fwd,
    fwdStatus: full.status,
    detail: 'unmatched-304',
  };
  return admit(ctx, call, full, key, again, status, 'unmatched-304');
}

/** The caller's headers and our validators, as a record (cheaper for fetch to read than another Headers). */
function withValidators(headers: Headers, validators: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) out[name] = value;
  return Object.assign(out, validators);
}

/** A 304 that identifies `entry`: the caller gets the stored response, freshened with the 304's fields (§4.3.4). */
function notModified(
  ctx: CacheContext,
  call: Call,
  entry: StoredResponse,
  lines: HeaderLines,
  requestTime: number,
  fwd: 'stale' | 'request',
): Revalidated {
  ctx.stats.notModified++;
  ctx.stats.bytesSavedBy304 += entry.body.byteLength;
  const { updated, stored } = freshen(ctx, call, entry, lines, requestTime);
  const status: CacheStatusEntry = { cache: CACHE_NAME, fwd, fwdStatus: 304 };
  const cacheStatus = report(call.url, 'revalidated', status);
  return { response: fromStore(ctx, call, updated, currentAgeOf(ctx, updated), cacheStatus), stored };
}

/**
 * A 304 to a request that carried no validators: it stands for `entry` when it identifies it (§4.3.4); otherwise
 * there is no content to give, and the caller gets 502 rather than a 304 it did not ask for.
 */
function unaskedNotModified(
  ctx: CacheContext,
  call: Call,
  entry: StoredResponse,
  res: Response,
  requestTime: number,
  fwd: 'stale' | 'request',
): Revalidated {
  const lines = headerLines(res.headers);
  if (unconditionalNotModifiedMatches(entry.headers, lines)) {
    res.body?.cancel().catch(() => {});
    return notModified(ctx, call, entry, lines, requestTime, fwd);
  }
  return { response: refuseNotModified(call, res, { fwd }), stored: NOTHING_STORED };
}

/**
 * Applies a 304 (or a 200 to a HEAD, §4.3.5) that identifies `entry` to it (§3.2, §4.3.4), stores the result in
 * the background, and returns it (`stored` settles once written: with it, or undefined when it may not be kept).
 */
export function freshen(
  ctx: CacheContext,
  call: Call,
  entry: StoredResponse,
  lines: HeaderLines,
  requestTime: number,
): { updated: StoredResponse; stored: Promise<StoredResponse | undefined> } {
  const updated = new FetchedEntry(
    entry.key,
    entry.variant,
    entry.status,
    mergeNotModified(entry.headers, lines),
    entry.varyHeaders,
    entry.body,
    requestTime,
    ctx.now(),
  );
  // The merged headers may forbid storing now (e.g. the 304 said no-store): then the entry goes.
  const keep = isStorable('GET', call.headers, updated.status, updated.headers, ctx.policy).storable;
  const write = keep ? ctx.guarded.put(updated) : ctx.guarded.delete(entry.key);
  ctx.guarded.track(entry.key, write);
  return { updated, stored: write.then(() => (keep ? updated : undefined)) };
}

/**
 * Forwards a request for a stale entry. A network error or a 5xx within the stale-if-error window (RFC 5861 §4)
 * is answered with the stored response instead (a Response); otherwise the origin's answer comes back as `res`.
 */
async function forwardOrStale(
  ctx: CacheContext,
  call: Call,
  headers: Headers | Record<string, string>,
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

/** The in-flight key of the revalidations of one stored variant. */
const flightOf = (key: string, entry: StoredResponse) => `revalidate\n${key}\n${entry.variant}`;

/**
 * Revalidates a stale stored response for a request that asked for nothing special (§4.3), once for everyone
 * asking at the same time. Requests for the same variant that arrive while a revalidation of it (foreground or
 * stale-while-revalidate) is under way wait for it, and get what it stored if they may share it (`mayShare`).
 * With a store lease (`leaseMs` > 0) the same holds across the processes and machines sharing the store: the
 * lease holder revalidates, and the others wait for what it stores, at most `leaseMs`, then go themselves.
 */
export async function revalidateStale(
  ctx: CacheContext,
  call: Call,
  key: string,
  entry: StoredResponse,
  decision: ReuseDecision,
): Promise<Response> {
  const flight = flightOf(key, entry);
  const running = ctx.inflight.get(flight);
  if (running) {
    const result = await abortable(
      running.catch(() => undefined),
      call.signal,
    );
    if (result && mayShare(ctx, call, result)) return sharedResult(ctx, call, result, 'collapsed');
    return (await revalidate(ctx, call, key, entry, decision, 'stale')).response;
  }
  let resolve: (result: StoredResponse | undefined) => void = () => {};
  ctx.inflight.set(flight, new Promise((settle) => (resolve = settle)));
  let leased = false;
  try {
    if (ctx.leaseMs > 0) {
      leased = await ctx.guarded.lease(key, ctx.leaseMs);
      if (!leased) {
        const peer = await awaitPeer(ctx, call, key, entry);
        leased = peer === 'leased';
        if (typeof peer === 'object' && mayShare(ctx, call, peer)) {
          resolve(peer);
          return sharedResult(ctx, call, peer, 'peer-revalidated');
        }
      }
    }
    const { response, stored } = await revalidate(ctx, call, key, entry, decision, 'stale');
    stored.then(resolve, () => resolve(undefined));
    // Given back once the result is written, so that a peer polling the store sees it before it can take over.
    if (leased) stored.finally(() => ctx.guarded.release(key)).catch(() => {});
    leased = false;
    return response;
  } catch (error) {
    resolve(undefined);
    throw error;
  } finally {
    if (leased) ctx.guarded.release(key).catch(() => {});
    ctx.inflight.delete(flight);
  }
}

/** A stored response that a concurrent revalidation (here, or by a peer sharing the store) produced. */
function sharedResult(
  ctx: CacheContext,
  call: Call,
  entry: StoredResponse,
  how: 'collapsed' | 'peer-revalidated',
): Response {
  ctx.stats.hits++;
  const status: CacheStatusEntry = {
    cache: CACHE_NAME,
    fwd: 'stale',
    collapsed: true,
    detail: how === 'peer-revalidated' ? how : undefined,
  };
  return fromStore(ctx, call, entry, currentAgeOf(ctx, entry), report(call.url, how, status));
}

/** Longest pause between two looks at the store while a peer revalidates. */
const MAX_POLL_MS = 50;

/**
 * Waits while a peer holds the lease on revalidating `key`, looking at the store with growing pauses: resolves with
 * the variant it stored (one that differs from `entry`), or 'leased' once this caller holds the lease (the peer gave
 * it back without storing, or its lease ran out), or 'timeout' after `leaseMs` or when the store fails.
 */
async function awaitPeer(
  ctx: CacheContext,
  call: Call,
  key: string,
  entry: StoredResponse,
): Promise<StoredResponse | 'leased' | 'timeout'> {
  const deadline = performance.now() + ctx.leaseMs;
  for (let pause = 5; ; pause = Math.min(pause * 1.25, MAX_POLL_MS)) {
    const left = deadline - performance.now();
    if (left <= 0) return 'timeout';
    // An abort rejects with the signal's reason, as fetch does (the timer's own error only wraps it).
    await sleep(Math.min(pause, left), undefined, { signal: call.signal }).catch((error: unknown) => {
      call.signal?.throwIfAborted();
      throw error;
    });
    let variants: StoredResponse[];
    try {
      variants = await ctx.guarded.get(key);
    } catch {
      return 'timeout';
    }
    // "Differs" rather than "newer": the peer's clock may be behind ours.
    const result = variants.find(
      (v) =>
        matchesVary(v, call.headers) &&
        (v.responseTime !== entry.responseTime || v.requestTime !== entry.requestTime),
    );
    if (result) return result;
    if (await ctx.guarded.lease(key, ctx.leaseMs)) return 'leased';
  }
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
  const flight = flightOf(key, entry);
  if (ctx.inflight.has(flight)) return;
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
      const { response, stored } = await revalidate(ctx, background, key, entry, noFallback, 'stale');
      await response.arrayBuffer();
      return await stored;
    } finally {
      await ctx.guarded.release(key);
    }
  })();
  ctx.inflight.set(flight, job);
  job
    .catch(() => {}) // a failed background revalidation leaves the stale entry in place
    .finally(() => ctx.inflight.delete(flight))
    .catch(() => {});
}
