/**
 * The proxy's shared-cache rules end to end: origin, proxy and client on 127.0.0.1. One test per rule, each
 * citing the section of RFC 9111 (caching), 9110 (semantics) or 5861 (stale-*) it checks.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { request } from './support/http.ts';
import { type Bench, startBench } from './support/proxy.ts';

let bench: Bench;
let served = 0;
before(async () => {
  bench = await startBench((_req, res) => res.end());
});
after(() => bench.close());

/** Sets the origin to answer every path with `headers` and a body naming the request count. */
function origin(headers: Record<string, string | string[]>, status = 200): void {
  bench.handle((req, res) => {
    served++;
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : `body ${served}`);
  });
}

let n = 0;
const fresh = () => `/r${++n}`;
const upstreamHits = (path: string) => bench.received.filter((r) => r.url === path).length;

describe('storing and reusing (RFC 9111 §3, §4)', () => {
  it('§4.2: a fresh stored response is reused, with Age and Cache-Status', async () => {
    origin({ 'cache-control': 'max-age=60' });
    const path = fresh();
    const first = await request(bench.base, path);
    assert.equal(first.headers['cache-status'], 'etagkit; fwd=uri-miss; fwd-status=200; stored');
    bench.advance(10);
    const second = await request(bench.base, path);
    assert.equal(second.body.toString(), first.body.toString());
    assert.equal(upstreamHits(path), 1);
    assert.match(String(second.headers['cache-status']), /^etagkit; hit; ttl=(49|50)$/);
    assert.ok(Number(second.headers.age) >= 10, `Age ${second.headers.age}`);
  });

  it('§5.2.2.10: s-maxage overrides max-age in a shared cache (and forbids serving stale)', async () => {
    origin({ 'cache-control': 'max-age=600, s-maxage=5' });
    const path = fresh();
    await request(bench.base, path);
    bench.advance(6);
    const again = await request(bench.base, path);
    assert.equal(upstreamHits(path), 2);
    assert.match(String(again.headers['cache-status']), /fwd=stale/);
  });

  for (const [rule, headers] of [
    ['§5.2.2.7 private', { 'cache-control': 'private, max-age=60' }],
    ['§5.2.2.5 no-store', { 'cache-control': 'no-store, max-age=60' }],
    ['§4.1 Vary: *', { 'cache-control': 'max-age=60', vary: '*' }],
  ] as const) {
    it(`${rule}: not stored by a shared cache`, async () => {
      origin(headers);
      const path = fresh();
      await request(bench.base, path);
      const second = await request(bench.base, path);
      assert.equal(upstreamHits(path), 2);
      assert.doesNotMatch(String(second.headers['cache-status']), /stored|hit/);
    });
  }

  it('§4.1: Vary selects the stored variant by the request headers named', async () => {
    bench.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' });
      res.end(`lang ${req.headers['accept-language']}`);
    });
    const path = fresh();
    const en = await request(bench.base, path, { headers: { 'accept-language': 'en' } });
    const fr = await request(bench.base, path, { headers: { 'accept-language': 'fr' } });
    const enAgain = await request(bench.base, path, { headers: { 'accept-language': 'en' } });
    assert.equal(en.body.toString(), 'lang en');
    assert.equal(fr.body.toString(), 'lang fr');
    assert.equal(enAgain.body.toString(), 'lang en');
    assert.match(String(fr.headers['cache-status']), /fwd=vary-miss/);
    assert.match(String(enAgain.headers['cache-status']), /hit/);
  });

  it('§4.2.2: heuristic freshness from Last-Modified (10 % of its age)', async () => {
    const lastModified = new Date(Date.now() - 100_000_000).toUTCString(); // ~27.8 h ago → ~2.8 h fresh
    origin({ 'last-modified': lastModified });
    const path = fresh();
    await request(bench.base, path);
    bench.advance(3600);
    const second = await request(bench.base, path);
    assert.match(String(second.headers['cache-status']), /hit/);
    bench.advance(7200);
    await request(bench.base, path);
    assert.equal(upstreamHits(path), 2);
  });

  it('§4.2.3: Age counts the time spent in the cache plus the upstream Age', async () => {
    origin({ 'cache-control': 'max-age=600', age: '30' });
    const path = fresh();
    await request(bench.base, path);
    bench.advance(100);
    const second = await request(bench.base, path);
    const age = Number(second.headers.age);
    assert.ok(age >= 130 && age <= 132, `Age ${age}`);
  });

  it('§4.4: a successful unsafe method invalidates the stored response', async () => {
    origin({ 'cache-control': 'max-age=600' });
    const path = fresh();
    await request(bench.base, path);
    const post = await request(bench.base, path, { method: 'POST', body: 'x' });
    assert.equal(post.status, 200);
    assert.match(String(post.headers['cache-status']), /fwd=method/);
    const after = await request(bench.base, path);
    assert.match(String(after.headers['cache-status']), /fwd=uri-miss/);
    assert.equal(upstreamHits(path), 3);
  });

  it('§5.2.1.5: a request with no-store is forwarded and nothing is stored', async () => {
    origin({ 'cache-control': 'max-age=600' });
    const path = fresh();
    await request(bench.base, path, { headers: { 'cache-control': 'no-store' } });
    const second = await request(bench.base, path);
    assert.match(String(second.headers['cache-status']), /fwd=uri-miss/);
  });
});

