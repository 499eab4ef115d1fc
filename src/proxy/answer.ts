/**
 * Answering a request from a stored response: the whole response with Age (RFC 9111 §5.1), or — the proxy
 * acting as the origin's gateway (RFC 9110 §7.6) — a 304, 412, 206 or 416 decided by the core evaluator of
 * RFC 9110 §13.2.2 and §14.2 against the stored validators and bytes.
 */
import { currentAge, fieldValue } from '../client/policy.ts';
import type { StoredResponse } from '../client/store.ts';
import {
  type CacheStatusEntry,
  evaluatePreconditions,
  formatContentRange,
  formatUnsatisfiedRange,
  parseEntityTag,
  parseHttpDate,
} from '../core/index.ts';
import { earlyResponse } from '../server/index.ts';
import type { ProxyContext, ProxyRequest, Reply } from './context.ts';
import { CONDITIONAL_FIELDS, GENERATED_ETAG } from './headers.ts';
import { cacheStatus } from './reply.ts';

/** What every answer from one stored response shares, worked out once per entry object. */
interface Prepared {
  /** Stored header lines as sent: without Age, Cache-Status and the proxy's tag field, with ETag. */
  head: string[];
  etag: string | undefined;
  lastModified: number | undefined;
  date: number | undefined;
  upstreamCacheStatus: string | undefined;
  /** The 304 this entry answers with (§15.4.5), without Age and Cache-Status. */
  notModifiedHead: string[];
  /** `etag` spelled strong and weak (`"x"`, `W/"x"`): the weak comparison of §8.8.3.2 matches both. */
  etagForms: readonly [string, string] | undefined;
}

const PREPARED = new WeakMap<StoredResponse, Prepared>();
/** Age and Cache-Status are made per answer; Surrogate-Control is for this surrogate only (Edge Architecture §2.2). */
const NOT_SENT = new Set(['age', 'cache-status', 'surrogate-control', GENERATED_ETAG]);

function prepare(entry: StoredResponse): Prepared {
  const known = PREPARED.get(entry);
  if (known) return known;
  const head: string[] = [];
  for (const [name, value] of entry.headers) if (!NOT_SENT.has(name)) head.push(name, value);
  const generated = fieldValue(entry.headers, GENERATED_ETAG);
  if (generated !== undefined) head.push('etag', generated);
  const etag = generated ?? fieldValue(entry.headers, 'etag');
  const lastModified = parseHttpDate(fieldValue(entry.headers, 'last-modified'))?.getTime();
  const routeHeaders: Record<string, string> = {};
  for (let i = 0; i < head.length; i += 2)
    routeHeaders[head[i]!] = routeHeaders[head[i]!]
      ? `${routeHeaders[head[i]!]}, ${head[i + 1]}`
      : head[i + 1]!;
  const parsed = parseEntityTag(etag);
  const validators = {
    etag: parsed ? etag : undefined,
    lastModified: lastModified === undefined ? undefined : new Date(lastModified),
  };
  const early = earlyResponse(
    { action: 'not-modified', by: 'if-none-match' },
    'GET',
    validators,
    routeHeaders,
  );
  const prepared: Prepared = {
    head,
    etag: validators.etag,
    etagForms: parsed === undefined ? undefined : [`"${parsed.tag}"`, `W/"${parsed.tag}"`],
    lastModified,
    date: parseHttpDate(fieldValue(entry.headers, 'date'))?.getTime(),
    upstreamCacheStatus: fieldValue(entry.headers, 'cache-status'),
    notModifiedHead: Object.entries(early.headers).flat(),
  };
  PREPARED.set(entry, prepared);
  return prepared;
}

/** The entity-tag and Last-Modified a client sees on this stored response (the proxy's own tag included). */
export function servedValidators(entry: StoredResponse): { etag?: string; lastModified?: number } {
  const { etag, lastModified } = prepare(entry);
  return { etag, lastModified };
}

function hasConditional(req: ProxyRequest): boolean {
  const h = req.headers;
  return h.range !== undefined || CONDITIONAL_FIELDS.some((name) => h[name] !== undefined);
}

/**
 * The answer to `req` from `entry`. `member` describes how the cache got here (hit, revalidated, collapsed…) and
 * `outcome` names it in the metrics; `currentAgeNow` is the entry's current age in seconds when the caller knows it.
 */
export function fromEntry(
  ctx: ProxyContext,
  req: ProxyRequest,
  entry: StoredResponse,
  member: Omit<CacheStatusEntry, 'cache'>,
  currentAgeNow = currentAge(entry, ctx.now()),
): Reply {
  const p = prepare(entry);
  const age = String(Math.floor(currentAgeNow));
  const status = cacheStatus(member, p.upstreamCacheStatus);
  // §13.2.1: preconditions and Range apply to a response that would be 2xx (and a 206 is not stored).
  if (entry.status >= 200 && entry.status < 300 && hasConditional(req)) {
    const special = conditionalAnswer(ctx, req, entry, p, age, status, true);
    if (special) return special;
  }
  const head = p.head.slice();
  head.push('age', age, 'cache-status', status);
  const content = req.method !== 'HEAD' && entry.status !== 204;
  if (content) ctx.metrics.stats.bytesFromCache += entry.body.byteLength;
  return { status: entry.status, head, body: content ? entry.body : null };
}

