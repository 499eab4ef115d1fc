/**
 * `etagkit/fastify`: conditional requests as a Fastify plugin, configured app-wide (plugin options) and per
 * route (`config: { conditional: { validate } }`, or `conditional: false` to opt out).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatHttpDate } from '../core/index.ts';
import { decideAfter, isSafe, tagAfterWrite, type Validators } from '../server/decide.ts';
import { type EarlyResponse, keptOnNotModified, preconditionFailed } from '../server/early-response.ts';
import { tagForEncoding } from '../server/encoding.ts';
import { beforeHeadersSent, hashBody } from '../server/node-response.ts';
import {
  type BeforeHandler,
  beforeHandler,
  type ConditionalOptions,
  type ResolvedOptions,
  resolveOptions,
} from '../server/options.ts';
import { traceDecision } from '../server/trace.ts';

export type { Validators } from '../server/decide.ts';
export type { ConditionalOptions } from '../server/options.ts';
export type { DecisionTrace } from '../server/trace.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** etagkit options for this route, merged over the plugin's; `false` turns conditional handling off. */
    conditional?: ConditionalOptions<FastifyRequest> | false;
  }
}

type Resolved = ResolvedOptions<FastifyRequest>;
const VALIDATORS = Symbol('etagkit.validators');
type Tracked = FastifyRequest & { [VALIDATORS]?: Validators | undefined };

/**
 * The plugin. Register it BEFORE `@fastify/compress` or after: either way a strong tag gets a `-gzip`
 * suffix once the body is compressed. A `validate` that throws goes to Fastify's error handler (500).
 *
 * @example
 * import Fastify from 'fastify';
 * import { etagFromVersion } from 'etagkit';
 * import { conditional } from 'etagkit/fastify';
 *
 * const app = Fastify();
 * await app.register(conditional);
 * app.get('/users/:id', {
 *   config: { conditional: { validate: (req) => ({ etag: etagFromVersion(userVersion(req.params.id)) }) } },
 * }, (req) => getUser(req.params.id));
 */
export function conditional(
  fastify: FastifyInstance,
  options: ConditionalOptions<FastifyRequest>,
  done: (error?: Error) => void,
): void {
  const { ...base } = options;
  const app = resolveOptions(base);
  const perRoute = new WeakMap<object, Resolved | undefined>();
  const resolve = (request: FastifyRequest): Resolved | undefined => {
    const config = request.routeOptions.config;
    const own = config?.conditional;
    if (own === undefined) return app;
    let resolved = perRoute.get(config);
    if (resolved === undefined && !perRoute.has(config)) {
      resolved = own === false ? undefined : resolveOptions({ ...base, ...own });
      perRoute.set(config, resolved);
    }
    return resolved;
  };

  fastify.addHook('onRequest', (request, reply, next) => {
    const o = resolve(request);
    if (!o) return next();
    const pending = beforeHandler(o, request, request);
    if (pending instanceof Promise) pending.then((step) => before(step, request, reply, next), next);
    else before(pending, request, reply, next);
  });

  fastify.addHook('onSend', (request, reply, payload, next) => {
    const o = resolve(request);
    if (!o) return next(null, payload);
    if (!isSafe(request.method)) {
      afterWrite(o, request, reply).then(() => next(null, payload));
      return;
    }
    next(null, afterRead(o, request as Tracked, reply, payload));
  });
  done();
}
// Hooks apply to the whole app, as with fastify-plugin (no encapsulation).
(conditional as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

function before(
  step: BeforeHandler,
  request: FastifyRequest,
  reply: FastifyReply,
  next: (e?: Error) => void,
) {
  if (step.kind === 'error') return next(step.error as Error);
  if (step.kind === 'respond') return void send(reply, step.response);
  (request as Tracked)[VALIDATORS] = step.validators;
  if (isSafe(request.method)) suffixWhenEncoded(reply);
  next();
}

function send(reply: FastifyReply, early: EarlyResponse): FastifyReply {
  reply.code(early.status).headers(early.headers);
  return reply.send(early.body === undefined ? undefined : Buffer.from(early.body));
}

/** A strong tag of identity bytes gets the coding suffix if `@fastify/compress` encodes the body after us. */
function suffixWhenEncoded(reply: FastifyReply): void {
  beforeHeadersSent(reply.raw, (res) => {
    const encoding = res.getHeader('content-encoding');
    const etag = res.getHeader('etag');
    if (typeof encoding === 'string' && typeof etag === 'string')
      res.setHeader('etag', tagForEncoding(etag, encoding));
  });
}

function afterRead(o: Resolved, request: Tracked, reply: FastifyReply, payload: unknown): unknown {
  if (reply.statusCode !== 200) return payload; // §13.2.1: 2xx only
  for (const name in o.headers) if (!reply.hasHeader(name)) reply.header(name, o.headers[name]);
  const validators = request[VALIDATORS];
  if (validators?.etag !== undefined || validators?.lastModified !== undefined) {
    if (validators.etag !== undefined && !reply.hasHeader('etag')) {
      const encoding = reply.getHeader('content-encoding');
      reply.header(
        'etag',
        tagForEncoding(validators.etag, typeof encoding === 'string' ? encoding : undefined),
      );
    }
    if (validators.lastModified !== undefined && !reply.hasHeader('last-modified')) {
      reply.header('last-modified', formatHttpDate(validators.lastModified));
    }
    return payload;
  }
  let etag = reply.getHeader('etag');
  if (typeof etag !== 'string') {
    const bytes =
      typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : undefined;
    if (bytes === undefined || bytes.byteLength > o.hashLimit) return payload; // streams pass through
    etag = hashBody(bytes, o.weak);
    reply.header('etag', etag);
  }
  const lastModified = reply.getHeader('last-modified');
  const decision = decideAfter(
    request.method,
    request.headers,
    etag,
    typeof lastModified === 'string' ? lastModified : undefined,
  );
  traceDecision(o.onDecision, request, 'after-handler', decision, etag);
  if (decision.action === 'not-modified') {
    for (const name of Object.keys(reply.getHeaders()))
      if (!keptOnNotModified(name, true)) reply.removeHeader(name);
    if (decision.coding) reply.header('etag', tagForEncoding(etag, decision.coding)); // echo what the client has
    reply.code(304);
    return null;
  }
  if (decision.action === 'precondition-failed') {
    const early = preconditionFailed(decision.by, { etag });
    for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
    reply.code(412).headers(early.headers);
    return Buffer.from(early.body!);
  }
  return payload;
}

/** Successful writes return the new representation's ETag (§9.3.4), asked of `validate` again. */
async function afterWrite(o: Resolved, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (reply.statusCode < 200 || reply.statusCode > 299 || !o.validate || reply.hasHeader('etag')) return;
  try {
    const etag = tagAfterWrite(await o.validate(request));
    if (etag !== undefined) reply.header('etag', etag);
  } catch {
    // the write happened; only its new ETag is unknown
  }
}
