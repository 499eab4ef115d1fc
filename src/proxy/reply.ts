/**
 * Replies that are not a stored response: an upstream response relayed, the proxy's own errors (502, 504, 400,
 * …) as problem+json, and the Cache-Status member (RFC 9211) every one of them carries.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { type CacheStatusEntry, formatCacheStatus } from '../core/index.ts';
import type { Reply } from './context.ts';
import { flatten } from './headers.ts';
import { drain } from './upstream.ts';

/** The name of this cache in Cache-Status (RFC 9211 §2). */
export const CACHE_NAME = 'etagkit';

/** Our Cache-Status member, after the upstream's own members (the cache nearest the client comes last, §2). */
export function cacheStatus(member: Omit<CacheStatusEntry, 'cache'>, upstream?: string): string {
  // A plain hit is most responses: its member without building an entry object.
  const plainHit =
    member.hit && member.detail === undefined && member.fwd === undefined && member.ttl !== undefined;
  const ours = plainHit
    ? `${CACHE_NAME}; hit; ttl=${Math.trunc(member.ttl!)}`
    : formatCacheStatus({ cache: CACHE_NAME, ...member });
  return upstream ? `${upstream}, ${ours}` : ours;
}

const NULL_BODY_STATUSES = new Set([204, 304]);

/** Whether a response with `status` to `method` has content (RFC 9110 §6.4.1, §9.3.2). */
export function hasContent(method: string, status: number): boolean {
  return method !== 'HEAD' && !NULL_BODY_STATUSES.has(status);
}

/**
 * An upstream response passed on: its end-to-end header lines with Cache-Status appended (an upstream
 * Cache-Status line is kept and ours follows it), and its content.
 */
export function relay(
  method: string,
  status: number,
  lines: readonly (readonly [string, string])[],
  member: Omit<CacheStatusEntry, 'cache'>,
  body: Readable | Uint8Array | null,
): Reply {
  const upstreamStatus = lines.filter(([n]) => n === 'cache-status').map(([, v]) => v);
  const head = flatten(lines, SKIP_ON_RELAY);
  head.push('cache-status', cacheStatus(member, upstreamStatus.join(', ') || undefined));
  if (!hasContent(method, status) && body && !(body instanceof Uint8Array)) drain(body);
  return { status, head, body: hasContent(method, status) ? body : null };
}

/** Cache-Status is rebuilt; Surrogate-Control is consumed by this surrogate (Edge Architecture §2.2). */
const SKIP_ON_RELAY = new Set(['cache-status', 'surrogate-control']);

const encoder = new TextEncoder();

/**
 * The proxy's own error (RFC 9457 problem+json): what went wrong and what to do, never cached downstream.
 *
 * @example
 * problemReply(504, 'Gateway Timeout', 'the upstream did not answer within 30 s', { detail: 'upstream-timeout' });
 */
export function problemReply(
  status: number,
  title: string,
  detail: string,
  member: Omit<CacheStatusEntry, 'cache'>,
  method = 'GET',
): Reply {
  const data = encoder.encode(JSON.stringify({ type: 'about:blank', title, status, detail }));
  return {
    status,
    head: [
      'content-type',
      'application/problem+json',
      'content-length',
      String(data.byteLength),
      'cache-control',
      'no-store',
      'cache-status',
      cacheStatus(member),
    ],
    body: method === 'HEAD' ? null : data,
  };
}

/**
 * Whether a request asks a question that a 304 answers: If-None-Match or If-Modified-Since (RFC 9110 §13.1.2,
 * §13.1.3, §15.4.5). A Range, If-Match or If-Unmodified-Since alone never earns one.
 */
export function asksNotModified(headers: IncomingHttpHeaders): boolean {
  return headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined;
}

/**
 * For an upstream 304 that answers no validator of the client's own — `asked` false; by default, when the request
 * carries no If-None-Match or If-Modified-Since — the 502 of `unexpectedNotModified`, its body drained; for any
 * other response, undefined (relay it).
 */
export function refuseUnasked304(
  req: { method: string; headers: IncomingHttpHeaders },
  res: { status: number; body: Readable },
  member: Omit<CacheStatusEntry, 'cache'>,
  asked = asksNotModified(req.headers),
): Reply | undefined {
  if (res.status !== 304 || asked) return undefined;
  drain(res.body);
  return unexpectedNotModified(req.method, member);
}

/**
 * A 304 from the upstream to a request that carried no validators of the client's own, with no stored response
 * it could freshen: there is no content to give, and an empty 304 would tell the client it holds a response it
 * never had (RFC 9111 §4.3.4). 502, with `detail=unexpected-304` in Cache-Status (RFC 9211 §2.8).
 */
export function unexpectedNotModified(method: string, member: Omit<CacheStatusEntry, 'cache'>): Reply {
  const why =
    'the upstream answered 304 Not Modified to a request that carried no validators, and no stored response ' +
    'matches it, so there is no content to give (RFC 9110 §15.4.5): look at the upstream';
  return problemReply(
    502,
    'Bad Gateway',
    why,
    { ...member, fwdStatus: 304, detail: 'unexpected-304' },
    method,
  );
}
