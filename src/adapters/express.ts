/**
 * `etagkit/express`: conditional requests as Express middleware, app-wide or per route, plus a per-route
 * helper `res.conditional({ etag })` for handlers that know their validators only after routing.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { decide, type ServerDecision, type Validators } from '../server/decide.ts';
import { earlyResponse } from '../server/early-response.ts';
import { createNodeConditional, onOkHead } from '../server/node-conditional.ts';
import { guardEncoding, hashBody, writeEarly } from '../server/node-response.ts';
import { type ConditionalOptions, resolveOptions } from '../server/options.ts';
import { traceDecision } from '../server/trace.ts';

export type { Validators } from '../server/decide.ts';
export type { ConditionalOptions } from '../server/options.ts';
export type { DecisionTrace } from '../server/trace.ts';

declare global {
  namespace Express {
    interface Response {
      /**
       * Evaluates the preconditions against these validators (added by etagkit's `conditional()`
       * middleware). Answers 304/412/428 itself and returns that decision; on `proceed`, sets ETag and
       * Last-Modified on the 200 and the handler goes on.
       */
      conditional(
        validators: import('../server/decide.ts').Validators,
      ): import('../server/decide.ts').ServerDecision;
    }
  }
}

/**
 * Conditional-request middleware. With `validate`, a 304/412 is answered before the route handler runs;
 * without it, small 200 bodies are hashed into a strong ETag (Express's own `etag`/`fresh` step is bypassed
 * for them). A `validate` that throws goes to Express's error handler (`next(err)`): 500, no precondition.
 *
 * Mount it AFTER `compression()` (`app.use(compression()); app.use(conditional())`) so hashed tags name the
 * identity bytes and gain a `-gzip` suffix when compressed; either order gives correct tags.
 *
 * @example
 * import express from 'express';
 * import { etagFromVersion } from 'etagkit';
 * import { conditional } from 'etagkit/express';
 *
 * const app = express();
 * app.get('/users/:id', conditional({ validate: (req) => ({ etag: etagFromVersion(users.get(req.params.id).updatedAt) }) }),
 *   (req, res) => res.json(users.get(req.params.id)));
 */
export function conditional(options: ConditionalOptions<Request> = {}): RequestHandler {
  const o = resolveOptions(options);
  const run = createNodeConditional(options, { guardSetHeader: true });
  return (req: Request, res: Response, next: NextFunction) => {
    res.conditional = (validators) => conditionalHelper(o, req, res, validators);
    run(
      req,
      res,
      (hashing) => {
        leaveValidatorsToEtagkit(req, res);
        if (hashing && req.method === 'HEAD') hashOnSend(res, o.weak);
        next();
      },
      next,
    );
  };
}

const withoutEtagFn = new WeakMap<object, Response['app']>();

/**
 * Turns off Express's own ETag generation and `fresh` check for this response (the `etag` setting stays as
 * it is for routes without etagkit): the RFC 9110 evaluator decides, and `validate`'s tag is not replaced by a
 * hash of the body.
 */
function leaveValidatorsToEtagkit(req: Request, res: Response): void {
  const app = req.app;
  let shadow = withoutEtagFn.get(app);
  if (!shadow) {
    const settings = Object.create(app.settings, { 'etag fn': { value: undefined } });
    shadow = Object.create(app, { settings: { value: settings } }) as Response['app'];
    withoutEtagFn.set(app, shadow);
  }
  res.app = shadow;
  Object.defineProperty(req, 'fresh', { value: false, configurable: true });
}

/**
 * For HEAD: hashes what `res.send`/`res.json` are given, before Express drops the body, so HEAD gets the tag
 * GET gets (for GET, the body that reaches `res.end` is hashed).
 */
function hashOnSend(res: Response, weak: boolean): void {
  const send = res.send;
  res.send = function hashingSend(this: Response, body?: unknown) {
    if (
      this.statusCode === 200 &&
      !this.hasHeader('etag') &&
      (typeof body === 'string' || Buffer.isBuffer(body))
    ) {
      this.setHeader('etag', hashBody(typeof body === 'string' ? Buffer.from(body) : body, weak));
    }
    return send.call(this, body);
  };
}

function conditionalHelper(
  o: ReturnType<typeof resolveOptions<Request>>,
  req: Request,
  res: Response,
  validators: Validators,
): ServerDecision {
  const decision = decide(req.method, req.headers, validators, o.required);
  traceDecision(o.onDecision, req, 'before-handler', decision, validators.etag);
  if (decision.action !== 'proceed') {
    writeEarly(res, earlyResponse(decision, req.method, validators, o.headers));
    return decision;
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    guardEncoding(res);
    onOkHead(res, o.headers, validators); // the handler is about to send its 200
  }
  return decision;
}
