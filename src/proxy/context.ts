/**
 * What the parts of one proxy share: the upstream pool, the guarded store, the clock, the limits, the counters,
 * the requests in flight — and the shapes of a request coming in and a reply going out, which both the node:http
 * listener and the Fetch handler translate to and from.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { GuardedStore } from '../client/guarded-store.ts';
import type { PolicyOptions } from '../client/policy.ts';
import type { StoredResponse } from '../client/store.ts';
import type { Metrics } from './metrics.ts';
import type { Upstream } from './upstream.ts';

/** A request as the proxy sees it, whichever server received it. */
export interface ProxyRequest {
  method: string;
  /** The request target in origin form: path and query, as received. */
  target: string;
  /** Lower-case names, as node parses them (repeated fields joined, Set-Cookie excepted). */
  headers: IncomingHttpHeaders;
  /** The request content, for methods that have one. */
  body: Readable | null;
  /** Aborted when the client goes away before its response is complete. */
  signal: AbortSignal;
  remoteAddress: string | undefined;
}

/** A reply: status, flat header list `[name, value, …]`, and content (bytes, a stream, or none). */
export interface Reply {
  status: number;
  head: string[];
  body: Uint8Array | Readable | null;
}

/** An upstream fetch that other requests for the same key may wait for; it settles with what it stored. */
export interface Flight {
  stored: Promise<StoredResponse | undefined>;
  /** Requests waiting for it besides the one that started it. */
  waiters: number;
}

export interface ProxyContext {
  readonly upstream: Upstream;
  readonly guarded: GuardedStore;
  readonly policy: PolicyOptions;
  readonly now: () => number;
  /** Larger bodies pass through unstored. */
  readonly maxEntryBytes: number;
  /**
   * A 200 without a validator is held back up to this many bytes so that its first response already carries the
   * ETag the proxy makes (0 when `addEtags` is off).
   */
  readonly etagBufferBytes: number;
  readonly addEtags: boolean;
  /** How long one proxy holds the store's lease while it fetches a key, and others wait for it; 0: no lease. */
  readonly leaseMs: number;
  readonly metrics: Metrics;
  /** Fetches and revalidations in flight, by key, that concurrent requests join. */
  readonly flights: Map<string, Flight>;
}

/** The cache key of a target: method and the upstream URI (RFC 9111 §2), as createFetch names its entries. */
export function cacheKey(ctx: ProxyContext, target: string): string {
  return `GET ${ctx.upstream.origin}${ctx.upstream.basePath}${target}`;
}

/** The upstream URI of a target. */
export function upstreamUrl(ctx: ProxyContext, target: string): string {
  return `${ctx.upstream.origin}${ctx.upstream.basePath}${target}`;
}
