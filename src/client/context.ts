/**
 * What the parts of one `createFetch()` share — the origin, the guarded store, the policy options, the clock, the
 * counters — and the moves they all make: forward a request, serve a stored response, admit an origin response
 * into the store, and report each decision (Cache-Status, diagnostics_channel).
 */
import { channel } from 'node:diagnostics_channel';
import { type CacheStatusEntry, type CacheStatusForward, formatCacheStatus } from '../core/index.ts';
import { FetchedEntry } from './entry-check.ts';
import type { GuardedStore } from './guarded-store.ts';
import {
  appendCacheStatus,
  type Call,
  carriesBody,
  collect,
  relayResponse,
  storedResponse,
  unexpectedNotModified,
  withFetchCacheHeaders,
} from './messages.ts';
import {
  credentialsPartition,
  currentAge,
  evaluateReuse,
  headerLines,
  isStorable,
  matchesVary,
  type PolicyOptions,
  storableHeaders,
  varyFieldNames,
  varyKey,
} from './policy.ts';
import type { StoredResponse } from './store.ts';

export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** Counters since the fetch was created. */
export interface CacheStats {
  /** Responses served from the store without contacting the origin. */
  hits: number;
  /** Requests forwarded with no usable stored response. */
  misses: number;
  /** Conditional requests sent to revalidate a stored response. */
  revalidations: number;
  /** Revalidations answered 304 Not Modified. */
  notModified: number;
  /** Body bytes served from the store (hits and 304-revalidated responses). */
  bytesFromCache: number;
  /** Body bytes the origin did not resend thanks to a 304. */
  bytesSavedBy304: number;
  /** Store operations that failed (requests still succeeded via the origin). */
  storeErrors: number;
}

/**
 * What `etagkit:client:decision` subscribers receive: one message per decision (`hit`, `uri-miss`, `revalidated`,
 * `stale-while-revalidate`, `unexpected-304`, …) with the Cache-Status member it produced; once a response's body
 * is complete, `stored` or `not-stored` (with the corrected member); and one per store failure or unusable entry
 * (`store-error:get`, `store-error:put`, …; `url` is then the cache key and `error` the failure).
 */
export interface DecisionMessage {
  url: string;
  decision: string;
  cacheStatus: string;
  error?: unknown;
}

export interface CacheContext {
  readonly origin: FetchLike;
  readonly guarded: GuardedStore;
  readonly policy: PolicyOptions;
  readonly now: () => number;
  readonly maxEntryBytes: number;
  readonly stats: CacheStats;
  /** In-flight origin requests (by cache key) and revalidations that others may join; each gives what it stored. */
  readonly inflight: Map<string, Promise<StoredResponse | undefined>>;
  /** How long a foreground revalidation holds the store's lease, and how long others wait for it; 0: no lease. */
  readonly leaseMs: number;
  /** Keys carry a digest of the request's credentials (see cacheKey). */
  readonly partitionByCredentials: boolean;
}

/**
 * The primary cache key of a GET of `url` (RFC 9111 §2: method and target URI). A cache partitioned by credentials
 * appends a digest of the request's Authorization and Cookie, so that each set of credentials has a private cache
 * of its own; a URL holds no space, so no key of one partition can be another's.
 */
export function cacheKey(ctx: CacheContext, url: string, headers: Headers): string {
  const partition = ctx.partitionByCredentials ? credentialsPartition(headers) : '';
  return partition === '' ? `GET ${url}` : `GET ${url} credentials=${partition}`;
}

/** `stored` of a response that was not stored. */
export const NOTHING_STORED: Promise<undefined> = Promise.resolve(undefined);

/** The name of this cache in Cache-Status (RFC 9211 §2). */
export const CACHE_NAME = 'etagkit';
const decisions = channel('etagkit:client:decision');

/** Formatted Cache-Status members by their parameters: a client sees the same few again and again. */
const formatted = new Map<string, string>();

