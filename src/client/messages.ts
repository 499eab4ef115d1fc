/**
 * The message plumbing of `createFetch`: reading fetch's (input, init), building Responses from stored entries
 * (whole or a byte range) and from origin responses, and collecting bodies for storage.
 */
import { Readable } from 'node:stream';
import { type ByteRange, formatContentRange } from '../core/index.ts';
import { problem } from '../server/problem.ts';
import { fieldValue } from './policy.ts';
import { requestHeaders } from './request-headers.ts';
import type { StoredResponse } from './store.ts';

/** One call, normalised from fetch's (input, init). */
export interface Call {
  url: string;
  method: string;
  headers: Headers;
  mode: RequestCache;
  signal: AbortSignal | undefined;
  input: RequestInfo | URL;
  init: RequestInit;
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** Whether a response to `method` with `status` has a body (HEAD and the null body statuses have none). */
export function carriesBody(method: string, status: number): boolean {
  return method !== 'HEAD' && !NULL_BODY_STATUSES.has(status);
}

/** A stored response as a Response: stored headers plus Age (RFC 9111 §5.1) and Cache-Status (RFC 9211). */
export function storedResponse(
  call: Call,
  entry: StoredResponse,
  age: number,
  cacheStatus: string,
): Response {
  const init = { status: entry.status };
  const response = carriesBody(call.method, entry.status)
    ? new StoredBodyResponse(entry.body, init, call.url)
    : responseFor(call.url, null, init);
  // The fields go straight into the Response's own Headers: a Headers passed in init is copied (and every field
  // validated) a second time.
  const headers = response.headers;
  for (const [n, v] of entry.headers) if (n !== 'age' && n !== 'cache-status') headers.append(n, v);
  headers.set('age', String(Math.floor(age)));
  appendCacheStatus(headers, fieldValue(entry.headers, 'cache-status'), cacheStatus);
  return response;
}

/** One byte range of a stored complete response, as a 206 (RFC 9110 §14.2, §15.3.7). */
export function partialResponse(
  call: Call,
  entry: StoredResponse,
  range: ByteRange,
  age: number,
  cacheStatus: string,
): Response {
  const bytes = entry.body.subarray(range.start, range.end + 1);
  const init = { status: 206 };
  const response =
    call.method === 'HEAD'
      ? responseFor(call.url, null, init)
      : new StoredBodyResponse(bytes, init, call.url);
  const headers = response.headers;
  for (const [n, v] of entry.headers)
    if (n !== 'age' && n !== 'cache-status' && n !== 'content-length') headers.append(n, v);
  headers.set('content-range', formatContentRange(range, entry.body.byteLength));
  headers.set('content-length', String(range.end - range.start + 1));
  headers.set('age', String(Math.floor(age)));
  appendCacheStatus(headers, fieldValue(entry.headers, 'cache-status'), cacheStatus);
  return response;
}

/** An origin response passed on with our Cache-Status member appended (RFC 9211 §2). */
export function relayResponse(
  call: Call,
  res: Response,
  cacheStatus: string,
  body: ReadableStream<Uint8Array> | null,
): Response {
  if (res.status < 200 || res.status > 599) return res; // Response() cannot represent it; pass it unchanged
  const headers = new Headers(res.headers);
  appendCacheStatus(headers, res.headers.get('cache-status') ?? undefined, cacheStatus);
  // A response to HEAD has no content (RFC 9110 §9.3.2), whatever a custom `fetch` hands over.
  const content = carriesBody(call.method, res.status) ? body : null;
  if (body && !content) body.cancel().catch(() => {});
  return responseFor(res.url || call.url, content, {
    status: res.status,
    statusText: res.statusText,
    headers,
  });
}

/**
 * The answer to a caller when the origin sent 304 Not Modified to a request that asked no conditional question,
 * and no stored response matches it: 502 Bad Gateway with a problem body (RFC 9457). A 304 means "use the copy
 * you have" (RFC 9110 §15.4.5); a caller who has none must never be handed one.
 */
export function unexpectedNotModified(call: Call, cacheStatus: string): Response {
  const plan = problem(
    502,
    'Bad Gateway',
    `${call.method} ${call.url}: the origin answered 304 Not Modified to a request that carried no validators, ` +
      'and no stored response matches it, so there is no content to give. A 304 only answers a conditional ' +
      'request (RFC 9110 §15.4.5): look at the origin, or at a cache in front of it.',
  );
  const headers = new Headers(plan.headers);
  headers.set('cache-status', cacheStatus);
  const body = call.method === 'HEAD' ? null : (plan.body.data as Uint8Array<ArrayBuffer>);
  return responseFor(call.url, body, { status: 502, headers });
}

/** Parsed URLs of the most recent few hundred hrefs: a client tends to ask for the same URLs again and again. */
const URL_MEMO_LIMIT = 512;
const urlMemo = new Map<string, string>();

/** The absolute URL `href` names, without its fragment (the cache key's URI); throws fetch's TypeError if none. */
function cacheUrl(href: string): string {
  const known = urlMemo.get(href);
  if (known !== undefined) return known;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    throw new TypeError(`fetch: ${JSON.stringify(href)} is not an absolute URL`);
  }
  url.hash = '';
  if (urlMemo.size >= URL_MEMO_LIMIT) urlMemo.clear();
  urlMemo.set(href, url.href);
  return url.href;
}

