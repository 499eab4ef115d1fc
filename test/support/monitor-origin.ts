/**
 * A local origin for the monitor's tests: each path serves a resource whose behaviour the test sets (validators
 * of every kind or none, unstable ETags, false 304s, errors, slowness, resets mid-body, redirects), answers
 * conditional requests through etagkit's own evaluator, and records what it was sent.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { evaluatePreconditions, parseHttpDate } from '../../src/core/index.ts';

export interface Resource {
  /** The body, or a function called for each response. */
  body: string | Buffer | (() => string);
  type?: string;
  etag?: string;
  /** Sent verbatim, in whatever of the three HTTP date formats it is written. */
  lastModified?: string;
  /** A different ETag on every response, whatever the body. */
  unstableEtag?: boolean;
  /** Answer 200 to conditional requests too (a server that ignores them). */
  ignoreConditionals?: boolean;
  /** Answer 304 to any conditional request, whatever changed (a broken server). */
  always304?: boolean;
  /** Answer this status (with `headers`) instead of the resource. */
  status?: number;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Send the headers and this many body bytes, then cut the connection. */
  resetAfterBytes?: number;
  /** Answer 302 to this location. */
  redirect?: string;
}

export interface Origin {
  url(path: string): string;
  set(path: string, resource: Resource): void;
  /** Request headers received per path, in order. */
  requests(path: string): IncomingHttpHeaders[];
  /** Most requests in flight at once, per path prefix (the first segment). */
  maxConcurrent(prefix: string): number;
  server: Server;
  close(): Promise<void>;
}

export async function startOrigin(): Promise<Origin> {
  const resources = new Map<string, Resource>();
  const seen = new Map<string, IncomingHttpHeaders[]>();
  const active = new Map<string, number>();
  const peak = new Map<string, number>();
  let counter = 0;
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const prefix = path.split('/')[1] ?? '';
    seen.set(path, [...(seen.get(path) ?? []), req.headers]);
    active.set(prefix, (active.get(prefix) ?? 0) + 1);
    peak.set(prefix, Math.max(peak.get(prefix) ?? 0, active.get(prefix)!));
    res.on('close', () => active.set(prefix, active.get(prefix)! - 1));
    const resource = resources.get(path);
    if (!resource) return res.writeHead(404).end('not found');
    if (resource.delayMs) await new Promise((r) => setTimeout(r, resource.delayMs));
    if (resource.redirect) return res.writeHead(302, { location: resource.redirect }).end();
    if (resource.status)
      return res.writeHead(resource.status, resource.headers).end(`status ${resource.status}`);
    const etag = resource.unstableEtag ? `"u${++counter}"` : resource.etag;
    const headers: Record<string, string> = {
      'content-type': resource.type ?? 'text/plain; charset=utf-8',
      ...resource.headers,
    };
    if (etag) headers.etag = etag;
    if (resource.lastModified) headers['last-modified'] = resource.lastModified;
    const conditional =
      req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
    const lastModified = parseHttpDate(resource.lastModified);
    const decision = evaluatePreconditions(
      { method: 'GET', headers: req.headers },
      { etag, lastModified, lastModifiedIsStrong: true },
    );
    if (
      (resource.always304 && conditional) ||
      (decision.action === 'not-modified' && !resource.ignoreConditionals)
    ) {
      const { 'content-type': _, ...rest } = headers;
      return res.writeHead(304, rest).end();
    }
    const body = Buffer.from(typeof resource.body === 'function' ? resource.body() : resource.body);
    if (resource.resetAfterBytes !== undefined) {
      res.writeHead(200, { ...headers, 'content-length': String(body.byteLength) });
      res.write(body.subarray(0, resource.resetAfterBytes));
      setTimeout(() => res.socket?.destroy(), 10);
      return;
    }
    res.writeHead(200, headers).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path) => `${base}${path}`,
    set: (path, resource) => resources.set(path, resource),
    requests: (path) => seen.get(path) ?? [],
    maxConcurrent: (prefix) => peak.get(prefix) ?? 0,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