describe('validation (RFC 9111 §4.3)', () => {
  it('§4.3.1, §4.3.4: a stale response is revalidated conditionally and the 304 freshens it', async () => {
    let version = 'one';
    bench.handle((req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=60', 'x-version': version });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=60', 'x-version': version });
      res.end('the body');
    });
    const path = fresh();
    await request(bench.base, path);
    version = 'two';
    bench.advance(61);
    const revalidated = await request(bench.base, path);
    assert.equal(revalidated.status, 200);
    assert.equal(revalidated.body.toString(), 'the body');
    assert.equal(revalidated.headers['x-version'], 'two');
    assert.match(String(revalidated.headers['cache-status']), /fwd=stale; fwd-status=304/);
    assert.equal(bench.received.at(-1)!.headers['if-none-match'], '"v1"');
    const hit = await request(bench.base, path);
    assert.match(String(hit.headers['cache-status']), /hit/);
    assert.equal(hit.headers['x-version'], 'two');
  });

  it('§3.2, RFC 9530 §2: a 304 does not replace the fields that describe the stored content', async () => {
    const content = {
      'content-encoding': 'identity',
      'content-digest': 'sha-256=:stored:',
    };
    bench.handle((req, res) => {
      if (req.headers['if-none-match'] === '"d1"') {
        res.writeHead(304, {
          etag: '"d1"',
          'cache-control': 'max-age=60',
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-digest': 'sha-256=:empty:',
          'x-version': 'two',
        });
        res.end();
        return;
      }
      res.writeHead(200, {
        etag: '"d1"',
        'cache-control': 'max-age=60',
        'content-type': 'text/plain',
        ...content,
      });
      res.end('the body');
    });
    const path = fresh();
    await request(bench.base, path);
    bench.advance(61);
    const revalidated = await request(bench.base, path);
    assert.match(String(revalidated.headers['cache-status']), /fwd-status=304/);
    const hit = await request(bench.base, path);
    for (const res of [revalidated, hit]) {
      assert.equal(res.body.toString(), 'the body');
      assert.equal(res.headers['x-version'], 'two');
      assert.equal(res.headers['content-type'], 'application/json', 'Content-Type is updated (§3.2)');
      for (const [name, value] of Object.entries(content)) assert.equal(res.headers[name], value, name);
    }
  });

  it('§5.2.2.2: must-revalidate — with the upstream failing, no stale response but an error', async () => {
    origin({ 'cache-control': 'max-age=1, must-revalidate, stale-if-error=600' });
    const path = fresh();
    await request(bench.base, path);
    bench.advance(5);
    bench.handle((_req, res) => res.destroy());
    const failed = await request(bench.base, path);
    assert.equal(failed.status, 502);
    assert.match(String(failed.headers['cache-status']), /detail=upstream-unreachable/);
  });

  it('RFC 5861 §4: stale-if-error serves the stale response when the upstream answers 5xx', async () => {
    origin({ 'cache-control': 'max-age=1, stale-if-error=600' });
    const path = fresh();
    const first = await request(bench.base, path);
    bench.advance(5);
    origin({}, 503);
    const stale = await request(bench.base, path);
    assert.equal(stale.status, 200);
    assert.equal(stale.body.toString(), first.body.toString());
    assert.match(
      String(stale.headers['cache-status']),
      /fwd=stale; fwd-status=503; ttl=-\d+; detail=stale-if-error/,
    );
  });

  it('RFC 5861 §3: stale-while-revalidate answers at once and revalidates once in the background', async () => {
    origin({ 'cache-control': 'max-age=1, stale-while-revalidate=600' });
    const path = fresh();
    const first = await request(bench.base, path);
    bench.advance(5);
    const [a, b] = await Promise.all([request(bench.base, path), request(bench.base, path)]);
    for (const r of [a, b]) {
      assert.equal(r.body.toString(), first.body.toString());
      assert.match(String(r.headers['cache-status']), /hit; ttl=-\d+; detail=stale-while-revalidate/);
    }
    // The background revalidation stores a new response: wait for it to be served.
    for (let i = 0; i < 100; i++) {
      const r = await request(bench.base, path);
      if (r.body.toString() !== first.body.toString()) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(upstreamHits(path), 2);
  });
});

