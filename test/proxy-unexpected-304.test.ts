/**
 * "A caller never gets an empty 304 it did not ask for" (RFC 9111 §4.3.4, RFC 9110 §15.4.5), end to end through
 * the proxy: a 304 from the upstream to a request that carried no If-None-Match / If-Modified-Since of the
 * client's own either freshens the stored response it identifies, or becomes a 502 with
 * `Cache-Status: …; detail=unexpected-304` (RFC 9211 §2.8).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from './support/http.ts';
import { type Bench, startBench } from './support/proxy.ts';

let bench: Bench;
before(async () => {
  bench = await startBench((_req, res) => res.end());
});
after(() => bench.close());

let n = 0;
const fresh = () => `/u${++n}`;
const upstreamHits = (path: string) => bench.received.filter((r) => r.url === path).length;

/** An origin that answers 304 to everything (with `headers`), as a misbehaving one might. */
function alwaysNotModified(headers: Record<string, string> = {}): void {
  bench.handle((_req, res) => res.writeHead(304, headers).end());
}

function assertUnexpected304(res: { status: number; headers: Record<string, unknown>; body: Buffer }): void {
  assert.equal(res.status, 502);
  assert.match(String(res.headers['cache-status']), /fwd-status=304; detail=unexpected-304/);
}

describe('a 304 to a request without validators never reaches the client', () => {
  it('a GET miss → 502 with a problem body', async () => {
    alwaysNotModified({ etag: '"x"' });
    const res = await request(bench.base, fresh());
    assertUnexpected304(res);
    assert.equal(res.headers['content-type'], 'application/problem+json');
    assert.match(res.body.toString(), /304/);
  });

  it('a HEAD miss (forwarded as it is) → 502 without content', async () => {
    alwaysNotModified();
    const res = await request(bench.base, fresh(), { method: 'HEAD' });
    assertUnexpected304(res);
    assert.equal(res.body.byteLength, 0);
  });

  it('a request with no-store (forwarded as it is) → 502', async () => {
    alwaysNotModified();
    const res = await request(bench.base, fresh(), { headers: { 'cache-control': 'no-store' } });
    assertUnexpected304(res);
  });

  it('a Range or If-Match alone is no question a 304 answers → 502', async () => {
    alwaysNotModified({ etag: '"x"' });
    for (const headers of [{ range: 'bytes=0-1' }, { 'if-match': '"x"' }] as Record<string, string>[]) {
      const res = await request(bench.base, fresh(), { headers });
      assertUnexpected304(res);
    }
  });

  it('a PUT without validators → 502', async () => {
    alwaysNotModified();
    const res = await request(bench.base, fresh(), { method: 'PUT', body: 'x' });
    assertUnexpected304(res);
  });

  it("the client's own If-None-Match: the upstream's 304 is relayed", async () => {
    alwaysNotModified({ etag: '"x"' });
    const res = await request(bench.base, fresh(), { headers: { 'if-none-match': '"x"' } });
    assert.equal(res.status, 304);
  });

  it('a revalidation whose 304 names another response, twice → 502, never the 304', async () => {
    const path = fresh();
    bench.handle((_req, res) =>
      res.writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=1' }).end('one'),
    );
    assert.equal((await request(bench.base, path)).status, 200);
    bench.advance(5);
    alwaysNotModified({ etag: '"v2"' });
    const res = await request(bench.base, path);
    assertUnexpected304(res);
    assert.equal(upstreamHits(path), 3); // the miss, the revalidation, the unconditional retry
  });
});

describe('a 304 to a request without validators that identifies the stored response (§4.3.4)', () => {
  it('a stored response without validators is freshened by a 304 without validators (third rule)', async () => {
    const path = fresh();
    const proxy = await startBench(
      (_req, res) => res.writeHead(200, { 'cache-control': 'max-age=1', 'x-n': '1' }).end('stored body'),
      { addEtags: false },
    );
    try {
      assert.equal((await request(proxy.base, path)).status, 200);
      proxy.advance(5);
      proxy.handle((_req, res) => res.writeHead(304, { 'cache-control': 'max-age=60', 'x-n': '2' }).end());
      const res = await request(proxy.base, path);
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'stored body');
      assert.equal(res.headers['x-n'], '2');
      assert.match(String(res.headers['cache-status']), /fwd=stale; fwd-status=304/);
      assert.equal(proxy.received.length, 2, 'one trip for the revalidation');
      const hit = await request(proxy.base, path);
      assert.match(String(hit.headers['cache-status']), /hit/);
    } finally {
      await proxy.close();
    }
  });

  it('a stored response without validators and a 304 with an ETag → 502', async () => {
    const path = fresh();
    const proxy = await startBench(
      (_req, res) => res.writeHead(200, { 'cache-control': 'max-age=1' }).end('stored body'),
      { addEtags: false },
    );
    try {
      await request(proxy.base, path);
      proxy.advance(5);
      proxy.handle((_req, res) => res.writeHead(304, { etag: '"other"' }).end());
      assertUnexpected304(await request(proxy.base, path));
    } finally {
      await proxy.close();
    }
  });
});