const STANDARD_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);

/** Reads fetch's (input, init) the way fetch does, without constructing a Request (which rejects only-if-cached). */
export function normalizeCall(input: RequestInfo | URL, init: RequestInit = {}): Call {
  const request = typeof input === 'object' && !(input instanceof URL) ? (input as Request) : undefined;
  const href = request ? request.url : input instanceof URL ? input.href : String(input);
  const url = cacheUrl(href);
  let method = init.method ?? request?.method ?? 'GET';
  if (STANDARD_METHODS.has(method.toUpperCase())) method = method.toUpperCase();
  return {
    url,
    method,
    headers: requestHeaders(init.headers ?? request?.headers, 'fetch'),
    mode: init.cache ?? request?.cache ?? 'default',
    signal: init.signal ?? request?.signal ?? undefined,
    input,
    init,
  };
}

/**
 * The request headers the Fetch standard adds for a cache mode (HTTP-network-or-cache fetch): `no-cache` asks
 * upstream caches to revalidate (`max-age=0`), `no-store` and `reload` to bypass them (`no-cache`).
 */
export function withFetchCacheHeaders(
  mode: RequestCache,
  headers: Headers | Record<string, string>,
): Headers | Record<string, string> {
  if (mode !== 'no-cache' && mode !== 'no-store' && mode !== 'reload') return headers;
  const out = new Headers(headers);
  if (mode === 'no-cache') {
    if (!out.has('cache-control')) out.set('cache-control', 'max-age=0');
  } else {
    if (!out.has('pragma')) out.set('pragma', 'no-cache');
    if (!out.has('cache-control')) out.set('cache-control', 'no-cache');
  }
  return out;
}

/** Sets Cache-Status to the upstream caches' members followed by ours (RFC 9211 §2: the last is the closest). */
export function appendCacheStatus(headers: Headers, upstream: string | undefined, ours: string): void {
  headers.set('cache-status', upstream ? `${upstream}, ${ours}` : ours);
}

/**
 * A Response whose `url` is the request URL, as fetch's are (a constructed Response has url ''). A subclass
 * keeps objects in one shape; redefining `url` per instance costs several microseconds per response.
 */
class UrlResponse extends Response {
  readonly #url: string;
  constructor(body: BodyInit | null, init: ResponseInit, url: string) {
    super(body, init);
    this.#url = url;
  }
  override get url(): string {
    return this.#url;
  }
}

/** A Response that reports `url` like fetch's own. */
export function responseFor(url: string, body: BodyInit | null, init: ResponseInit): Response {
  return new UrlResponse(body, init, url);
}