/**
 * The 304 or 412 for `req` decided from the head of a response still arriving (`partial` holds its status and
 * header lines; its body is not known yet, so Range is left to the whole response); undefined to send it whole.
 */
export function answerOnHead(
  ctx: ProxyContext,
  req: ProxyRequest,
  partial: StoredResponse,
  member: Omit<CacheStatusEntry, 'cache'>,
): Reply | undefined {
  if (partial.status < 200 || partial.status >= 300 || !hasConditional(req)) return undefined;
  const p = prepare(partial);
  const age = String(Math.floor(currentAge(partial, ctx.now())));
  return conditionalAnswer(ctx, req, partial, p, age, cacheStatus(member, p.upstreamCacheStatus), false);
}

/**
 * Whether the request's If-None-Match is exactly the stored entity-tag, weak or strong, with nothing evaluated
 * before it: then §13.2.2 gives a GET or HEAD 304 without parsing a list. The same as the evaluator decides:
 * If-Match and If-Unmodified-Since come first (step 1, 2) and may fail it, so they take the full path; the weak
 * comparison of §13.1.2 matches `"x"` and `W/"x"` alike (§8.8.3.2); If-Modified-Since is not evaluated when
 * If-None-Match is present (step 4), and Range comes after (step 5). A list, `*` or any other spelling (spaces,
 * several tags) goes the full way.
 */
function isStoredTag(req: ProxyRequest, p: Prepared): boolean {
  const h = req.headers;
  const value = h['if-none-match'];
  return (
    value !== undefined &&
    p.etagForms !== undefined &&
    (value === p.etagForms[0] || value === p.etagForms[1]) &&
    h['if-match'] === undefined &&
    h['if-unmodified-since'] === undefined &&
    (req.method === 'GET' || req.method === 'HEAD')
  );
}

/** The 304 built when the entry was prepared (§15.4.5), with this answer's Age and Cache-Status. */
function notModified(ctx: ProxyContext, p: Prepared, age: string, status: string): Reply {
  ctx.metrics.stats.notModifiedServed++;
  return { status: 304, head: [...p.notModifiedHead, 'age', age, 'cache-status', status], body: null };
}

/** 304, 412, 206 or 416 when the request's preconditions or Range say so; undefined for the whole response. */
function conditionalAnswer(
  ctx: ProxyContext,
  req: ProxyRequest,
  entry: StoredResponse,
  p: Prepared,
  age: string,
  status: string,
  withRange: boolean,
): Reply | undefined {
  const h = req.headers;
  if (isStoredTag(req, p)) return notModified(ctx, p, age, status);
  const now = ctx.now();
  // RFC 9111 §4.3.2: with no Last-Modified, If-Modified-Since is compared with the stored response's Date.
  const imsOnly = h['if-unmodified-since'] === undefined && h['if-range'] === undefined;
  const lastModified = p.lastModified ?? (imsOnly ? p.date : undefined);
  const decision = evaluatePreconditions(
    { method: req.method, headers: h },
    {
      etag: p.etag,
      lastModified,
      size: withRange && entry.status === 200 ? entry.body.byteLength : undefined,
      now,
    },
  );
  switch (decision.action) {
    case 'not-modified':
      return notModified(ctx, p, age, status);
    case 'precondition-failed': {
      ctx.metrics.stats.preconditionFailedServed++;
      const early = earlyResponse(decision, req.method, { etag: p.etag }, undefined);
      const head = Object.entries(early.headers).flat();
      head.push('cache-status', status);
      return { status: 412, head, body: req.method === 'HEAD' ? null : (early.body ?? null) };
    }
    case 'partial': {
      // One range from the stored bytes (§14.2); a server may send the whole representation for several.
      if (decision.ranges.length !== 1) return undefined;
      const range = decision.ranges[0]!;
      const head: string[] = [];
      for (let i = 0; i < p.head.length; i += 2)
        if (p.head[i] !== 'content-length') head.push(p.head[i]!, p.head[i + 1]!);
      const length = range.end - range.start + 1;
      head.push(
        'content-range',
        formatContentRange(range, entry.body.byteLength),
        'content-length',
        String(length),
        'age',
        age,
        'cache-status',
        status,
      );
      ctx.metrics.stats.bytesFromCache += length;
      return { status: 206, head, body: entry.body.subarray(range.start, range.end + 1) };
    }
    case 'range-not-satisfiable':
      return {
        status: 416,
        head: [
          'content-range',
          formatUnsatisfiedRange(entry.body.byteLength),
          'content-length',
          '0',
          'cache-status',
          status,
        ],
        body: null,
      };
    default:
      return undefined;
  }
}
