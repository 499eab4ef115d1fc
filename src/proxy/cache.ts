/**
 * GET and HEAD through the shared cache (RFC 9111): the stored response decides — fresh → answered here, stale →
 * revalidated upstream once for everyone asking (or served while revalidating, RFC 5861), nothing stored → one
 * trip upstream for everyone asking. Every decision comes from the client's policy (`client/policy.ts`).
 */
import { StoreUnavailable } from '../client/guarded-store.ts';
import {
  evaluateReuse,
  isStorable,
  matchesVary,
  mergeNotModified,
  notModifiedMatches,
  type ReuseDecision,
  requestDirectives,
  revalidationHeaders,
  unconditionalNotModifiedMatches,
} from '../client/policy.ts';
import type { StoredResponse } from '../client/store.ts';
import type { CacheStatusEntry, CacheStatusForward } from '../core/index.ts';
import { type Admitted, admit } from './admit.ts';
import { fromEntry } from './answer.ts';
import { cacheKey, type Flight, type ProxyContext, type ProxyRequest, type Reply } from './context.ts';
import { factsOf } from './entry-facts.ts';
import { join, lead, sendForCache } from './exchange.ts';
import { forward } from './forward.ts';
import { CONDITIONAL_FIELDS, responseLines } from './headers.ts';
import { problemReply, unexpectedNotModified } from './reply.ts';
import { policyLines } from './surrogate.ts';
import { abandon, drain, UpstreamError } from './upstream.ts';

type Member = Omit<CacheStatusEntry, 'cache'>;

/** Answers a GET or HEAD. */
export async function cached(ctx: ProxyContext, req: ProxyRequest): Promise<Reply> {
  const key = cacheKey(ctx, req.target);
  const directives = requestDirectives(req.headers);
  // §5.2.1.5: no-store in a request: nothing of it or its response is stored.
  if ('no-store' in directives)
    return outcome(ctx, 'pass', forward(ctx, req, { fwd: 'request', detail: 'no-store' }));
  let variants: StoredResponse[];
  try {
    variants = await ctx.guarded.get(key);
  } catch (error) {
    // A store failure never fails a request: the upstream answers, and Cache-Status says why.
    const detail = error instanceof StoreUnavailable ? error.reason : 'store-error';
    ctx.metrics.stats.misses++;
    return outcome(ctx, 'store-error', forward(ctx, req, { fwd: 'miss', detail }));
  }
  const entry = variants.find((v) => matchesVary(v, req.headers, factsOf(v, ctx.policy).varyNames));
  const onlyIfCached = 'only-if-cached' in directives;
  if (!entry) {
    if (onlyIfCached) return onlyIfCachedReply(ctx, req);
    return miss(ctx, req, key, variants.length > 0 ? 'vary-miss' : 'uri-miss');
  }
  const decision = evaluateReuse(req.headers, entry, ctx.now(), ctx.policy, factsOf(entry, ctx.policy));
  switch (decision.action) {
    case 'fresh':
      return hit(ctx, req, entry, decision, undefined);
    case 'stale-allowed':
      return hit(ctx, req, entry, decision, 'max-stale');
    case 'stale-while-revalidate':
      background(ctx, req, key, entry);
      return hit(ctx, req, entry, decision, 'stale-while-revalidate');
    case 'revalidate':
      if (onlyIfCached) return onlyIfCachedReply(ctx, req);
      return revalidate(ctx, req, key, entry, decision);
  }
}

function hit(
  ctx: ProxyContext,
  req: ProxyRequest,
  entry: StoredResponse,
  decision: ReuseDecision,
  detail: string | undefined,
): Reply {
  ctx.metrics.stats.hits++;
  ctx.metrics.stats.bytesSaved += entry.body.byteLength;
  ctx.metrics.request(detail ?? 'hit');
  return fromEntry(ctx, req, entry, { hit: true, ttl: Math.round(decision.ttl), detail }, decision.age);
}

/** Counts the outcome of a reply still to come, and turns an upstream failure into 502/504. */
async function outcome(ctx: ProxyContext, name: string, reply: Promise<Reply>): Promise<Reply> {
  try {
    const done = await reply;
    ctx.metrics.request(name);
    return done;
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    ctx.metrics.request(`upstream-${error.reason}`);
    return upstreamFailed(error);
  }
}

