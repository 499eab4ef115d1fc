/**
 * A request forwarded as it is — method, conditionals, content — and its answer relayed: unsafe methods, and
 * requests the cache must not or cannot serve (`no-store`, a HEAD with nothing stored, a store outage).
 */
import type { CacheStatusEntry } from '../core/index.ts';
import type { ProxyContext, ProxyRequest, Reply } from './context.ts';
import { responseLines, upstreamRequestHeaders } from './headers.ts';
import { refuseUnasked304, relay } from './reply.ts';
import { type UpstreamResponse, upstreamError } from './upstream.ts';

/** Sends `req` upstream unchanged but for hop-by-hop fields; `set`/`omit` adjust its header fields. */
export async function sendAsIs(
  ctx: ProxyContext,
  req: ProxyRequest,
  adjust: { set?: Record<string, string>; omit?: ReadonlySet<string> } = {},
): Promise<UpstreamResponse> {
  try {
    const res = await ctx.upstream.send({
      method: req.method,
      path: ctx.upstream.basePath + req.target,
      headers: upstreamRequestHeaders(req.headers, {
        upstreamHost: ctx.upstream.host,
        remoteAddress: req.remoteAddress,
        ...adjust,
      }),
      body: req.body,
      signal: req.signal,
    });
    ctx.metrics.upstreamStatus(res.status);
    return res;
  } catch (error) {
    ctx.metrics.upstreamStatus('error');
    throw upstreamError(error, ctx.upstream.origin);
  }
}

/** Forwards `req` and relays the answer with `member` in Cache-Status; nothing is stored. */
export async function forward(
  ctx: ProxyContext,
  req: ProxyRequest,
  member: Omit<CacheStatusEntry, 'cache'>,
): Promise<Reply> {
  const res = await sendAsIs(ctx, req);
  const refused = refuseUnasked304(req, res, member);
  if (refused) return refused;
  const lines = responseLines(res.headers, res.responseTime);
  return relay(req.method, res.status, lines, { ...member, fwdStatus: res.status }, res.body);
}
