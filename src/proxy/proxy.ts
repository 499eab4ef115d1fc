/**
 * `createProxy()`: a shared RFC 9111 cache in front of one upstream, as a node:http listener and as a Fetch
 * handler. This module resolves the options once, and routes each request — the proxy's own endpoints, GET/HEAD
 * through the cache, other methods through the write rules — then writes the reply.
 */
import { channel } from 'node:diagnostics_channel';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type Duplex, pipeline, Readable } from 'node:stream';
import { guardStore } from '../client/guarded-store.ts';
import type { CacheStore } from '../client/store.ts';
import { memoryStore } from '../client/stores/memory.ts';
import { type RequirePreconditions, requiredMethods } from '../server/decide.ts';
import { ADMIN_PREFIX, admin, purgeTokenDigest } from './admin.ts';
import { cached } from './cache.ts';
import type { ProxyContext, ProxyRequest, Reply } from './context.ts';
import { Metrics, type ProxyStats } from './metrics.ts';
import { problemReply } from './reply.ts';
import { requestTarget } from './target.ts';
import { abandon, createUpstream } from './upstream.ts';
import { unsafeMethod, type WriteSettings } from './writes.ts';

export interface ProxyOptions {
  /** The origin to cache, `http://host:port` or `https://…`, optionally with a base path. */
  upstream: string | URL;
  /** Where responses are kept. Default `memoryStore()`; `redisStore()` shares them between proxies. */
  store?: CacheStore;
  /** Give 200s without ETag or Last-Modified a strong ETag made from their bytes. Default true. */
  addEtags?: boolean;
  /** Check PUT/PATCH/DELETE preconditions against the current representation, answering 412 here. Default false. */
  guardWrites?: boolean;
  /** Answer 428 to PUT/PATCH/DELETE (or the methods listed) without a precondition. Default false. */
  requirePreconditions?: RequirePreconditions;
  /** Token for `POST /_etagkit/purge` (`Authorization: Bearer <token>`); purging is off without one. */
  purgeToken?: string;
  /** Longest wait for the upstream: to connect, for the response head, between body chunks. Default 30,000 ms. */
  timeoutMs?: number;
  /** Bodies larger than this pass through unstored. Default 8 MiB. */
  maxEntryBytes?: number;
  /** A 200 that gets an ETag is held back up to this size so that its first response carries it. Default 1 MiB. */
  etagBufferBytes?: number;
  /** Largest upstream response head accepted; larger is a 502. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Keep-alive connections to the upstream. Default 64. */
  connections?: number;
  /**
   * How long a proxy holds the store's lease while it fetches a key, so that proxies sharing the store make one
   * upstream request between them; the others wait for its result at most this long. Default 5,000 ms for a
   * store shared between processes (`store.shared`: SQLite, Redis), else 0.
   */
  leaseMs?: number;
  /** The clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/** A node:http request listener with the Fetch handler, counters and shutdown beside it. */
export interface CachingProxy extends RequestListener<typeof IncomingMessage, typeof ServerResponse> {
  /** The same proxy for a Fetch-API server (Request in, Response out). */
  fetch(request: Request): Promise<Response>;
  /** Counters since creation (a copy). */
  stats(): ProxyStats;
  /**
   * For the server's `clientError` event: node refuses a malformed or smuggling request (conflicting
   * Content-Length and Transfer-Encoding, a bad chunk size, a header section over `maxHeaderSize`) before any
   * listener runs; this answers it with Cache-Status too, and closes the connection.
   */
  clientError(error: Error, socket: Duplex): void;
  /** Closes the upstream connections and the store. */
  close(): Promise<void>;
}

/** What `etagkit:proxy:decision` subscribers receive: one message per answered request. */
export interface ProxyDecision {
  method: string;
  target: string;
  status: number;
  cacheStatus: string;
  /** The failure behind a 500, when there was one. */
  error?: unknown;
}

const decisions = channel('etagkit:proxy:decision');

/** A numeric option: `fallback` when not given, else a finite number of at least `min`. */
function atLeast(min: number, name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value >= min))
    throw new RangeError(`createProxy: ${name} must be a number >= ${min}, got ${value}`);
  return value;
}