/** What a client is told of each failure: enough to act on, nothing of the upstream's address. */
const FAILURES: Record<UpstreamError['reason'], string> = {
  timeout: 'the upstream did not answer in time',
  unreachable: 'the upstream could not be reached',
  malformed: 'the upstream sent a malformed response',
  aborted: 'the request was aborted',
};

/** 502 or 504 for an upstream that failed (RFC 9110 §15.6.3, §15.6.5). */
export function upstreamFailed(error: UpstreamError, method = 'GET'): Reply {
  const title = error.status === 504 ? 'Gateway Timeout' : 'Bad Gateway';
  const member = { detail: `upstream-${error.reason}` };
  return problemReply(error.status, title, FAILURES[error.reason], member, method);
}

/** §5.2.1.7: only-if-cached with nothing usable stored. */
function onlyIfCachedReply(ctx: ProxyContext, req: ProxyRequest): Reply {
  ctx.metrics.request('only-if-cached');
  const why = 'Cache-Control: only-if-cached, and no usable response is stored';
  return problemReply(504, 'Gateway Timeout', why, { detail: 'only-if-cached' }, req.method);
}

/**
 * Nothing stored for the request. A plain GET makes one trip for everyone asking at the same time (here, and
 * through the store's lease on other proxies). A HEAD, a Range or the client's own validators go upstream as
 * they are: the cache cannot answer them, and the answer (a 304, a 206) is not one to store or share.
 */
async function miss(
  ctx: ProxyContext,
  req: ProxyRequest,
  key: string,
  fwd: CacheStatusForward,
): Promise<Reply> {
  ctx.metrics.stats.misses++;
  const flight = ctx.flights.get(key);
  if (flight) {
    const joined = await join(ctx, req, flight, { fwd });
    if (joined) return outcome(ctx, 'collapsed', Promise.resolve(joined));
  }
  if (req.method === 'HEAD') return outcome(ctx, 'miss', forward(ctx, req, { fwd, detail: 'head' }));
  const own = req.headers.range !== undefined || CONDITIONAL_FIELDS.some((f) => req.headers[f] !== undefined);
  if (own) {
    const trip = sendForCache(ctx, req, { keepConditionals: true }, undefined).then(
      (res) => admit(ctx, req, key, res, { fwd, fwdStatus: res.status }).reply,
    );
    return outcome(ctx, 'miss', trip);
  }
  const trip = lead(ctx, req, key, undefined, { fwd }, async (f) => {
    const res = await sendForCache(ctx, req, {}, f);
    return admit(ctx, req, key, res, { fwd, fwdStatus: res.status }, f);
  });
  return outcome(ctx, 'miss', trip as Promise<Reply>);
}

/**
 * A stored response that needs validation (§4.3). A response that merely went stale is revalidated once for
 * everyone asking; validation the request or response demands for each use (no-cache, max-age=0) is per request.
 */
async function revalidate(
  ctx: ProxyContext,
  req: ProxyRequest,
  key: string,
  entry: StoredResponse,
  decision: Extract<ReuseDecision, { action: 'revalidate' }>,
): Promise<Reply> {
  const shared = decision.reason === 'stale' || decision.reason === 'must-revalidate';
  const fwd: CacheStatusForward = decision.reason.startsWith('request-') ? 'request' : 'stale';
  if (!shared) return outcome(ctx, 'revalidated', trip(ctx, req, key, entry, decision, fwd).then(settled));
  const flight = ctx.flights.get(key);
  if (flight) {
    const joined = await join(ctx, req, flight, { fwd });
    if (joined) return outcome(ctx, 'collapsed', Promise.resolve(joined));
  }
  const reply = lead(ctx, req, key, entry, { fwd }, (f) => trip(ctx, req, key, entry, decision, fwd, f));
  return outcome(ctx, 'revalidated', reply as Promise<Reply>);
}

async function settled(result: Admitted | Reply): Promise<Reply> {
  return 'stored' in result ? result.reply : result;
}

/**
 * One revalidation trip: a conditional GET with the stored validators (§4.3.1), then 304 → the stored response
 * freshened with the 304's fields (§4.3.4), anything else → admitted like a miss, and an upstream failure →
 * the stale response when stale-if-error allows it (RFC 5861 §4).
 */