describe('answering conditional requests from the cache (RFC 9110 §13)', () => {
  const etag = '"abc"';
  let path: string;
  before(async () => {
    origin({ 'cache-control': 'max-age=600', etag, 'last-modified': 'Tue, 01 Jan 2030 00:00:00 GMT' });
    path = fresh();
    await request(bench.base, path);
  });

  for (const [section, headers, status] of [
    ['§13.1.2 If-None-Match matching', { 'if-none-match': `"x", ${etag}` }, 304],
    ['§13.1.2 If-None-Match weak comparison', { 'if-none-match': `W/${etag}` }, 304],
    ['§13.1.2 If-None-Match not matching', { 'if-none-match': '"x"' }, 200],
    ['§13.1.3 If-Modified-Since not modified', { 'if-modified-since': 'Wed, 02 Jan 2030 00:00:00 GMT' }, 304],
    ['§13.1.3 If-Modified-Since modified', { 'if-modified-since': 'Mon, 31 Dec 2029 00:00:00 GMT' }, 200],
    ['§13.1.1 If-Match failing', { 'if-match': '"x"' }, 412],
    ['§13.1.1 If-Match holding', { 'if-match': etag }, 200],
    ['§13.1.4 If-Unmodified-Since failing', { 'if-unmodified-since': 'Mon, 31 Dec 2029 00:00:00 GMT' }, 412],
    ['§14.2 Range', { range: 'bytes=0-3' }, 206],
    ['§14.2 Range not satisfiable', { range: 'bytes=999-' }, 416],
    [
      '§13.1.5 If-Range not matching: the whole representation',
      { range: 'bytes=0-3', 'if-range': '"x"' },
      200,
    ],
    ['§13.1.5 If-Range matching', { range: 'bytes=0-3', 'if-range': etag }, 206],
  ] as const) {
    it(`${section} → ${status}, upstream not asked`, async () => {
      const before = upstreamHits(path);
      const res = await request(bench.base, path, { headers });
      assert.equal(res.status, status);
      assert.equal(upstreamHits(path), before);
      assert.match(String(res.headers['cache-status']), /hit/);
      if (status === 304) {
        assert.equal(res.headers.etag, etag);
        assert.equal(res.body.byteLength, 0);
        assert.equal(res.headers['content-type'], undefined);
      }
      if (status === 206) assert.match(String(res.headers['content-range']), /^bytes 0-3\/\d+$/);
    });
  }

  it('§9.3.2: HEAD is answered from a stored GET, without content', async () => {
    const res = await request(bench.base, path, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.body.byteLength, 0);
    assert.equal(res.headers.etag, etag);
    assert.match(String(res.headers['cache-status']), /hit/);
  });

  it('a client conditional with nothing stored is forwarded, and the upstream 304 relayed', async () => {
    bench.handle((req, res) => {
      if (req.headers['if-none-match'] === '"z"') res.writeHead(304, { etag: '"z"' }).end();
      else res.writeHead(200, { etag: '"z"' }).end('z');
    });
    const other = fresh();
    const res = await request(bench.base, other, { headers: { 'if-none-match': '"z"' } });
    assert.equal(res.status, 304);
    assert.equal(bench.received.at(-1)!.headers['if-none-match'], '"z"');
    assert.match(String(res.headers['cache-status']), /fwd=uri-miss; fwd-status=304/);
  });
});

