/**
 * `conditional()` over node:http's request and response, shared by the node and express adapters. The 304 path
 * builds no Fetch Request or Response: `validate`, `decide`, `writeHead(304)`, done.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatHttpDate } from '../core/index.ts';
import { decideAfter, isSafe, tagAfterWrite, type Validators } from './decide.ts';
import { preconditionFailed } from './early-response.ts';
import { tagForEncoding } from './encoding.ts';
import {
  beforeHeadersSent,
  type Captured,
  captureBody,
  guardEncoding,
  hashBody,
  writeEarly,
} from './node-response.ts';
import {
  type BeforeHandler,
  beforeHandler,
  type ConditionalOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.ts';
import { traceDecision } from './trace.ts';

/**
 * Runs the conditional logic around `next` (the handler); `fail` receives what `validate` threw. `next` learns
 * whether the 200 body will be hashed (no validators from `validate`, GET or HEAD). Both also receive `req`
 * and `res`, so an adapter can pass the same two functions for every request.
 */
export type NodeConditional<R extends IncomingMessage> = (
  req: R,
  res: ServerResponse,
  next: (hashing: boolean, req: R, res: ServerResponse) => unknown,
  fail: (error: unknown, req: R, res: ServerResponse) => void,
) => void;

/**
 * Resolves the options once and returns the per-request function.
 *
 * @example
 * const run = createNodeConditional({ validate: () => ({ etag: '"v1"' }) });
 * http.createServer((req, res) => run(req, res, () => handler(req, res), () => { res.statusCode = 500; res.end(); }));
 */
export function createNodeConditional<R extends IncomingMessage>(
  options: ConditionalOptions<R> = {},
  adapter: { guardSetHeader?: boolean } = {},
): NodeConditional<R> {
  const o = resolveOptions(options);
  const guard = adapter.guardSetHeader ?? false;
  const routeHeaders = o.headers;
  const onValidatedHead = (res: ServerResponse, validators: Validators) =>
    onOkHead(res, routeHeaders, validators);
  const route: Route<R> = { o, guard, onValidatedHead };
  return (req, res, next, fail) => {
    const step = beforeHandler(o, req, req as RequestLike);
    if (step instanceof Promise) {
      step.then(
        (s) => proceed(route, s, req, res, next, fail),
        (error: unknown) => fail(error, req, res),
      );
    } else proceed(route, step, req, res, next, fail);
  };
}

/**
 * What `proceed` needs of a route, built once. `guard`: also watch `setHeader('content-encoding')`, for
 * frameworks whose compression middleware sets it after our writeHead hook ran (Express's `compression`
 * mounted first). Without it, a Content-Encoding set before the head goes out is still honoured.
 */
interface Route<R> {
  o: ResolvedOptions<R>;
  guard: boolean;
  onValidatedHead: (res: ServerResponse, validators: Validators) => void;
}

type RequestLike = { method: string; url: string; headers: IncomingMessage['headers'] };

/** Runs the handler once `validate` said to: hooks the head (validators known) or captures the body. */
function proceed<R extends IncomingMessage>(
  route: Route<R>,
  step: BeforeHandler,
  req: R,
  res: ServerResponse,
  next: (hashing: boolean, req: R, res: ServerResponse) => unknown,
  fail: (error: unknown, req: R, res: ServerResponse) => void,
): void {
  if (step.kind === 'error') {
    fail(step.error, req, res);
    return;
  }
  if (step.kind === 'respond') {
    writeEarly(res, step.response);
    return;
  }
  const m = req.method;
  const method = m === 'GET' || m === 'HEAD' ? m : (m ?? 'GET').toUpperCase();
  const validators = step.validators;
  const o = route.o;
  if (isSafe(method)) {
    if (route.guard) guardEncoding(res);
    if (validators?.etag !== undefined || validators?.lastModified !== undefined) {
      // Validators known: the body passes untouched, only the head gets them.
      beforeHeadersSent(res, route.onValidatedHead, validators);
    } else {
      captureBody(res, o.hashLimit, isOk, finishRead, o);
      next(true, req, res);
      return;
    }
  } else if (o.validate) {
    captureBody(res, o.hashLimit, is2xx, finishWrite, o);
  }
  next(false, req, res);
}

function isOk(res: ServerResponse): boolean {
  return res.statusCode === 200;
}

function is2xx(res: ServerResponse): boolean {
  return res.statusCode >= 200 && res.statusCode <= 299;
}

/** Route headers and the validators `validate` returned, set on a 200 as its head goes out. */
export function onOkHead(
  res: ServerResponse,
  routeHeaders: Readonly<Record<string, string>> | undefined,
  validators: Validators,
): void {
  if (res.statusCode !== 200) return;
  setRouteHeaders(res, routeHeaders);
  if (validators.etag !== undefined && !res.hasHeader('etag')) {
    const encoding = res.getHeader('content-encoding');
    res.setHeader(
      'etag',
      typeof encoding === 'string' ? tagForEncoding(validators.etag, encoding) : validators.etag,
    );
  }
  if (validators.lastModified !== undefined && !res.hasHeader('last-modified')) {
    res.setHeader('last-modified', formatHttpDate(validators.lastModified));
  }
}

function setRouteHeaders(res: ServerResponse, headers: Readonly<Record<string, string>> | undefined): void {
  if (!headers) return;
  for (const name in headers) if (!res.hasHeader(name)) res.setHeader(name, headers[name]!);
}

/** Without `validate`: the captured 200 is hashed (unless it has an ETag) and the preconditions evaluated. */
function finishRead<R extends IncomingMessage>(captured: Captured, o: ResolvedOptions<R>): void {
  const res = captured.res;
  const req = res.req as R;
  if (res.statusCode !== 200) {
    captured.send();
    return;
  }
  setRouteHeaders(res, o.headers);
  let etag = res.getHeader('etag');
  if (typeof etag !== 'string') {
    etag = hashBody(captured.body, o.weak);
    res.setHeader('etag', etag);
  }
  const lastModified = res.getHeader('last-modified');
  const decision = decideAfter(
    req.method ?? 'GET',
    req.headers,
    etag,
    typeof lastModified === 'string' ? lastModified : undefined,
  );
  traceDecision(o.onDecision, req as RequestLike, 'after-handler', decision, etag);
  if (decision.action === 'not-modified') {
    if (decision.coding) res.setHeader('etag', tagForEncoding(etag, decision.coding)); // echo what the client has
    captured.notModified();
    return;
  }
  if (decision.action === 'precondition-failed') {
    captured.replace(preconditionFailed(decision.by, { etag }));
    return;
  }
  captured.send();
}

/** After a successful write, the new representation's ETag (§9.3.4), asked of `validate` again. */
function finishWrite<R extends IncomingMessage>(captured: Captured, o: ResolvedOptions<R>): void {
  const res = captured.res;
  const req = res.req as R;
  if (!is2xx(res) || res.hasHeader('etag') || !o.validate) {
    captured.send();
    return;
  }
  let result: ReturnType<NonNullable<typeof o.validate>>;
  try {
    result = o.validate(req);
  } catch {
    captured.send(); // the write happened; only its new ETag is unknown
    return;
  }
  Promise.resolve(result).then(
    (validators) => {
      const etag = tagAfterWrite(validators);
      if (etag !== undefined && !res.headersSent) res.setHeader('etag', etag);
      captured.send();
    },
    () => captured.send(),
  );
}
