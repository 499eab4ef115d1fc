/**
 * createFetch end to end over real sockets: a node:http origin on 127.0.0.1, Node's own fetch underneath.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createFetch } from '../src/client/index.ts';
import { parseCacheStatus } from '../src/core/index.ts';

type Route = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Route>();
const hits = new Map<string, IncomingMessage[]>();
let server: Server;
let base = '';

before(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, [...(hits.get(path) ?? []), req]);
    const route = routes.get(path);
    if (route) route(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const status = (res: Response) => parseCacheStatus(res.headers.get('cache-status'))[0];
const count = (path: string) => hits.get(path)?.length ?? 0;

describe('createFetch over real sockets', () => {
  it('revalidates with If-None-Match and turns the 304 into the stored 200 (§4.3.4)', async () => {
    routes.set('/etag', (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=0', 'x-served': 'revalidated' }).end();
      } else
        res
          .writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=0', 'content-type': 'text/plain' })
          .end('payload');
    });
    const f = createFetch();
    assert.equal(await (await f(`${base}/etag`)).text(), 'payload');
    const res = await f(`${base}/etag`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'payload');
    assert.equal(res.headers.get('x-served'), 'revalidated');
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.deepEqual(status(res), { cache: 'etagkit', fwd: 'stale', fwdStatus: 304 });
    assert.equal(hits.get('/etag')?.[1]?.headers['if-none-match'], '"v1"');
    assert.equal(f.stats().bytesSavedBy304, 7);
  });

  it("a scraper's old validator gets the origin's 304, and cache: 'reload' always a full body", async () => {
    routes.set('/scrape', (req, res) => {
      if (req.headers['if-none-match'] === '"s1"') res.writeHead(304, { etag: '"s1"' }).end();
      else res.writeHead(200, { etag: '"s1"' }).end('full');
    });
    const f = createFetch();
    const conditional = await f(`${base}/scrape`, { headers: { 'if-none-match': '"s1"' } });
    assert.equal(conditional.status, 304);
    assert.equal(status(conditional)?.fwd, 'request');
    for (let i = 0; i < 2; i++) {
      const full = await f(`${base}/scrape`, { cache: 'reload' });
      assert.equal(full.status, 200);
      assert.equal(await full.text(), 'full');
    }
    assert.equal(hits.get('/scrape')?.[2]?.headers['if-none-match'], undefined);
  });

  it('never stores a body cut off by the origin', async () => {
    routes.set('/truncated', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '100' });
      res.write('only ten b');
      setImmediate(() => res.socket?.destroy());
    });
    const f = createFetch();
    await assert.rejects(async () => (await f(`${base}/truncated`)).text());
    await assert.rejects(async () => (await f(`${base}/truncated`)).text());
    assert.equal(count('/truncated'), 2);
  });

  it('never stores a body the caller aborted', async () => {
    routes.set('/slow', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.write('first part ');
      // the rest never comes unless the client goes away
    });
    const f = createFetch();
    const controller = new AbortController();
    const res = await f(`${base}/slow`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await assert.rejects(reader.read());
    routes.set('/slow', (_req, res) => res.writeHead(200, { 'cache-control': 'max-age=60' }).end('complete'));
    const again = await f(`${base}/slow`);
    assert.equal(await again.text(), 'complete');
    assert.equal(status(again)?.fwd, 'uri-miss');
  });

  it('coalesces concurrent identical requests into one origin request', async () => {
    routes.set('/popular', (_req, res) => {
      setTimeout(() => res.writeHead(200, { 'cache-control': 'max-age=60' }).end('popular'), 20);
    });
    const f = createFetch();
    const bodies = await Promise.all(
      Array.from({ length: 10 }, async () => (await f(`${base}/popular`)).text()),
    );
    assert.deepEqual(bodies, Array(10).fill('popular'));
    assert.equal(count('/popular'), 1);
  });

  it('stores the decoded body of a gzip response and serves it again', async () => {
    const text = 'compressible '.repeat(100);
    const gz = gzipSync(text);
    routes.set('/gzip', (_req, res) => {
      res.writeHead(200, {
        'content-encoding': 'gzip',
        'content-length': String(gz.length),
        'cache-control': 'max-age=60',
      });
      res.end(gz);
    });
    const f = createFetch();
    assert.equal(await (await f(`${base}/gzip`)).text(), text);
    const res = await f(`${base}/gzip`);
    assert.equal(status(res)?.hit, true);
    assert.equal(await res.text(), text);
  });

  it('invalidates after a PUT to the same URL (§4.4)', async () => {
    routes.set('/doc', (req, res) => {
      if (req.method === 'PUT') res.writeHead(204).end();
      else res.writeHead(200, { 'cache-control': 'max-age=60' }).end(`read ${count('/doc')}`);
    });
    const f = createFetch();
    assert.equal(await (await f(`${base}/doc`)).text(), 'read 1');
    assert.equal(await (await f(`${base}/doc`)).text(), 'read 1');
    await f(`${base}/doc`, { method: 'PUT', body: 'new' });
    assert.equal(await (await f(`${base}/doc`)).text(), 'read 3');
  });

  it('serves stale within stale-if-error when the origin is gone (connection refused)', async () => {
    let t = Date.now();
    const lonely = createServer((_req, res) =>
      res.writeHead(200, { 'cache-control': 'max-age=1, stale-if-error=600', etag: '"x"' }).end('kept'),
    );
    await new Promise<void>((resolve) => lonely.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(lonely.address() as AddressInfo).port}/gone`;
    const f = createFetch({ now: () => t });
    assert.equal(await (await f(url)).text(), 'kept');
    lonely.closeAllConnections();
    await new Promise((resolve) => lonely.close(resolve));
    t += 10_000;
    const res = await f(url);
    assert.equal(await res.text(), 'kept');
    assert.equal(status(res)?.detail, 'stale-if-error');
    t += 1_000_000;
    await assert.rejects(f(url));
  });
});