/**
 * Creates a caching proxy in front of `options.upstream`.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { createProxy } from 'etagkit/proxy';
 * const proxy = createProxy({ upstream: 'http://127.0.0.1:3000' });
 * createServer(proxy).listen(8080, '127.0.0.1');
 */
export function createProxy(options: ProxyOptions): CachingProxy {
  const url = new URL(options.upstream);
  // Never echoed: the pool connects to the origin alone, so they would be dropped silently anyway.
  if (url.username !== '' || url.password !== '')
    throw new TypeError('createProxy: upstream must not carry credentials (user:password@)');
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(
      `createProxy: upstream must be an http:// or https:// URL, got ${JSON.stringify(String(options.upstream))}`,
    );
  if (url.search || url.hash)
    throw new TypeError(`createProxy: upstream must not have a query or fragment: ${url.href}`);
  const now = options.now ?? Date.now;
  const store = options.store ?? memoryStore();
  const metrics = new Metrics();
  // At least 1 ms: undici reads 0 as "no timeout", a wait without end.
  const timeoutMs = atLeast(1, 'timeoutMs', options.timeoutMs, 30_000);
  const maxEntryBytes = atLeast(0, 'maxEntryBytes', options.maxEntryBytes, 8 * 1024 * 1024);
  const addEtags = options.addEtags ?? true;
  const ctx: ProxyContext = {
    upstream: createUpstream(url, {
      timeoutMs,
      maxHeaderBytes: atLeast(0, 'maxHeaderBytes', options.maxHeaderBytes, 16 * 1024),
      connections: atLeast(0, 'connections', options.connections, 64) || 64,
      now,
      onLatency: (seconds) => metrics.latency(seconds),
    }),
    guarded: guardStore(store, now, () => metrics.stats.storeErrors++),
    policy: { shared: true },
    now,
    maxEntryBytes,
    etagBufferBytes: addEtags
      ? Math.min(maxEntryBytes, atLeast(0, 'etagBufferBytes', options.etagBufferBytes, 1024 * 1024))
      : 0,
    addEtags,
    leaseMs: atLeast(0, 'leaseMs', options.leaseMs, store.shared ? 5_000 : 0),
    metrics,
    flights: new Map(),
  };
  const writes: WriteSettings = {
    guardWrites: options.guardWrites ?? false,
    required: requiredMethods(options.requirePreconditions),
    queues: new Map(),
  };
  const adminSettings = { purgeToken: purgeTokenDigest(options.purgeToken), store };

  function handle(req: ProxyRequest): Promise<Reply> {
    if (req.target.startsWith(ADMIN_PREFIX)) return admin(ctx, req, adminSettings);
    if (req.method === 'GET' || req.method === 'HEAD') return cached(ctx, req);
    return unsafeMethod(ctx, req, writes);
  }

  /**
   * Answers, and never rejects: an unexpected failure is a 500 (its error goes to the decision channel, not to
   * the client). Promise chains rather than an async function: a hit takes no extra hops.
   */
  function answer(req: ProxyRequest): Promise<Reply> {
    let pending: Promise<Reply>;
    try {
      pending = handle(req);
    } catch (error) {
      pending = Promise.reject(error);
    }
    return pending.then(
      (reply) => published(req, reply),
      (error: unknown) => {
        if (req.signal.aborted) return problemReply(499, 'Client Closed Request', 'the client went away', {});
        const reply = problemReply(500, 'Internal Server Error', 'the proxy failed on this request', {
          detail: 'proxy-error',
        });
        return published(req, reply, error);
      },
    );
  }

  function published(req: ProxyRequest, reply: Reply, error?: unknown): Reply {
    if (!decisions.hasSubscribers) return reply;
    const i = reply.head.lastIndexOf('cache-status');
    const message: ProxyDecision = {
      method: req.method,
      target: req.target,
      status: reply.status,
      cacheStatus: i >= 0 ? reply.head[i + 1]! : '',
      ...(error === undefined ? {} : { error }),
    };
    decisions.publish(message);
    return reply;
  }

  const listener = (incoming: IncomingMessage, res: ServerResponse) => {
    const target = requestTarget(incoming.url ?? '');
    if (typeof target !== 'string') {
      write(res, problemReply(400, 'Bad Request', target.error, { detail: 'bad-request' }, incoming.method));
      return;
    }
    const hasBody =
      incoming.headers['content-length'] !== undefined || incoming.headers['transfer-encoding'] !== undefined;
    answer(new NodeRequest(incoming, res, target, hasBody)).then((reply) => write(res, reply));
  };

  async function fetchHandler(request: Request): Promise<Response> {
    const parsed = new URL(request.url);
    const target = requestTarget(parsed.pathname + parsed.search);
    const reply =
      typeof target === 'string'
        ? await answer({
            method: request.method,
            target,
            headers: Object.fromEntries(request.headers),
            body: request.body
              ? Readable.fromWeb(request.body as import('node:stream/web').ReadableStream)
              : null,
            signal: request.signal,
            remoteAddress: undefined,
          })
        : problemReply(400, 'Bad Request', target.error, { detail: 'bad-request' }, request.method);
    const headers = new Headers();
    for (let i = 0; i < reply.head.length; i += 2) headers.append(reply.head[i]!, reply.head[i + 1]!);
    const body =
      reply.body === null || reply.status === 304 || reply.status === 204
        ? null
        : reply.body instanceof Uint8Array
          ? reply.body
          : (Readable.toWeb(reply.body) as ReadableStream<Uint8Array>);
    return new Response(body as BodyInit | null, { status: reply.status, headers });
  }

  return Object.assign(listener, {
    fetch: fetchHandler,
    stats: (): ProxyStats => structuredClone(metrics.stats),
    clientError: (error: Error, socket: Duplex) => {
      const code = (error as NodeJS.ErrnoException).code;
      const status =
        code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      if (socket.writable)
        socket.end(
          `HTTP/1.1 ${status}\r\ncache-status: etagkit; detail=bad-request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
        );
      else socket.destroy();
    },
    close: async () => {
      await ctx.upstream.close();
      await store.close();
    },
  });
}

/** A ProxyRequest from node:http. */
class NodeRequest implements ProxyRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Readable | null;
  readonly remoteAddress: string | undefined;
  readonly #res: ServerResponse;
  #signal: AbortSignal | undefined;

  constructor(incoming: IncomingMessage, res: ServerResponse, target: string, hasBody: boolean) {
    this.method = incoming.method ?? 'GET';
    this.target = target;
    this.headers = incoming.headers;
    this.body = hasBody ? incoming : null;
    this.remoteAddress = incoming.socket.remoteAddress;
    this.#res = res;
  }

  /**
   * Aborted when the client goes away before its response is complete. Made on first use: a hit never needs
   * one, and a listener per request is measurable at tens of thousands of requests per second.
   */
  get signal(): AbortSignal {
    if (this.#signal) return this.#signal;
    const controller = new AbortController();
    this.#signal = controller.signal;
    const res = this.#res;
    if (res.destroyed && !res.writableFinished) controller.abort();
    else
      res.on('close', () => {
        if (!res.writableFinished) controller.abort();
      });
    return this.#signal;
  }
}

/** Writes a reply to node's response; a reply for a client already gone releases its stream. */
function write(res: ServerResponse, reply: Reply): void {
  const { body } = reply;
  if (res.destroyed) {
    if (body && !(body instanceof Uint8Array)) abandon(body);
    return;
  }
  try {
    res.writeHead(reply.status, reply.head);
  } catch {
    // A field node refuses to send (a stored entry damaged outside this process): a 502, never a crash.
    if (body && !(body instanceof Uint8Array)) abandon(body);
    const failed = problemReply(502, 'Bad Gateway', 'the response had a field that cannot be sent', {
      detail: 'bad-field',
    });
    res.writeHead(failed.status, failed.head).end(failed.body);
    return;
  }
  if (body === null) res.end();
  else if (body instanceof Uint8Array) res.end(body);
  else pipeline(body, res, () => {});
}
