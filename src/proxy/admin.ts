/**
 * The proxy's own endpoints under `/_etagkit/`: Prometheus metrics, and an authenticated purge of one URL or of
 * every URL under a prefix. The token is compared in constant time (digests of equal length, timingSafeEqual).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { CacheStore } from '../client/store.ts';
import { cacheKey, type ProxyContext, type ProxyRequest, type Reply } from './context.ts';
import { requestField } from './headers.ts';
import { cacheStatus, problemReply } from './reply.ts';

export const ADMIN_PREFIX = '/_etagkit/';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Whether `Authorization: Bearer <token>` carries the purge token. */
function authorized(req: ProxyRequest, token: Buffer | undefined): boolean {
  if (!token) return false;
  const match = /^Bearer +(\S+) *$/i.exec(requestField(req.headers, 'authorization') ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), token);
}

export interface AdminSettings {
  /** SHA-256 of the purge token; undefined when purging is off. */
  purgeToken: Buffer | undefined;
  store: CacheStore;
}

export function purgeTokenDigest(token: string | undefined): Buffer | undefined {
  return token ? digest(token) : undefined;
}

/** Answers a request for `/_etagkit/…`. */
export async function admin(ctx: ProxyContext, req: ProxyRequest, settings: AdminSettings): Promise<Reply> {
  const url = new URL(req.target, 'http://proxy');
  const member = { detail: 'admin' };
  if (url.pathname === `${ADMIN_PREFIX}metrics`) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return notAllowed(req, 'GET, HEAD');
    const text = new TextEncoder().encode(ctx.metrics.prometheus());
    const head = [
      'content-type',
      'text/plain; version=0.0.4; charset=utf-8',
      'content-length',
      String(text.byteLength),
      'cache-control',
      'no-store',
      'cache-status',
      cacheStatus(member),
    ];
    return { status: 200, head, body: req.method === 'HEAD' ? null : text };
  }
  if (url.pathname === `${ADMIN_PREFIX}purge`) {
    if (req.method !== 'POST') return notAllowed(req, 'POST');
    if (!settings.purgeToken)
      return problemReply(404, 'Not Found', 'purging is off: start the proxy with a purge token', member);
    if (!authorized(req, settings.purgeToken)) {
      const reply = problemReply(401, 'Unauthorized', 'send Authorization: Bearer <purge token>', member);
      reply.head.push('www-authenticate', 'Bearer realm="etagkit"');
      return reply;
    }
    return purge(ctx, url, settings, member);
  }
  return problemReply(404, 'Not Found', `no endpoint ${url.pathname}; try ${ADMIN_PREFIX}metrics`, member);
}

async function purge(
  ctx: ProxyContext,
  url: URL,
  settings: AdminSettings,
  member: { detail: string },
): Promise<Reply> {
  const path = url.searchParams.get('url');
  const prefix = url.searchParams.get('prefix');
  if ((path === null) === (prefix === null) || !(path ?? prefix)!.startsWith('/'))
    return problemReply(
      400,
      'Bad Request',
      'give one of ?url=/path or ?prefix=/path/ (starting with /)',
      member,
    );
  let purged: number;
  if (path !== null) {
    await ctx.guarded.delete(cacheKey(ctx, path));
    purged = 1;
  } else {
    if (!settings.store.deletePrefix)
      return problemReply(501, 'Not Implemented', 'this cache store cannot purge by prefix', member);
    try {
      purged = await settings.store.deletePrefix(cacheKey(ctx, prefix!));
    } catch (error) {
      ctx.metrics.stats.storeErrors++;
      return problemReply(
        503,
        'Service Unavailable',
        `the cache store failed: ${(error as Error).message}`,
        member,
      );
    }
  }
  ctx.metrics.stats.purged += purged;
  const body = new TextEncoder().encode(`${JSON.stringify({ purged })}\n`);
  const head = ['content-type', 'application/json', 'content-length', String(body.byteLength)];
  head.push('cache-control', 'no-store', 'cache-status', cacheStatus(member));
  return { status: 200, head, body };
}

function notAllowed(req: ProxyRequest, allow: string): Reply {
  const reply = problemReply(405, 'Method Not Allowed', `use ${allow}`, { detail: 'admin' }, req.method);
  reply.head.push('allow', allow);
  return reply;
}