const utf8 = new TextDecoder();

/** Whether a web stream has been read from or cancelled (Node's check accepts web streams too). */
const disturbed = (stream: ReadableStream): boolean =>
  Readable.isDisturbed(stream as unknown as NodeJS.ReadableStream);

/**
 * A byte stream of one copy of `bytes`, made when first read. A byte stream like fetch's own, so BYOB readers
 * work too; the copy keeps readers from ever touching the stored bytes.
 */
function bodyStream(bytes: Uint8Array): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream({
    type: 'bytes',
    pull(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes.slice());
      controller.close();
    },
  });
}

/**
 * A Response of stored bytes that reads them without a web stream: `arrayBuffer()` and `bytes()` return a copy at
 * once, `text()` and `json()` decode the stored bytes, and `body` makes a byte stream only when someone asks for
 * it. A Response constructed on bytes reads them through a ReadableStream and a reader; skipping that made fresh
 * hits about twice as fast (bench/RESULTS.md). Reading state follows the Fetch standard: a second read, or a read
 * or `clone()` after the stream was locked or read, fails with a TypeError.
 */
class StoredBodyResponse extends UrlResponse {
  readonly #bytes: Uint8Array;
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #read = false;

  constructor(bytes: Uint8Array, init: ResponseInit, url: string) {
    super(null, init, url);
    this.#bytes = bytes;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#stream ??= bodyStream(this.#bytes);
    return this.#stream;
  }

  override get bodyUsed(): boolean {
    return this.#read || (this.#stream !== undefined && disturbed(this.#stream));
  }

  /**
   * The bytes, once: the stored ones themselves (callers that hand them out copy them), or those read from the
   * stream when the caller has already taken it.
   */
  #take(): Promise<Uint8Array> {
    const stream = this.#stream;
    if (this.#read || stream?.locked || (stream && disturbed(stream)))
      return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    this.#read = true;
    if (stream) return new Response(stream).bytes();
    return Promise.resolve(this.#bytes);
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return this.#take().then((bytes) => bytes.slice().buffer);
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#take().then((bytes) => bytes.slice());
  }

  // Decoded straight from the stored bytes: no copy.
  override text(): Promise<string> {
    return this.#take().then((bytes) => utf8.decode(bytes));
  }

  override json(): Promise<unknown> {
    return this.text().then((text) => JSON.parse(text));
  }

  // Rare enough to hand to a plain Response, which derives the type from Content-Type as the standard says.
  override blob(): Promise<Blob> {
    return this.#take().then((bytes) => new Response(bytes.slice(), { headers: this.headers }).blob());
  }

  override formData(): Promise<FormData> {
    return this.#take().then((bytes) => new Response(bytes.slice(), { headers: this.headers }).formData());
  }

  override clone(): Response {
    if (this.bodyUsed || this.#stream?.locked)
      throw new TypeError('Response.clone: Body has already been consumed.');
    const init = { status: this.status, statusText: this.statusText, headers: this.headers };
    return new StoredBodyResponse(this.#bytes, init, this.url);
  }
}

/**
 * Reads a stream to the end: its bytes, or 'too-large' past `limit` bytes (then it is cancelled), or 'failed'
 * when it errors (aborted, truncated, reset). `onEnd` is
 * called synchronously as soon as the end is seen. The result owns its memory: a lone chunk that is a view into
 * a larger (pooled) buffer is copied, so a stored entry never pins that buffer.
 */
export async function collect(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  onEnd: () => void = () => {},
): Promise<Uint8Array | 'too-large' | 'failed'> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        onEnd();
        break;
      }
      length += value.byteLength;
      if (length > limit) {
        await reader.cancel();
        return 'too-large';
      }
      chunks.push(value);
    }
  } catch {
    return 'failed';
  }
  const only = chunks[0];
  if (chunks.length === 1 && only && only.byteOffset === 0 && only.buffer.byteLength === only.byteLength)
    return only;
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** Awaits `promise`, rejecting early with the signal's reason when it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
