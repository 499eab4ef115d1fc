/**
 * The proxy's counters and the upstream latency histogram, and their Prometheus text exposition (format 0.0.4):
 * what `/_etagkit/metrics` serves.
 */

/** Counters since the proxy was created. */
export interface ProxyStats {
  /** Requests answered, by how the cache handled them (`hit`, `miss`, `revalidated`, `pass`, …). */
  requests: Record<string, number>;
  /** Responses served from a stored response without asking the upstream (fresh, stale-while-revalidate, …). */
  hits: number;
  /** GET/HEAD requests for which nothing usable was stored. */
  misses: number;
  /** Conditional requests the proxy sent upstream to revalidate a stored response. */
  revalidations: number;
  /** 304s the proxy answered to clients. */
  notModifiedServed: number;
  /** 412s the proxy answered to clients (If-Match / If-Unmodified-Since, --guard-writes). */
  preconditionFailedServed: number;
  /** Body bytes sent to clients from stored responses. */
  bytesFromCache: number;
  /** Body bytes that did not cross the upstream link: hits, collapsed requests, and revalidations answered 304. */
  bytesSaved: number;
  /** Requests that waited for another one's upstream request instead of making their own. */
  collapsed: number;
  /** Requests sent upstream, by status class (`2xx`, …, or `error`). */
  upstream: Record<string, number>;
  /** Store operations that failed (the request was answered from upstream). */
  storeErrors: number;
  /** Keys purged through the purge endpoint. */
  purged: number;
}

/** Bucket bounds of the upstream latency histogram, in seconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly stats: ProxyStats = {
    requests: {},
    hits: 0,
    misses: 0,
    revalidations: 0,
    notModifiedServed: 0,
    preconditionFailedServed: 0,
    bytesFromCache: 0,
    bytesSaved: 0,
    collapsed: 0,
    upstream: {},
    storeErrors: 0,
    purged: 0,
  };
  readonly #latency = new Array<number>(BUCKETS.length).fill(0);
  #latencySum = 0;
  #latencyCount = 0;

  /** Counts one answered request under `outcome`. */
  request(outcome: string): void {
    this.stats.requests[outcome] = (this.stats.requests[outcome] ?? 0) + 1;
  }

  upstreamStatus(status: number | 'error'): void {
    const label = status === 'error' ? 'error' : `${Math.floor(status / 100)}xx`;
    this.stats.upstream[label] = (this.stats.upstream[label] ?? 0) + 1;
  }

  latency(seconds: number): void {
    this.#latencySum += seconds;
    this.#latencyCount++;
    const i = BUCKETS.findIndex((bound) => seconds <= bound);
    if (i >= 0) this.#latency[i]!++;
  }

  /** The Prometheus text exposition of every counter and the histogram. */
  prometheus(): string {
    const s = this.stats;
    const out: string[] = [];
    const counter = (name: string, help: string, value: number | Record<string, number>, label = '') => {
      out.push(`# HELP etagkit_proxy_${name} ${help}`, `# TYPE etagkit_proxy_${name} counter`);
      if (typeof value === 'number') out.push(`etagkit_proxy_${name} ${value}`);
      else
        for (const key of Object.keys(value).sort())
          out.push(`etagkit_proxy_${name}{${label}="${key}"} ${value[key]}`);
    };
    counter('requests_total', 'Requests answered, by cache outcome.', s.requests, 'outcome');
    counter('hits_total', 'Responses served from the cache without asking upstream.', s.hits);
    counter('misses_total', 'GET/HEAD requests with nothing usable stored.', s.misses);
    counter('revalidations_total', 'Conditional requests sent upstream to revalidate.', s.revalidations);
    counter('not_modified_served_total', '304 responses answered to clients.', s.notModifiedServed);
    counter(
      'precondition_failed_served_total',
      '412 responses answered to clients.',
      s.preconditionFailedServed,
    );
    counter('cache_bytes_served_total', 'Body bytes served from stored responses.', s.bytesFromCache);
    counter('bytes_saved_total', 'Body bytes that did not cross the upstream link.', s.bytesSaved);
    counter('collapsed_total', "Requests that shared another request's upstream fetch.", s.collapsed);
    counter('upstream_requests_total', 'Requests sent upstream, by status class.', s.upstream, 'status');
    counter('store_errors_total', 'Cache store operations that failed.', s.storeErrors);
    counter('purged_total', 'Cache keys removed through the purge endpoint.', s.purged);
    const name = 'etagkit_proxy_upstream_latency_seconds';
    out.push(
      `# HELP ${name} Time from sending a request upstream to receiving its response head.`,
      `# TYPE ${name} histogram`,
    );
    let cumulative = 0;
    BUCKETS.forEach((bound, i) => {
      cumulative += this.#latency[i]!;
      out.push(`${name}_bucket{le="${bound}"} ${cumulative}`);
    });
    out.push(
      `${name}_bucket{le="+Inf"} ${this.#latencyCount}`,
      `${name}_sum ${this.#latencySum}`,
      `${name}_count ${this.#latencyCount}`,
    );
    return `${out.join('\n')}\n`;
  }
}
