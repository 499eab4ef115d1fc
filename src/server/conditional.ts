/**
 * `conditional()` for Fetch-API handlers (RFC 9110 §13): 304 and 412 before the handler runs when `validate`
 * knows the current validators; otherwise the handler's small 200 bodies are hashed into a strong ETag and
 * the preconditions are evaluated on the result.
 */
import { etagFromContent, formatHttpDate } from '../core/index.ts';
import { decideAfter, isSafe, tagAfterWrite, type Validators } from './decide.ts';
import {
  type EarlyResponse,
  keptOnNotModified,
  preconditionFailed,
  validateFailed,
} from './early-response.ts';
import { tagForEncoding } from './encoding.ts';
import { beforeHandler, type ConditionalOptions, type ResolvedOptions, resolveOptions } from './options.ts';
import { traceDecision } from './trace.ts';

export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** The two halves of `conditional()`, for middleware that sits around a handler (Hono). */
export interface FetchConditional<R> {
  /** Before the handler: an early Response (304/412/428, 500 when validate threw), or the validators. */
  before(
    request: Request,
    arg: R,
  ): Promise<{ response: Response } | { validators: Validators | undefined } | { error: unknown }>;
  /** After the handler: attach validators or hash the body, then answer 304/412 if a precondition says so. */
  after(request: Request, response: Response, validators: Validators | undefined, arg: R): Promise<Response>;
}

/**
 * Wraps a Fetch handler so conditional requests are answered per RFC 9110 §13.
 *
 * @example
 * import { conditional } from 'etagkit/server';
 * import { etagFromVersion } from 'etagkit';
 *
 * export default conditional(
 *   async (request) => Response.json(await db.user(1)),
 *   { validate: async () => ({ etag: etagFromVersion(await db.userVersion(1)) }) },
 * );
 */
export function conditional(handler: FetchHandler, options: ConditionalOptions<Request> = {}): FetchHandler {
  const c = createFetchConditional<Request>(options);
  return async (request) => {
    const early = await c.before(request, request);
    if ('error' in early) return toResponse(validateFailed());
    if ('response' in early) return early.response;
    // HEAD takes the GET path (§9.3.2) so that, when the body is hashed, both get the same ETag.
    const head = request.method.toUpperCase() === 'HEAD';
    const hashing = early.validators?.etag === undefined && early.validators?.lastModified === undefined;
    const asGet = head && hashing ? new Request(request, { method: 'GET' }) : request;
    const response = await c.after(request, await handler(asGet), early.validators, request);
    return head && response.body ? new Response(null, response) : response;
  };
}

/** Builds the before/after halves once; `R` is what `validate` receives. */
export function createFetchConditional<R>(options: ConditionalOptions<R> = {}): FetchConditional<R> {
  const o = resolveOptions(options);
  return {
    async before(request, arg) {
      const step = await beforeHandler(o, arg, request);
      if (step.kind === 'run') return { validators: step.validators };
      if (step.kind === 'error') return { error: step.error };
      return { response: toResponse(step.response) };
    },
    async after(request, response, validators, arg) {
      const method = request.method.toUpperCase();
      if (!isSafe(method)) return afterWrite(o, response, arg);
      if (response.status !== 200) return response; // §13.2.1: preconditions apply to 2xx only
      const r = withRouteHeaders(response, o.headers);
      if (validators?.etag !== undefined || validators?.lastModified !== undefined) {
        return withValidators(r, validators);
      }
      return afterRead(o, request, r);
    },
  };
}

function toResponse(early: EarlyResponse): Response {
  return new Response((early.body as Uint8Array<ArrayBuffer> | undefined) ?? null, {
    status: early.status,
    headers: early.headers,
  });
}

/** A Response whose headers may be changed (those from `fetch()` are immutable). */
function mutable(response: Response): Response {
  try {
    response.headers.set('x-etagkit-probe', '');
    response.headers.delete('x-etagkit-probe');
    return response;
  } catch {
    return new Response(response.body, response);
  }
}

function withRouteHeaders(
  response: Response,
  headers: Readonly<Record<string, string>> | undefined,
): Response {
  if (!headers) return response;
  const r = mutable(response);
  for (const name in headers) if (!r.headers.has(name)) r.headers.set(name, headers[name]!);
  return r;
}