/** Formats our Cache-Status member and publishes the decision on `etagkit:client:decision`. */
export function report(url: string, decision: string, status: CacheStatusEntry): string {
  const key = `${status.cache}|${status.key}|${status.hit}|${status.fwd}|${status.fwdStatus}|${status.ttl}|${status.stored}|${status.collapsed}|${status.detail}`;
  let value = formatted.get(key);
  if (value === undefined) {
    value = formatCacheStatus(status);
    if (formatted.size >= 512) formatted.clear();
    formatted.set(key, value);
  }
  if (decisions.hasSubscribers)
    decisions.publish({ url, decision, cacheStatus: value } satisfies DecisionMessage);
  return value;
}

/** Publishes a store failure on `etagkit:client:decision`. */
export function reportStoreError(key: string, op: string, error: unknown): void {
  if (decisions.hasSubscribers)
    decisions.publish({
      url: key,
      decision: `store-error:${op}`,
      cacheStatus: '',
      error,
    } satisfies DecisionMessage);
}

/** Sends the call to the origin with `headers` (and those Fetch adds for its cache mode). */
export function forward(
  ctx: CacheContext,
  call: Call,
  headers: Headers | Record<string, string>,
): Promise<Response> {
  const { cache: _ignored, ...init } = call.init;
  return ctx.origin(call.input, { ...init, headers: withFetchCacheHeaders(call.mode, headers) });
}

/** Serves a stored response (never a bare 304) and counts its bytes. */
export function fromStore(
  ctx: CacheContext,
  call: Call,
  entry: StoredResponse,
  age: number,
  cacheStatus: string,
): Response {
  const response = storedResponse(call, entry, age, cacheStatus);
  if (carriesBody(call.method, entry.status)) ctx.stats.bytesFromCache += entry.body.byteLength;
  return response;
}

/**
 * Whether a response that arrived for a concurrent request may answer this one too: yes, even with a zero
 * freshness lifetime, unless the response or this request demands validation (no-cache, max-age, min-fresh),
 * and only when its Vary-selected headers match this request's (§4.1).
 */
export function mayShare(ctx: CacheContext, call: Call, entry: StoredResponse): boolean {
  if (!matchesVary(entry, call.headers)) return false;
  const decision = evaluateReuse(call.headers, entry, ctx.now(), ctx.policy);
  return (
    decision.action !== 'revalidate' || decision.reason === 'stale' || decision.reason === 'must-revalidate'
  );
}

/** current_age of a stored response now (RFC 9111 §4.2.3). */
export function currentAgeOf(ctx: CacheContext, entry: StoredResponse): number {
  return currentAge(entry, ctx.now());
}

/** Validators a caller may send itself: such requests go to the origin untouched and get its answer, a 304 too. */
const CALLER_CONDITIONALS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since'];

/** Whether the caller asked a conditional question of its own (RFC 9110 §13.1). */
export function asksConditional(headers: Headers): boolean {
  return CALLER_CONDITIONALS.some((name) => headers.has(name));
}

/**
 * Whether the caller asked a question a 304 answers: If-None-Match or If-Modified-Since (RFC 9110 §15.4.5).
 * If-Match and If-Unmodified-Since fail with 412, never 304.
 */
export function asksNotModified(headers: Headers): boolean {
  return headers.has('if-none-match') || headers.has('if-modified-since');
}

/**
 * A 304 that answered a request without validators, when no stored response can stand in for it: the caller
 * gets 502 and a problem body instead (see unexpectedNotModified), and Cache-Status says `detail=unexpected-304`.
 */
export function refuseNotModified(
  call: Call,
  res: Response,
  status: Omit<CacheStatusEntry, 'cache'>,
): Response {
  res.body?.cancel().catch(() => {});
  const entry: CacheStatusEntry = { cache: CACHE_NAME, ...status, fwdStatus: 304, detail: 'unexpected-304' };
  return unexpectedNotModified(call, report(call.url, 'unexpected-304', entry));
}

/** Forwards the request as it is and relays the answer; nothing is stored. */
export async function passThrough(
  ctx: CacheContext,
  call: Call,
  fwd: CacheStatusForward,
  detail: string,
): Promise<Response> {
  const res = await forward(ctx, call, call.headers);
  if (res.status === 304 && !asksNotModified(call.headers)) return refuseNotModified(call, res, { fwd });
  const status: CacheStatusEntry = { cache: CACHE_NAME, fwd, fwdStatus: res.status, detail };
  return relayResponse(call, res, report(call.url, detail, status), res.body);
}

