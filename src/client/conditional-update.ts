/**
 * Lost-update-safe writes (RFC 9110 §13.1.1, §13.1.4, §15.5.13): read the resource, change it, write it back
 * only if nobody changed it meanwhile; on a conflict, read again and re-apply, with jittered backoff.
 */
import { parseEntityTag, parseHttpDate } from '../core/index.ts';
import { requestHeaders } from './request-headers.ts';

type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface ConditionalUpdateOptions<T> {
  /** The fetch to use (e.g. one made by `createFetch`). Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Write method. Default `PUT`. */
  method?: 'PUT' | 'PATCH';
  /** Headers sent with every request (authorization, accept...). */
  headers?: HeadersInit;
  /** Reads the current value from the GET response. Default `response.json()`. */
  parse?: (response: Response) => Promise<T>;
  /**
   * Turns the new value into the request body. Default `JSON.stringify`, sent as `application/json` unless
   * `headers` names a content-type.
   */
  serialize?: (value: T) => BodyInit;
  /** Statuses that mean "someone else changed it: re-read and retry". Default `[412]`; APIs that put versions
   * in bodies often answer 409. */
  conflictStatuses?: readonly number[];
  /** Write attempts before giving up (each one a GET and a write). Default 5. */
  maxAttempts?: number;
  /** Backoff before attempt n+1 is a random delay in [0, min(maxDelayMs, baseDelayMs · 2^(n-1))). Default 50. */
  baseDelayMs?: number;
  /** Upper bound of one backoff delay. Default 2000. */
  maxDelayMs?: number;
  /** Waits between attempts (injectable for tests). Default: a timer that stops on `signal`. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Aborts the requests and the waits. */
  signal?: AbortSignal;
}

export interface ConditionalUpdateResult<T> {
  /** The successful (2xx) write response. */
  response: Response;
  /** The value written. */
  value: T;
  /** How many write attempts it took (1 when there was no conflict). */
  attempts: number;
}

/** What `mutate` learns besides the current value. */
export interface MutateContext {
  /** 1 for the first attempt, 2 after the first conflict... */
  attempt: number;
  /** The GET response the value was read from (body already consumed). */
  response: Response;
}

export type ConditionalUpdateFailure = 'read-failed' | 'no-validator' | 'write-failed' | 'conflict';

/** Why a conditional update gave up, with the response that decided it. */
export class ConditionalUpdateError extends Error {
  override readonly name = 'ConditionalUpdateError';
  readonly reason: ConditionalUpdateFailure;
  readonly attempts: number;
  readonly response: Response | undefined;

  constructor(message: string, reason: ConditionalUpdateFailure, attempts: number, response?: Response) {
    super(message);
    this.reason = reason;
    this.attempts = attempts;
    this.response = response;
  }
}

/** The precondition that makes a write safe, chosen from the GET response's validators. */
export type WritePrecondition =
  | { header: 'if-match'; value: string }
  | { header: 'if-unmodified-since'; value: string }
  | { header?: undefined; problem: string };

/**
 * Chooses the write precondition from a GET response (RFC 9110 §13.1.1, §13.1.4): If-Match with a strong ETag;
 * otherwise If-Unmodified-Since with a valid Last-Modified (one-second granularity: two writes within the same
 * second can both pass); otherwise none, with the reason.
 */
export function writePrecondition(headers: Headers): WritePrecondition {
  const etagHeader = headers.get('etag');
  const etag = parseEntityTag(etagHeader);
  // §13.1.1: If-Match uses the strong comparison, so a weak tag would never match.
  if (etag && !etag.weak) return { header: 'if-match', value: etagHeader!.trim() };
  const lastModified = headers.get('last-modified');
  if (lastModified !== null && parseHttpDate(lastModified))
    return { header: 'if-unmodified-since', value: lastModified };
  const found = etag
    ? `only a weak ETag ${etagHeader}`
    : etagHeader
      ? `an invalid ETag ${etagHeader}`
      : 'no ETag';
  return {
    problem:
      `the GET response has ${found} and no valid Last-Modified, so the write cannot be made conditional ` +
      '(If-Match needs a strong entity-tag, RFC 9110 §13.1.1); have the server send a strong ETag',
  };
}

/**
 * Full-jitter exponential backoff: a random delay in [0, min(maxMs, baseMs · 2^(attempt-1))) before the
 * attempt after `attempt`.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * GET → `mutate` → PUT/PATCH with If-Match (RFC 9110 §13.1.1); on a conflict status, re-read and re-apply with
 * bounded, jittered backoff. The GET is sent with `cache: 'no-cache'`, so a caching fetch revalidates first.
 *
 * @example
 * import { conditionalUpdate } from 'etagkit/client';
 * const { value } = await conditionalUpdate('https://api.example/counters/7', (c: { n: number }) => ({
 *   n: c.n + 1,
 * }));
 */
export async function conditionalUpdate<T = unknown>(
  url: string | URL,
  mutate: (current: T, context: MutateContext) => T | Promise<T>,
  options: ConditionalUpdateOptions<T> = {},
): Promise<ConditionalUpdateResult<T>> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const method = options.method ?? 'PUT';
  const conflicts = options.conflictStatuses ?? [412];
  const maxAttempts = options.maxAttempts ?? 5;
  const sleep = options.sleep ?? delay;
  const random = options.random ?? Math.random;
  const signal = options.signal;
  const what = `conditionalUpdate(${method} ${url})`;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1))
    throw new RangeError(`${what}: maxAttempts must be an integer >= 1, got ${options.maxAttempts}`);

  const extraHeaders = requestHeaders(options.headers, what);
  for (let attempt = 1; ; attempt++) {
    const read = await fetchFn(url, { headers: extraHeaders, cache: 'no-cache', signal });
    if (!read.ok) {
      await read.body?.cancel();
      throw new ConditionalUpdateError(
        `${what}: GET answered ${read.status}; expected 2xx`,
        'read-failed',
        attempt,
        read,
      );
    }
    const precondition = writePrecondition(read.headers);
    if (precondition.header === undefined) {
      await read.body?.cancel();
      throw new ConditionalUpdateError(`${what}: ${precondition.problem}`, 'no-validator', attempt, read);
    }
    const current = options.parse ? await options.parse(read) : ((await read.json()) as T);
    const value = await mutate(current, { attempt, response: read });

    const headers = new Headers(extraHeaders);
    headers.set(precondition.header, precondition.value);
    if (!options.serialize && !headers.has('content-type')) headers.set('content-type', 'application/json');
    const body = options.serialize ? options.serialize(value) : JSON.stringify(value);
    const written = await fetchFn(url, { method, headers, body, signal });
    if (written.ok) return { response: written, value, attempts: attempt };

    if (!conflicts.includes(written.status)) {
      throw new ConditionalUpdateError(
        `${what}: the write answered ${written.status}, which is neither 2xx nor a conflict status ` +
          `(${conflicts.join(', ')})`,
        'write-failed',
        attempt,
        written,
      );
    }
    if (attempt >= maxAttempts) {
      throw new ConditionalUpdateError(
        `${what}: still conflicting (${written.status}) after ${attempt} attempts; the resource kept changing. ` +
          'Raise maxAttempts or reduce contention on it',
        'conflict',
        attempt,
        written,
      );
    }
    await written.body?.cancel();
    await sleep(backoffDelay(attempt, options.baseDelayMs ?? 50, options.maxDelayMs ?? 2000, random), signal);
  }
}

/** A timer that rejects with the signal's reason when aborted. */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