async function trip(
  ctx: ProxyContext,
  req: ProxyRequest,
  key: string,
  entry: StoredResponse,
  decision: ReuseDecision,
  fwd: CacheStatusForward,
  flight?: Flight,
  detached = false,
): Promise<Admitted | Reply> {
  const validators = revalidationHeaders(entry);
  if (validators) ctx.metrics.stats.revalidations++;
  let res: Awaited<ReturnType<typeof sendForCache>>;
  try {
    res = await sendForCache(ctx, req, { set: validators as Record<string, string>, detached }, flight);
  } catch (error) {
    if (decision.staleIfError && error instanceof UpstreamError && error.reason !== 'aborted')
      return staleIfError(ctx, req, entry, decision, undefined);
    throw error;
  }
  if (res.status >= 500 && decision.staleIfError) {
    abandon(res.body);
    return staleIfError(ctx, req, entry, decision, res.status);
  }
  if (res.status !== 304) return admit(ctx, req, key, res, { fwd, fwdStatus: res.status }, flight);
  drain(res.body);
  let lines = responseLines(res.headers, res.responseTime);
  let unasked = validators === undefined;
  if (!unasked && !notModifiedMatches(entry.headers, lines)) {
    // §4.3.4: the 304 names no stored response; ask again without validators.
    res = await sendForCache(ctx, req, { detached }, flight);
    if (res.status !== 304)
      return admit(ctx, req, key, res, { fwd, fwdStatus: res.status, detail: 'unmatched-304' }, flight);
    drain(res.body);
    lines = responseLines(res.headers, res.responseTime);
    unasked = true;
  }
  // A 304 to a request without validators stands for the stored response only when it identifies it (§4.3.4,
  // third rule when it has no validators either); otherwise the caller gets no empty 304 it did not ask for.
  if (unasked && !unconditionalNotModifiedMatches(entry.headers, lines))
    return unexpectedNotModified(req.method, { fwd });
  const updated: StoredResponse = {
    ...entry,
    headers: mergeNotModified(entry.headers, lines),
    requestTime: res.requestTime,
    responseTime: res.responseTime,
  };
  // The 304's fields may forbid storing now (no-store, private, Surrogate-Control: no-store): then the entry goes.
  const keep = isStorable(
    'GET',
    req.headers,
    updated.status,
    policyLines(updated.headers),
    ctx.policy,
  ).storable;
  const write = keep ? ctx.guarded.put(updated) : ctx.guarded.delete(key);
  ctx.guarded.track(key, write);
  ctx.metrics.stats.bytesSaved += entry.body.byteLength;
  const reply = fromEntry(ctx, req, updated, { fwd, fwdStatus: 304 });
  return { reply: Promise.resolve(reply), stored: write.then(() => (keep ? updated : undefined)) };
}

function staleIfError(
  ctx: ProxyContext,
  req: ProxyRequest,
  entry: StoredResponse,
  decision: ReuseDecision,
  fwdStatus: number | undefined,
): Reply {
  ctx.metrics.stats.hits++;
  const member: Member = { fwd: 'stale', fwdStatus, ttl: Math.round(decision.ttl), detail: 'stale-if-error' };
  return fromEntry(ctx, req, entry, member);
}

/** A request that starts no trip of its own and is never aborted: a background revalidation's. */
const NEVER = new AbortController().signal;

/**
 * stale-while-revalidate (RFC 5861 §3): revalidates in the background, once per key in this process and, through
 * the store's lease, once across the proxies sharing the store (one that finds the lease taken leaves it be).
 */
function background(ctx: ProxyContext, req: ProxyRequest, key: string, entry: StoredResponse): void {
  if (ctx.flights.has(key)) return;
  const headers = { ...req.headers };
  for (const name of [...CONDITIONAL_FIELDS, 'range']) delete headers[name];
  // HEAD: the reply carries no body, so the trip's body goes to the store alone.
  const quiet: ProxyRequest = {
    method: 'HEAD',
    target: req.target,
    headers,
    body: null,
    signal: NEVER,
    remoteAddress: req.remoteAddress,
  };
  const noFallback: ReuseDecision = {
    action: 'revalidate',
    reason: 'stale',
    age: 0,
    ttl: 0,
    staleIfError: false,
  };
  const go = (f: Flight) => trip(ctx, quiet, key, entry, noFallback, 'stale', f, true);
  lead(ctx, quiet, key, entry, { fwd: 'stale' }, go, 'skip').catch(() => {});
}
