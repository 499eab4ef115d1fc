/**
 * The way upstream: one undici Pool of keep-alive connections to the origin, bounded waits, and every failure
 * turned into an UpstreamError that says whether the answer is 502 (unreachable, malformed) or 504 (timed out).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';

/** How the proxy reached the upstream (or did not). */
export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as it arrives; destroying it aborts the request. */
  body: Readable;
  /** When the request was sent and the response head received (ms since epoch), for Age (RFC 9111 §4.2.3). */
  requestTime: number;
  responseTime: number;
}

export interface UpstreamRequest {
  method: string;
  /** Path and query as sent upstream (the upstream's base path included). */
  path: string;
  headers: Record<string, string | string[]>;
  body?: Readable | null;
  signal?: AbortSignal;
}

/** Why the upstream gave no usable answer: 502 Bad Gateway or 504 Gateway Timeout (RFC 9110 §15.6.3, §15.6.5). */
export class UpstreamError extends Error {
  readonly status: 502 | 504;
  readonly reason: 'timeout' | 'unreachable' | 'malformed' | 'aborted';
  constructor(reason: UpstreamError['reason'], message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'UpstreamError';
    this.reason = reason;
    this.status = reason === 'timeout' ? 504 : 502;
  }
}

export interface UpstreamOptions {
  /** Longest wait for a connection, for the response head, and between two body chunks. */
  timeoutMs: number;
  /** Largest response head accepted (bytes); a larger one is a 502. */
  maxHeaderBytes: number;
  /** Connections kept to the upstream. */
  connections: number;
  now: () => number;
  /** Called with the seconds from request to response head (the latency histogram). */
  onLatency?: (seconds: number) => void;
}

export interface Upstream {
  readonly origin: string;
  /** `host[:port]` as the Host field names it. */
  readonly host: string;
  /** The base path requests are appended to ('' for `/`). */
  readonly basePath: string;
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const MALFORMED_CODES = new Set([
  'HPE_INVALID_CONSTANT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
]);

/** Maps an undici or socket error to an UpstreamError (an error already mapped is returned as it is). */
export function upstreamError(error: unknown, origin: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const e = error as { code?: string; name?: string; message?: string };
  const code = e?.code ?? '';
  if (e?.name === 'AbortError' || code === 'UND_ERR_ABORTED')
    return new UpstreamError('aborted', 'the request was aborted', error);
  if (TIMEOUT_CODES.has(code))
    return new UpstreamError('timeout', `${origin} did not answer in time (${code})`, error);
  if (MALFORMED_CODES.has(code) || code.startsWith('HPE_') || e?.name === 'HTTPParserError')
    return new UpstreamError(
      'malformed',
      `${origin} sent a malformed response (${code || e?.message})`,
      error,
    );
  return new UpstreamError('unreachable', `${origin} could not be reached (${code || e?.message})`, error);
}

/**
 * undici times the response head and the pauses within a body on a coarse clock that ticks about every half
 * second, so a 150 ms timeout fires after up to a second. Shorter timeouts than this get native timers of their
 * own (headDeadline, timePauses); undici's stay as a backstop.
 */
const COARSE_TIMER_MS = 1_000;

/** A timer for the connection and response head: its signal aborts the request once `ms` have passed. */
function headDeadline(ms: number, signal: AbortSignal | undefined) {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort();
  }, ms);
  return {
    signal: signal ? AbortSignal.any([signal, controller.signal]) : controller.signal,
    expired: () => expired,
    clear: () => clearTimeout(timer),
  };
}

/**
 * Destroys `body` with a timeout when the upstream sends nothing for `ms` while the body's reader wants more
 * (a reader that is behind, its buffer full, pauses the upstream itself: that wait is not the upstream's).
 */
function timePauses(body: Readable, ms: number, origin: string): void {
  const timer = setTimeout(() => {
    if (body.destroyed || body.readableEnded) return;
    if (body.readableLength >= body.readableHighWaterMark) timer.refresh();
    else body.destroy(new UpstreamError('timeout', `${origin} sent nothing for ${ms} ms within a body`));
  }, ms);
  // undici hands each chunk to push() whether or not anyone reads yet: every chunk restarts the wait.
  const push = body.push;
  body.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk === null) clearTimeout(timer);
    else timer.refresh();
    return push.call(body, chunk, encoding);
  };
  body.once('close', () => clearTimeout(timer));
  // Whoever reads the body gets the error; a body not yet read must not crash the process with it.
  body.on('error', ignore);
}

/**
 * Opens a pool to `url` (http: or https:; its path, if any, prefixes every request path).
 *
 * @example
 * const upstream = createUpstream(new URL('http://127.0.0.1:3000'), { timeoutMs: 30_000, … });
 * const res = await upstream.send({ method: 'GET', path: '/items', headers: { host: upstream.host } });
 */
export function createUpstream(url: URL, options: UpstreamOptions): Upstream {
  const pool = new Pool(url.origin, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
    maxHeaderSize: options.maxHeaderBytes,
  });
  const origin = url.origin;
  const precise = options.timeoutMs < COARSE_TIMER_MS;
  return {
    origin,
    host: url.host,
    basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
    async send(request) {
      const requestTime = options.now();
      const started = performance.now();
      const head = precise ? headDeadline(options.timeoutMs, request.signal) : undefined;
      let res: Awaited<ReturnType<typeof pool.request>>;
      try {
        res = await pool.request({
          method: request.method as 'GET',
          path: request.path,
          headers: request.headers,
          body: request.body ?? null,
          signal: head?.signal ?? request.signal,
        });
      } catch (error) {
        if (head?.expired())
          throw new UpstreamError('timeout', `${origin} did not answer in ${options.timeoutMs} ms`, error);
        throw upstreamError(error, origin);
      } finally {
        head?.clear();
      }
      if (precise) timePauses(res.body, options.timeoutMs, origin);
      options.onLatency?.((performance.now() - started) / 1000);
      // RFC 9110 §15: a final status is 100-599; anything else is not a response a proxy can relay.
      if (res.statusCode < 200 || res.statusCode > 599) {
        abandon(res.body);
        throw new UpstreamError('malformed', `${origin} answered with status ${res.statusCode}`);
      }
      return {
        status: res.statusCode,
        headers: res.headers,
        body: res.body,
        requestTime,
        responseTime: options.now(),
      };
    },
    close: () => pool.close(),
  };
}

const ignore = () => {};

/** Lets a body nobody needs run to its end (a 304's empty one), so that its connection is reused. */
export function drain(body: Readable): void {
  body.on('error', ignore).resume();
}

/** Aborts the rest of a body nobody needs. */
export function abandon(body: Readable): void {
  body.on('error', ignore).destroy();
}
