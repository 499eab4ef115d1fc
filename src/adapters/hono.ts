/**
 * `etagkit/hono`: conditional requests as Hono middleware (Fetch API inside, so it runs wherever Hono runs).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { createFetchConditional } from '../server/conditional.ts';
import type { ConditionalOptions } from '../server/options.ts';

export type { Validators } from '../server/decide.ts';
export type { ConditionalOptions } from '../server/options.ts';
export type { DecisionTrace } from '../server/trace.ts';

/**
 * Hono middleware: with `validate(c)`, 304/412/428 before the handler runs; without it, small 200 bodies get a
 * strong ETag. A `validate` that throws goes to Hono's error handler (500), no precondition applied.
 *
 * Register it BEFORE `compress()` (`app.use(conditional()); app.use(compress())`), so it sees the compressed
 * response and suffixes its strong tag (`"v1-gzip"`); registered after, `compress()` weakens the tag instead.
 *
 * @example
 * import { Hono } from 'hono';
 * import { etagFromVersion } from 'etagkit';
 * import { conditional } from 'etagkit/hono';
 *
 * const app = new Hono();
 * app.get('/users/:id', conditional({ validate: (c) => ({ etag: etagFromVersion(userVersion(c.req.param('id'))) }) }),
 *   (c) => c.json(getUser(c.req.param('id'))));
 */
export function conditional(options: ConditionalOptions<Context> = {}): MiddlewareHandler {
  const c = createFetchConditional<Context>(options);
  return async (ctx, next) => {
    const early = await c.before(ctx.req.raw, ctx);
    if ('error' in early) throw early.error;
    if ('response' in early) return early.response;
    await next();
    const response = await c.after(ctx.req.raw, ctx.res, early.validators, ctx);
    if (response === ctx.res) return;
    ctx.res = undefined; // Hono's setter would copy the old headers onto the new response (a 304 must not get them)
    ctx.res = response;
  };
}
