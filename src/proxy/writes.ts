/**
 * Unsafe methods: forwarded with their content, answered as the upstream answers, and followed by the
 * invalidation of what they changed (RFC 9111 §4.4). With `guardWrites`, a PUT, PATCH or DELETE carrying a
 * precondition is first checked against the current representation, revalidated with the upstream, and
 * answered 412 without reaching the upstream when it fails (RFC 9110 §13.2); with `requirePreconditions`, one
 * without any precondition is answered 428 (RFC 6585 §3).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { fieldValue, invalidationTargets, matchesVary } from '../client/policy.ts';
import { parseHttpDate } from '../core/index.ts';
import { decide, earlyResponse } from '../server/index.ts';
import { servedValidators } from './answer.ts';
import { cached, upstreamFailed } from './cache.ts';
import { cacheKey, type ProxyContext, type ProxyRequest, type Reply, upstreamUrl } from './context.ts';
import { sendAsIs } from './forward.ts';
import { CONDITIONAL_FIELDS, GENERATED_ETAG, responseLines } from './headers.ts';
import { asksNotModified, cacheStatus, refuseUnasked304, relay } from './reply.ts';
import { abandon, UpstreamError } from './upstream.ts';

export interface WriteSettings {
  guardWrites: boolean;
  /** Methods answered 428 without a precondition. */
  required: ReadonlySet<string>;
  /** Guarded writes under way, by key. */
  queues: Map<string, Promise<unknown>>;
}

const GUARDED = new Set(['PUT', 'PATCH', 'DELETE']);
const NONE: ReadonlySet<string> = new Set();

/** Runs `work` after the guarded writes to `key` already queued in this process, so a check and its write stay together. */
function serialised<T>(
  queues: Map<string, Promise<unknown>>,
  key: string,
  work: () => Promise<T>,
): Promise<T> {
  const result = (queues.get(key) ?? Promise.resolve()).then(work, work);
  const tail = result.catch(() => {});
  queues.set(key, tail);
  tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

/** Answers a request whose method is neither GET nor HEAD. */
export async function unsafeMethod(
  ctx: ProxyContext,
  req: ProxyRequest,
  settings: WriteSettings,
): Promise<Reply> {
  const early = decide(req.method, req.headers, undefined, settings.required);
  if (early.action === 'precondition-required') {
    ctx.metrics.request('precondition-required');
    return earlyReply(earlyResponse(early, req.method, undefined, undefined), 'precondition-required');
  }
  const conditional = CONDITIONAL_FIELDS.some((f) => req.headers[f] !== undefined);
  if (!settings.guardWrites || !GUARDED.has(req.method) || !conditional) return send(ctx, req, NONE);
  return serialised(settings.queues, cacheKey(ctx, req.target), async () => {
    const current = await currentRepresentation(ctx, req);
    if (current === undefined) return send(ctx, req, NONE); // nothing to check against: the upstream decides
    const decision = decide(req.method, req.headers, current, NONE);
    if (decision.action === 'precondition-failed') {
      ctx.metrics.stats.preconditionFailedServed++;
      ctx.metrics.request('precondition-failed');
      return earlyReply(earlyResponse(decision, req.method, current, undefined), 'guard-writes');
    }
    // The upstream never saw the proxy's own tag: checked here, it is not sent on.
    return send(ctx, req, current.generated ? new Set(CONDITIONAL_FIELDS) : NONE);
  });
}

function earlyReply(early: ReturnType<typeof earlyResponse>, detail: string): Reply {
  const head = Object.entries(early.headers).flat();
  head.push('cache-status', cacheStatus({ detail }));
  return { status: early.status, head, body: early.body ?? null };
}

/**
 * The current representation's validators, as a GET revalidated with the upstream now sees them (the proxy's
 * own ETag included); `exists: false` for a 404 or 410; undefined when it cannot be told.
 */
async function currentRepresentation(
  ctx: ProxyContext,
  req: ProxyRequest,
): Promise<{ etag?: string; lastModified?: Date; exists: boolean; generated: boolean } | undefined> {
  const headers: IncomingHttpHeaders = { ...req.headers, 'cache-control': 'no-cache' };
  for (const name of [...CONDITIONAL_FIELDS, 'range']) delete headers[name];
  // A GET (a HEAD with nothing stored would only be forwarded): its content, if streamed, is let go.
  const probe: ProxyRequest = {
    method: 'GET',
    target: req.target,
    headers,
    body: null,
    signal: req.signal,
    remoteAddress: req.remoteAddress,
  };
  const reply = await cached(ctx, probe);
  if (reply.body && !(reply.body instanceof Uint8Array)) abandon(reply.body);
  if (reply.status === 404 || reply.status === 410) return { exists: false, generated: false };
  if (reply.status < 200 || reply.status >= 300) return undefined;
  // What the revalidation stored says which tag is the proxy's own; an unstored answer speaks for itself.
  const variants = await ctx.guarded.get(cacheKey(ctx, req.target)).catch(() => []);
  const entry = variants.find((v) => matchesVary(v, req.headers));
  const lines: [string, string][] = [];
  for (let i = 0; i < reply.head.length; i += 2) lines.push([reply.head[i]!, reply.head[i + 1]!]);
  const etag = entry ? servedValidators(entry).etag : fieldValue(lines, 'etag');
  const lastModified = parseHttpDate(fieldValue(entry?.headers ?? lines, 'last-modified'));
  if (etag === undefined && lastModified === undefined) return undefined;
  const generated = entry !== undefined && fieldValue(entry.headers, GENERATED_ETAG) !== undefined;
  return { etag, lastModified, exists: true, generated };
}

/** Forwards the request (without the fields in `omit`), relays the answer, and invalidates (§4.4). */
async function send(ctx: ProxyContext, req: ProxyRequest, omit: ReadonlySet<string>): Promise<Reply> {
  let res: Awaited<ReturnType<typeof sendAsIs>>;
  try {
    res = await sendAsIs(ctx, req, { omit });
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    ctx.metrics.request(`upstream-${error.reason}`);
    return upstreamFailed(error, req.method);
  }
  const lines = responseLines(res.headers, res.responseTime);
  // Later lookups of these keys wait for the deletes (GuardedStore.track); this response does not.
  for (const target of invalidationTargets(req.method, upstreamUrl(ctx, req.target), res.status, lines)) {
    const key = `GET ${target}`;
    ctx.guarded.track(key, ctx.guarded.delete(key));
  }
  ctx.metrics.request('method');
  // A 304 answers only the client's own validators, and those left out here were never sent.
  const asked = omit.size === 0 && asksNotModified(req.headers);
  const refused = refuseUnasked304(req, res, { fwd: 'method' }, asked);
  if (refused) return refused;
  return relay(req.method, res.status, lines, { fwd: 'method', fwdStatus: res.status }, res.body);
}