describe('ETags for origins without validators (--add-etags)', () => {
  it('a 200 without validators gets a strong ETag from its bytes, and a 304 on the next request', async () => {
    bench.handle((_req, res) => res.writeHead(200, { 'cache-control': 'max-age=0' }).end('same bytes'));
    const path = fresh();
    const first = await request(bench.base, path);
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[0-9a-z]+-[0-9a-f]{16}"$/);
    // Stale at once: the proxy refetches, hashes the same bytes, and the client's tag still matches.
    const second = await request(bench.base, path, { headers: { 'if-none-match': etag } });
    assert.equal(second.status, 304);
    assert.equal(second.headers.etag, etag);
    assert.equal(
      bench.received.at(-1)!.headers['if-none-match'],
      undefined,
      'the proxy tag is not sent upstream',
    );
  });

  it('each content coding gets its own strong tag (RFC 9110 §8.8.3)', async () => {
    bench.handle((req, res) => {
      const gzip = req.headers['accept-encoding'] === 'gzip';
      res.writeHead(200, {
        'cache-control': 'max-age=60',
        vary: 'accept-encoding',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      });
      res.end('same');
    });
    const path = fresh();
    const plain = await request(bench.base, path);
    const gzip = await request(bench.base, path, { headers: { 'accept-encoding': 'gzip' } });
    assert.match(String(gzip.headers.etag), /-gzip"$/);
    assert.notEqual(plain.headers.etag, gzip.headers.etag);
  });
});

describe('request collapsing', () => {
  it('N concurrent misses for one key make one upstream request', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    bench.handle(async (_req, res) => {
      await gate;
      res.writeHead(200, { 'cache-control': 'max-age=60' }).end('collapsed');
    });
    const path = fresh();
    const all = Promise.all(Array.from({ length: 50 }, () => request(bench.base, path)));
    // Released once the upstream has the one request and the proxy has had time to take in the others.
    while (upstreamHits(path) < 1) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    const responses = await all;
    assert.equal(upstreamHits(path), 1);
    assert.ok(responses.every((r) => r.body.toString() === 'collapsed'));
    const shared = responses.filter((r) => /collapsed|hit/.test(String(r.headers['cache-status'])));
    assert.equal(shared.length, 49);
  });
});

describe('metrics and purge', () => {
  it('/_etagkit/metrics speaks Prometheus text', async () => {
    const res = await request(bench.base, '/_etagkit/metrics');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body.toString();
    for (const name of [
      'hits_total',
      'misses_total',
      'revalidations_total',
      'not_modified_served_total',
      'cache_bytes_served_total',
      'bytes_saved_total',
      'upstream_latency_seconds_bucket',
    ])
      assert.match(text, new RegExp(`^etagkit_proxy_${name}`, 'm'));
    assert.match(text, /^etagkit_proxy_hits_total [1-9]\d*$/m);
  });

  it('every answered request goes out on etagkit:proxy:decision', async () => {
    const seen: unknown[] = [];
    const listen = (message: unknown) => seen.push(message);
    subscribe('etagkit:proxy:decision', listen);
    try {
      origin({ 'cache-control': 'max-age=60' });
      const path = fresh();
      await request(bench.base, path);
      await request(bench.base, path);
    } finally {
      unsubscribe('etagkit:proxy:decision', listen);
    }
    const last = seen.at(-1) as { cacheStatus: string };
    assert.match(last.cacheStatus, /^etagkit; hit; ttl=\d+$/);
    assert.deepEqual(
      { ...last, cacheStatus: '' },
      { method: 'GET', target: `/r${n}`, status: 200, cacheStatus: '' },
    );
  });

  it('purge is off without a token', async () => {
    const res = await request(bench.base, '/_etagkit/purge?url=/x', { method: 'POST' });
    assert.equal(res.status, 404);
  });
});