/** The validators `validate` returned, on the 200; a strong tag gets the coding suffix if the body is encoded. */
function withValidators(response: Response, validators: Validators): Response {
  const r = mutable(response);
  if (validators.etag !== undefined && !r.headers.has('etag')) {
    r.headers.set('etag', tagForEncoding(validators.etag, r.headers.get('content-encoding') ?? undefined));
  }
  if (validators.lastModified !== undefined && !r.headers.has('last-modified')) {
    r.headers.set('last-modified', formatHttpDate(validators.lastModified));
  }
  return r;
}

/** Successful writes return the new representation's ETag (§9.3.4), asked of `validate` again. */
async function afterWrite<R>(o: ResolvedOptions<R>, response: Response, arg: R): Promise<Response> {
  if (response.status < 200 || response.status > 299 || !o.validate || response.headers.has('etag'))
    return response;
  let etag: string | undefined;
  try {
    etag = tagAfterWrite(await o.validate(arg));
  } catch {
    return response; // the write happened; only its new ETag is unknown
  }
  if (etag === undefined) return response;
  const r = mutable(response);
  r.headers.set('etag', etag);
  return r;
}

/** Without `validate`: hash a body up to the limit, then evaluate the preconditions on the result. */
async function afterRead<R>(o: ResolvedOptions<R>, request: Request, response: Response): Promise<Response> {
  let r = response;
  let etag = r.headers.get('etag') ?? undefined;
  if (etag === undefined) {
    const read = await readUpTo(r, o.hashLimit);
    if (!read.complete) return read.response;
    const tag = etagFromContent(read.bytes);
    etag = o.weak ? `W/${tag}` : tag;
    r = withBody(r, read.bytes);
    r.headers.set('etag', etag);
  }
  const decision = decideAfter(
    request.method,
    request.headers,
    etag,
    r.headers.get('last-modified') ?? undefined,
  );
  traceDecision(o.onDecision, request, 'after-handler', decision, etag);
  if (decision.action === 'not-modified') {
    if (decision.coding) r.headers.set('etag', tagForEncoding(etag, decision.coding)); // echo what the client has
    return notModifiedFrom(r);
  }
  if (decision.action === 'precondition-failed') return toResponse(preconditionFailed(decision.by, { etag }));
  return r;
}

/**
 * The response again, with bytes already read as its body. Built from a plain init, not from the Response
 * itself: runtimes that keep a Response's body as given (@hono/node-server's) then send the bytes as they are,
 * where `new Response(bytes, response)` copies them into a stream that is read again.
 */
function withBody(response: Response, bytes: Uint8Array<ArrayBuffer>): Response {
  const { status, statusText, headers } = response;
  return new Response(bytes, { status, statusText, headers });
}

/** The 304 replacing a 200 the handler produced: its §15.4.5 headers, and Set-Cookie since it ran. */
function notModifiedFrom(response: Response): Response {
  const headers = new Headers();
  const hasEtag = response.headers.has('etag');
  for (const [name, value] of response.headers)
    if (keptOnNotModified(name, hasEtag)) headers.append(name, value);
  return new Response(null, { status: 304, headers });
}

type ReadResult =
  | { complete: true; bytes: Uint8Array<ArrayBuffer> }
  | { complete: false; response: Response };

/**
 * Reads a body while it stays within `limit` bytes. Event streams and bodies declared larger are never read;
 * one that grows past the limit is passed on untouched, what was read first included.
 */
async function readUpTo(response: Response, limit: number): Promise<ReadResult> {
  const type = response.headers.get('content-type') ?? '';
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  if (type.startsWith('text/event-stream') || length > limit) return { complete: false, response };
  if (!response.body) return { complete: true, bytes: new Uint8Array(0) };
  const reader = (response.body as ReadableStream<Uint8Array<ArrayBuffer>>).getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) return { complete: false, response: new Response(replay(chunks, reader), response) };
  }
  return { complete: true, bytes: concat(chunks, size) };
}

function replay(
  chunks: Uint8Array<ArrayBuffer>[],
  reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function concat(chunks: Uint8Array<ArrayBuffer>[], size: number): Uint8Array<ArrayBuffer> {
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