/**
 * Handles a full response from the origin to a request without validators: relays it, and when storable
 * (RFC 9111 §3) tees the body so that a copy is stored once, and only if, it arrives completely. Resolves `stored`
 * with the entry, or undefined. A 304 here answered no question: the caller gets 502 (refuseNotModified).
 */
export function admit(
  ctx: CacheContext,
  call: Call,
  res: Response,
  key: string,
  requestTime: number,
  status: CacheStatusEntry,
  decision: string,
): { response: Response; stored: Promise<StoredResponse | undefined> } {
  if (res.status === 304) return { response: refuseNotModified(call, res, status), stored: NOTHING_STORED };
  const responseTime = ctx.now();
  const lines = headerLines(res.headers);
  const storable =
    call.mode !== 'no-store' &&
    !res.redirected &&
    isStorable(call.method, call.headers, res.status, lines, ctx.policy).storable;
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (!storable || declared > ctx.maxEntryBytes) {
    const cacheStatus = report(call.url, decision, status);
    return { response: relayResponse(call, res, cacheStatus, res.body), stored: NOTHING_STORED };
  }
  const headers = storableHeaders(lines);
  const names = varyFieldNames(headers);
  const { variant, varyHeaders } = varyKey(names === '*' ? [] : names, call.headers);
  const make = (body: Uint8Array): StoredResponse =>
    new FetchedEntry(key, variant, res.status, headers, varyHeaders, body, requestTime, responseTime);
  // `stored` says what is under way when the headers go out; should the body or the write fail, the response's
  // Cache-Status is corrected (for whoever reads it after the body) and `not-stored` is published.
  const cacheStatus = report(call.url, decision, { ...status, stored: true });
  let response: Response;
  const write = async (entry: StoredResponse): Promise<StoredResponse> => {
    if (await ctx.guarded.put(entry)) report(call.url, 'stored', { ...status, stored: true });
    else notStored(call, response, res, status, 'store-error');
    // Complete either way: requests waiting for it may share it (the store failure is the store's, not theirs).
    return entry;
  };
  if (res.body === null) {
    response = relayResponse(call, res, cacheStatus, null);
    const done = write(make(new Uint8Array(0)));
    ctx.guarded.track(key, done);
    return { response, stored: done };
  }
  const [toCaller, toStore] = res.body.tee();
  const identity = (res.headers.get('content-encoding') ?? 'identity').toLowerCase() === 'identity';
  // A lookup of this key waits for the write only once the body has fully arrived, never for another request's
  // (maybe endless) download.
  let ended: () => void = () => {};
  const stored = collect(toStore, ctx.maxEntryBytes, () => ended()).then((body) => {
    if (typeof body === 'string') return notStored(call, response, res, status, body);
    // Never store a truncated body: a decoded length must match a declared Content-Length.
    if (identity && Number.isFinite(declared) && body.byteLength !== declared)
      return notStored(call, response, res, status, 'truncated');
    return write(make(body));
  });
  ended = () => ctx.guarded.track(key, stored);
  response = relayResponse(call, res, cacheStatus, toCaller);
  return { response, stored };
}

/**
 * A response admitted for storage that was not stored after all (its body failed, grew past maxEntryBytes or fell
 * short of its Content-Length, or the store failed): its Cache-Status loses `stored` and says why in `detail`
 * (RFC 9211 §2.5, §2.8), and `not-stored` is published.
 */
function notStored(
  call: Call,
  response: Response,
  res: Response,
  status: CacheStatusEntry,
  why: 'too-large' | 'failed' | 'truncated' | 'store-error',
): undefined {
  const detail = `not-stored-${why === 'failed' ? 'body-failed' : why}`;
  const ours = report(call.url, 'not-stored', {
    ...status,
    detail: status.detail ? `${status.detail} ${detail}` : detail,
  });
  appendCacheStatus(response.headers, res.headers.get('cache-status') ?? undefined, ours);
  return undefined;
}
