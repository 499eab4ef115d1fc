/**
 * An upstream response to a GET, on its way to the client and, when RFC 9111 §3 allows, into the store: relayed
 * as it streams, or — for a 200 without validators, when `addEtags` is on — held back up to a bound so that it
 * already carries the strong ETag the proxy makes from its bytes.
 */
import { fieldValue, isStorable, storableHeaders, varyFieldNames, varyKey } from '../client/policy.ts';
import type { StoredResponse } from '../client/store.ts';
import { type CacheStatusEntry, parseCacheControl } from '../core/index.ts';
import { tagForEncoding } from '../server/index.ts';
import { answerOnHead, fromEntry } from './answer.ts';
import type { Flight, ProxyContext, ProxyRequest, Reply } from './context.ts';
import { type Collected, Fill } from './fill.ts';
import { GENERATED_ETAG, responseLines } from './headers.ts';
import { refuseUnasked304, relay } from './reply.ts';
import { policyLines } from './surrogate.ts';
import { abandon, type UpstreamResponse } from './upstream.ts';

/** What became of an upstream response: the client's reply, and the entry stored (undefined when none). */
export interface Admitted {
  reply: Promise<Reply>;
  stored: Promise<StoredResponse | undefined>;
}

const EMPTY = new Uint8Array(0);

/**
 * Whether a response that sets a cookie may be shared. RFC 9111 lets a cache store it, but a cookie usually opens
 * one user's session: a shared cache keeps it only when the origin says so for shared caches in particular
 * (`public` or `s-maxage`), as Varnish and nginx refuse it by default.
 */
function mayShareCookies(lines: readonly (readonly [string, string])[]): boolean {
  if (fieldValue(lines, 'set-cookie') === undefined) return true;
  const cc = parseCacheControl(fieldValue(lines, 'cache-control') ?? '');
  return 'public' in cc || 's-maxage' in cc;
}

/** Responses whose bytes must flow as they come (server-sent events, or an origin that says so). */
function mustStream(lines: readonly (readonly [string, string])[]): boolean {
  const type = fieldValue(lines, 'content-type')?.toLowerCase() ?? '';
  return type.startsWith('text/event-stream') || fieldValue(lines, 'x-accel-buffering') === 'no';
}

/**
 * Admits `res`, the upstream's answer to `req` (sent as a GET for the cache key `key`). `member` is the
 * Cache-Status member so far; `flight` is the flight other requests wait on, if any.
 */
export function admit(
  ctx: ProxyContext,
  req: ProxyRequest,
  key: string,
  res: UpstreamResponse,
  member: Omit<CacheStatusEntry, 'cache'>,
  flight?: Flight,
): Admitted {
  const refused = refuseUnasked304(req, res, member);
  if (refused) return { reply: Promise.resolve(refused), stored: Promise.resolve(undefined) };
  const lines = responseLines(res.headers, res.responseTime);
  const declared = Number(res.headers['content-length'] ?? Number.NaN);
  const storable =
    isStorable('GET', req.headers, res.status, policyLines(lines), ctx.policy).storable &&
    mayShareCookies(lines) &&
    !(declared > ctx.maxEntryBytes);
  const partial = (headers: [string, string][], body: Uint8Array): StoredResponse => ({
    key,
    variant: '',
    status: res.status,
    headers,
    varyHeaders: {},
    body,
    requestTime: res.requestTime,
    responseTime: res.responseTime,
  });
  if (!storable) {
    const early = answerOnHead(ctx, req, partial(lines, EMPTY), member);
    if (early) abandon(res.body);
    const reply = early ?? relay(req.method, res.status, lines, member, res.body);
    return { reply: Promise.resolve(reply), stored: Promise.resolve(undefined) };
  }

  const headers = storableHeaders(lines);
  const names = varyFieldNames(headers);
  const { variant, varyHeaders } = varyKey(names === '*' ? [] : names, req.headers);
  const coding = fieldValue(headers, 'content-encoding');
  const needsTag =
    ctx.addEtags &&
    res.status === 200 &&
    fieldValue(headers, 'etag') === undefined &&
    fieldValue(headers, 'last-modified') === undefined;
  const fill = new Fill(res.body, {
    limit: ctx.maxEntryBytes,
    tag: needsTag,
    needed: () => (flight?.waiters ?? 0) > 0,
  });
  let entry: StoredResponse | undefined;
  // One entry object for the store and the reply: the stored head says what the stored bytes are (their length,
  // and the tag made from them).
  const entryOf = (collected: Collected): StoredResponse => {
    if (entry) return entry;
    const kept = headers.filter(([n]) => n !== 'content-length');
    kept.push(['content-length', String(collected.bytes.byteLength)]);
    if (collected.tag !== undefined) kept.push([GENERATED_ETAG, tagForEncoding(collected.tag, coding)]);
    entry = { ...partial(kept, collected.bytes), variant, varyHeaders };
    return entry;
  };
  const stored = fill.done.then(async (collected) => {
    if (!collected) return undefined;
    const complete = entryOf(collected);
    await ctx.guarded.put(complete);
    return complete;
  });
  const storedMember = { ...member, stored: true };

  const streamed = (): Reply => {
    const early = answerOnHead(ctx, req, partial(lines, EMPTY), storedMember);
    if (early || req.method === 'HEAD') fill.withoutClient();
    if (early) return early;
    const body = req.method === 'HEAD' ? null : fill.attach();
    return relay(req.method, res.status, lines, storedMember, body);
  };
  if (!needsTag || ctx.etagBufferBytes === 0 || mustStream(lines))
    return { reply: Promise.resolve(streamed()), stored };
  // Held back until complete (then answered like a stored response, ETag and all) or past the bound.
  const reply = fill.completeWithin(ctx.etagBufferBytes).then(async (complete) => {
    if (!complete) return streamed();
    const collected = (await fill.done)!;
    return fromEntry(ctx, req, entryOf(collected), storedMember);
  });
  return { reply, stored };
}
