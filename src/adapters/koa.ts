/**
 * `etagkit/koa`: conditional requests as Koa middleware.
 */
import type { Context, Middleware } from 'koa';
import { formatHttpDate } from '../core/index.ts';
import { decideAfter, isSafe, tagAfterWrite, type Validators } from '../server/decide.ts';
import { type EarlyResponse, keptOnNotModified, preconditionFailed } from '../server/early-response.ts';
import { tagForEncoding } from '../server/encoding.ts';
import { guardEncoding, hashBody } from '../server/node-response.ts';
import {
  beforeHandler,
  type ConditionalOptions,
  type ResolvedOptions,
  resolveOptions,
} from '../server/options.ts';
import { traceDecision } from '../server/trace.ts';

export type { Validators } from '../server/decide.ts';
export type { ConditionalOptions } from '../server/options.ts';
export type { DecisionTrace } from '../server/trace.ts';

/**
 * Koa middleware: with `validate(ctx)`, 304/412/428 before the downstream middleware runs; without it, a 200
 * whose body is a string, Buffer or JSON object (up to `hashLimit`) gets a strong ETag and the preconditions are
 * evaluated on it; a JSON object is serialised once and `ctx.body` becomes that Buffer. Streams pass through.
 * A `validate` that throws is thrown on (Koa answers 500).
 * Use it instead of `koa-conditional-get` + `koa-etag`.
 *
 * @example
 * import Koa from 'koa';
 * import { etagFromVersion } from 'etagkit';
 * import { conditional } from 'etagkit/koa';
 *
 * const app = new Koa();
 * app.use(conditional({ validate: (ctx) => ({ etag: etagFromVersion(profile.updatedAt) }) }));
 * app.use((ctx) => { ctx.body = profile; });
 */
export function conditional(options: ConditionalOptions<Context> = {}): Middleware {
  const o = resolveOptions(options);
  return async (ctx, next) => {
    const pending = beforeHandler(o, ctx, ctx);
    const step = pending instanceof Promise ? await pending : pending;
    if (step.kind === 'error') throw step.error;
    if (step.kind === 'respond') return respond(ctx, step.response);
    guardEncoding(ctx.res);
    await next();
    if (!isSafe(ctx.method)) return afterWrite(o, ctx);
    if (ctx.status !== 200) return; // §13.2.1: 2xx only
    for (const name in o.headers) if (!ctx.res.hasHeader(name)) ctx.set(name, o.headers[name]!);
    const validators = step.validators;
    if (validators?.etag !== undefined || validators?.lastModified !== undefined) {
      return setValidators(ctx, validators);
    }
    afterRead(o, ctx);
  };
}

function respond(ctx: Context, early: EarlyResponse): void {
  ctx.status = early.status;
  ctx.set(early.headers);
  if (early.body !== undefined) ctx.body = Buffer.from(early.body);
}

function setValidators(ctx: Context, validators: Validators): void {
  if (validators.etag !== undefined && !ctx.res.hasHeader('etag')) {
    ctx.set('etag', tagForEncoding(validators.etag, ctx.response.get('content-encoding') || undefined));
  }
  if (validators.lastModified !== undefined && !ctx.res.hasHeader('last-modified')) {
    ctx.set('last-modified', formatHttpDate(validators.lastModified));
  }
}

/**
 * The bytes Koa will send for this body, when they are known without reading a stream. A JSON body is
 * serialised here, once, and Koa is handed those same bytes: serialising it again later could give other bytes
 * (a `toJSON()` that reads the clock, a body mutated by an outer middleware), and the ETag must describe the
 * bytes sent.
 */
function bodyBytes(ctx: Context): Buffer | undefined {
  const body: unknown = ctx.body;
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  if (body === null || typeof body !== 'object' || typeof (body as { pipe?: unknown }).pipe === 'function') {
    return undefined;
  }
  if (body instanceof ReadableStream || body instanceof Blob || body instanceof Response) return undefined;
  const json = JSON.stringify(body); // what Koa's respond() would send for an object
  if (json === undefined) return undefined; // a toJSON() that returns undefined: nothing to describe
  const bytes = Buffer.from(json);
  if (!ctx.res.hasHeader('content-type')) ctx.type = 'application/json; charset=utf-8';
  ctx.body = bytes; // keeps the Content-Type; sets Content-Length
  return bytes;
}

function afterRead(o: ResolvedOptions<Context>, ctx: Context): void {
  let etag = ctx.response.get('etag') || undefined;
  if (etag === undefined) {
    const bytes = bodyBytes(ctx);
    if (bytes === undefined || bytes.byteLength > o.hashLimit) return;
    etag = hashBody(bytes, o.weak);
    ctx.set('etag', etag);
  }
  const decision = decideAfter(ctx.method, ctx.headers, etag, ctx.response.get('last-modified') || undefined);
  traceDecision(o.onDecision, ctx, 'after-handler', decision, etag);
  if (decision.action === 'not-modified') {
    ctx.status = 304; // Koa drops the body and its Content-Type/Length
    if (decision.coding) ctx.set('etag', tagForEncoding(etag, decision.coding)); // echo what the client has
    for (const name of ctx.res.getHeaderNames()) if (!keptOnNotModified(name, true)) ctx.remove(name);
  } else if (decision.action === 'precondition-failed') {
    const early = preconditionFailed(decision.by, { etag });
    for (const name of ctx.res.getHeaderNames()) ctx.remove(name);
    respond(ctx, early);
  }
}

/** Successful writes return the new representation's ETag (§9.3.4), asked of `validate` again. */
async function afterWrite(o: ResolvedOptions<Context>, ctx: Context): Promise<void> {
  if (ctx.status < 200 || ctx.status > 299 || !o.validate || ctx.res.hasHeader('etag')) return;
  try {
    const etag = tagAfterWrite(await o.validate(ctx));
    if (etag !== undefined) ctx.set('etag', etag);
  } catch {
    // the write happened; only its new ETag is unknown
  }
}
