import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createFetch, type DecisionMessage } from './fetch.ts';
import type { CacheStore } from './store.ts';
import { memoryStore } from './stores/memory.ts';
import { clock, date, gated, origin, status } from './test-origin.ts';

const URL_A = 'http://origin.test/a';

describe('createFetch: freshness', () => {
  it('serves a fresh response from the store with Age and Cache-Status hit (§4.2, §5.1)', async () => {
    const c = clock();
    const o = origin(
      () => new Response('hello', { headers: { 'cache-control': 'max-age=60', date: date(c.t) } }),
    );
    const f = createFetch({ fetch: o.fetch, now: c.now });
    const first = await f(URL_A);
    assert.equal(await first.text(), 'hello');
    assert.deepEqual(status(first), { cache: 'etagkit', fwd: 'uri-miss', fwdStatus: 200, stored: true });
    c.advance(10);
    const second = await f(URL_A);
    assert.equal(await second.text(), 'hello');
    assert.equal(second.headers.get('age'), '10');
    assert.deepEqual(status(second), { cache: 'etagkit', hit: true, ttl: 50 });
    assert.equal(second.url, URL_A);
    assert.equal(o.seen.length, 1);
    assert.equal(f.stats().hits, 1);
    assert.equal(f.stats().bytesFromCache, 5);
  });

  it('304 → stored body, status 200, every 304 header merged, entry updated (§4.3.4)', async () => {
    const c = clock();
    const o = origin((req, n) => {
      if (n === 1)
        return new Response('body', {
          headers: { etag: '"v1"', 'cache-control': 'max-age=10', 'x-a': '1', date: date(c.t) },
        });
      assert.equal(req.headers.get('if-none-match'), '"v1"');
      return new Response(null, {
        status: 304,
        headers: { etag: '"v1"', 'cache-control': 'max-age=100', 'x-a': '2', date: date(c.t) },
      });
    });
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).arrayBuffer();
    c.advance(20);
    const res = await f(URL_A);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'body');
    assert.equal(res.headers.get('x-a'), '2');
    assert.equal(res.headers.get('cache-control'), 'max-age=100');
    assert.deepEqual(status(res), { cache: 'etagkit', fwd: 'stale', fwdStatus: 304 });
    c.advance(50); // fresh again thanks to the merged max-age=100
    const third = await f(URL_A);
    assert.equal(status(third)?.hit, true);
    assert.equal(await third.text(), 'body');
    assert.equal(o.seen.length, 2);
    const s = f.stats();
    assert.equal(s.revalidations, 1);
    assert.equal(s.notModified, 1);
    assert.equal(s.bytesSavedBy304, 4);
  });

  it('a 304 freshens the stored response but not the fields describing its content (RFC 9111 §3.2, RFC 9530 §2)', async () => {
    const c = clock();
    const content = {
      'content-encoding': 'identity',
      'content-digest': 'sha-256=:stored:',
    };
    const o = origin((_req, n) =>
      n === 1
        ? new Response('body', {
            headers: {
              etag: '"v1"',
              'cache-control': 'max-age=10',
              'content-type': 'text/plain',
              ...content,
            },
          })
        : new Response(null, {
            status: 304,
            headers: {
              etag: '"v1"',
              'cache-control': 'max-age=100',
              'content-type': 'application/json',
              'content-encoding': 'gzip',
              'content-digest': 'sha-256=:empty:',
              'x-a': '2',
            },
          }),
    );
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).arrayBuffer();
    c.advance(20);
    for (const res of [await f(URL_A), await f(URL_A)]) {
      assert.equal(await res.text(), 'body');
      assert.equal(res.headers.get('x-a'), '2');
      assert.equal(res.headers.get('content-type'), 'application/json', 'Content-Type is updated (§3.2)');
      for (const [name, value] of Object.entries(content)) assert.equal(res.headers.get(name), value, name);
    }
    assert.equal(o.seen.length, 2);
  });

  it('a 304 for another representation → the request is re-issued without validators (§4.3.4)', async () => {
    const c = clock();
    const o = origin((req, n) => {
      if (n === 1) return new Response('old', { headers: { etag: '"v1"', 'cache-control': 'max-age=0' } });
      if (n === 2) return new Response(null, { status: 304, headers: { etag: '"v2"' } });
      assert.equal(req.headers.get('if-none-match'), null);
      return new Response('new', { headers: { etag: '"v2"' } });
    });
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).arrayBuffer();
    const res = await f(URL_A);
    assert.equal(await res.text(), 'new');
    assert.equal(status(res)?.detail, 'unmatched-304');
    assert.equal(o.seen.length, 3);
  });

  it('a response without validators is simply fetched again when stale', async () => {
    const c = clock();
    const o = origin((_req, n) => new Response(`v${n}`, { headers: { 'cache-control': 'max-age=1' } }));
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).text();
    c.advance(5);
    const res = await f(URL_A);
    assert.equal(await res.text(), 'v2');
    assert.equal(o.seen[1]?.headers.has('if-none-match'), false);
  });
});

describe('createFetch: the caller decides', () => {
  const etagged = () => new Response('data', { headers: { etag: '"e"', 'cache-control': 'max-age=60' } });

  it("passes the caller's own If-None-Match through and returns its 304 (fwd=request)", async () => {
    const o = origin((req) =>
      req.headers.get('if-none-match') === '"e"'
        ? new Response(null, { status: 304, headers: { etag: '"e"' } })
        : etagged(),
    );
    const f = createFetch({ fetch: o.fetch });
    await (await f(URL_A)).text();
    const res = await f(URL_A, { headers: { 'if-none-match': '"e"' } });
    assert.equal(res.status, 304);
    assert.deepEqual(status(res), {
      cache: 'etagkit',
      fwd: 'request',
      fwdStatus: 304,
      detail: 'caller-conditional',
    });
    assert.equal(o.seen.length, 2);
  });

  for (const mode of ['reload', 'no-store'] as const) {
    it(`cache: '${mode}' sends no validators and returns the full body`, async () => {
      const o = origin(() => etagged());
      const store = memoryStore();
      const f = createFetch({ fetch: o.fetch, store });
      await (await f(URL_A)).text();
      const res = await f(URL_A, { cache: mode });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'data');
      const sent = o.seen[1]!.headers;
      assert.equal(sent.has('if-none-match'), false);
      assert.equal(sent.get('cache-control'), 'no-cache'); // Fetch: bypass upstream caches too
      assert.equal(status(res)?.fwd, 'request');
      assert.equal(status(res)?.stored, mode === 'reload' ? true : undefined);
    });
  }

  it("cache: 'no-cache' revalidates even a fresh response, with max-age=0 upstream", async () => {
    const o = origin((req, n) =>
      n === 1
        ? etagged()
        : new Response(null, { status: 304, headers: { etag: req.headers.get('if-none-match') ?? '' } }),
    );
    const f = createFetch({ fetch: o.fetch });
    await (await f(URL_A)).text();
    const res = await f(URL_A, { cache: 'no-cache' });
    assert.equal(await res.text(), 'data');
    assert.equal(o.seen[1]!.headers.get('if-none-match'), '"e"');
    assert.equal(o.seen[1]!.headers.get('cache-control'), 'max-age=0');
    assert.deepEqual(status(res), { cache: 'etagkit', fwd: 'request', fwdStatus: 304 });
  });

  it("cache: 'force-cache' and 'only-if-cached' use a stale response", async () => {
    const c = clock();
    const o = origin(() => etagged());
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).text();
    c.advance(1000);
    for (const mode of ['force-cache', 'only-if-cached'] as const) {
      const res = await f(URL_A, { cache: mode });
      assert.equal(await res.text(), 'data');
      assert.equal(status(res)?.detail, mode);
      assert.ok((status(res)?.ttl ?? 0) < 0);
    }
    assert.equal(o.seen.length, 1);
  });

  it("cache: 'only-if-cached' with nothing stored is a network error (Fetch)", async () => {
    const o = origin(() => etagged());
    const f = createFetch({ fetch: o.fetch });
    await assert.rejects(f(URL_A, { cache: 'only-if-cached' }), TypeError);
    assert.equal(o.seen.length, 0);
  });

  it('Cache-Control: only-if-cached with nothing stored answers 504 (§5.2.1.7)', async () => {
    const o = origin(() => etagged());
    const f = createFetch({ fetch: o.fetch });
    const res = await f(URL_A, { headers: { 'cache-control': 'only-if-cached' } });
    assert.equal(res.status, 504);
    assert.equal(o.seen.length, 0);
  });

  it('a request aborted before it starts rejects with the abort reason', async () => {
    const o = origin(() => etagged());
    const f = createFetch({ fetch: o.fetch });
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(f(URL_A, { signal: controller.signal }), /stop/);
  });

  it('rejects (never throws) for a URL that is not absolute, as fetch does', async () => {
    const f = createFetch({ fetch: origin(() => new Response('x')).fetch });
    const pending = f('/relative');
    assert.ok(pending instanceof Promise);
    await assert.rejects(pending, TypeError);
  });

  it('accepts a Request object as input', async () => {
    const o = origin(() => etagged());
    const f = createFetch({ fetch: o.fetch });
    await (await f(new Request(URL_A))).text();
    const res = await f(new Request(URL_A));
    assert.equal(status(res)?.hit, true);
  });
});

describe('createFetch: Vary, HEAD, invalidation', () => {
  it('keeps one variant per Vary-selected request headers (§4.1)', async () => {
    const o = origin(
      (req) =>
        new Response(`lang=${req.headers.get('accept-language')}`, {
          headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
        }),
    );
    const f = createFetch({ fetch: o.fetch });
    await (await f(URL_A, { headers: { 'accept-language': 'en' } })).text();
    const de = await f(URL_A, { headers: { 'accept-language': 'de' } });
    assert.equal(status(de)?.fwd, 'vary-miss');
    assert.equal(await de.text(), 'lang=de');
    const en = await f(URL_A, { headers: { 'accept-language': 'en' } });
    assert.equal(await en.text(), 'lang=en');
    assert.equal(status(en)?.hit, true);
    assert.equal(o.seen.length, 2);
  });

  it('answers HEAD from a fresh stored GET, without a body', async () => {
    const o = origin(() => new Response('abc', { headers: { 'cache-control': 'max-age=60' } }));
    const f = createFetch({ fetch: o.fetch });
    await (await f(URL_A)).text();
    const res = await f(URL_A, { method: 'HEAD' });
    assert.equal(res.body, null);
    assert.equal(status(res)?.hit, true);
    assert.equal(o.seen.length, 1);
  });

  it('a 200 to a HEAD with the same validators freshens the stored GET (§4.3.5)', async () => {
    const c = clock();
    const o = origin((req) =>
      req.method === 'HEAD'
        ? new Response(null, { headers: { etag: '"h"', 'cache-control': 'max-age=100', 'x-new': '1' } })
        : new Response('body', { headers: { etag: '"h"', 'cache-control': 'max-age=1' } }),
    );
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).text();
    c.advance(5);
    const head = await f(URL_A, { method: 'HEAD' });
    assert.equal(status(head)?.fwd, 'stale');
    const res = await f(URL_A);
    assert.equal(status(res)?.hit, true);
    assert.equal(res.headers.get('x-new'), '1');
    assert.equal(await res.text(), 'body');
  });

  it('invalidates the target and same-origin Location after a POST (§4.4)', async () => {
    const other = 'http://origin.test/b';
    const o = origin((req) =>
      req.method === 'POST'
        ? new Response('ok', { status: 201, headers: { location: '/b' } })
        : new Response('x', { headers: { 'cache-control': 'max-age=60' } }),
    );
    const f = createFetch({ fetch: o.fetch });
    await (await f(URL_A)).text();
    await (await f(other)).text();
    const post = await f(URL_A, { method: 'POST', body: 'x' });
    assert.equal(status(post)?.fwd, 'method');
    assert.equal(status(await f(URL_A))?.fwd, 'uri-miss');
    assert.equal(status(await f(other))?.fwd, 'uri-miss');
  });
});

describe('createFetch: RFC 5861', () => {
  it('stale-while-revalidate serves stale and revalidates once in the background', async () => {
    const c = clock();
    const { gate, release } = gated();
    const o = origin(async (_req, n) => {
      if (n === 1)
        return new Response('v1', { headers: { 'cache-control': 'max-age=1, stale-while-revalidate=60' } });
      await gate;
      return new Response('v2', { headers: { 'cache-control': 'max-age=100' } });
    });
    const store = memoryStore();
    let stored: () => void = () => {};
    const secondPut = new Promise<void>((r) => (stored = r));
    let puts = 0;
    const watched: CacheStore = {
      ...store,
      put: async (entry) => {
        await store.put(entry);
        if (++puts === 2) stored();
      },
    };
    const f = createFetch({ fetch: o.fetch, now: c.now, store: watched });
    await (await f(URL_A)).text();
    c.advance(5);
    const stale = await Promise.all([f(URL_A), f(URL_A), f(URL_A)]);
    for (const res of stale) {
      assert.equal(await res.text(), 'v1');
      assert.equal(status(res)?.detail, 'stale-while-revalidate');
    }
    assert.equal(o.seen.length, 2); // one background request for three stale hits
    release();
    await secondPut;
    const fresh = await f(URL_A);
    assert.equal(await fresh.text(), 'v2');
    assert.equal(status(fresh)?.hit, true);
  });

  it('stale-if-error serves stale on a 5xx and on a network error, within the window only', async () => {
    const c = clock();
    const o = origin((_req, n) => {
      if (n === 1)
        return new Response('v1', {
          headers: { 'cache-control': 'max-age=1, stale-if-error=60', etag: '"1"' },
        });
      if (n === 2) return new Response('down', { status: 503 });
      throw new TypeError('fetch failed');
    });
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).text();
    c.advance(10);
    const a = await f(URL_A);
    assert.equal(await a.text(), 'v1');
    assert.deepEqual(status(a), {
      cache: 'etagkit',
      fwd: 'stale',
      fwdStatus: 503,
      ttl: -9,
      detail: 'stale-if-error',
    });
    const b = await f(URL_A);
    assert.equal(await b.text(), 'v1');
    assert.equal(status(b)?.detail, 'stale-if-error');
    c.advance(100);
    await assert.rejects(f(URL_A), /fetch failed/);
  });
});

describe('createFetch: bodies and the store', () => {
  it('a stored body is served as a byte stream of its own copy: BYOB readers work, writes never reach the store', async () => {
    const o = origin(() => new Response('abcd', { headers: { 'cache-control': 'max-age=60' } }));
    const f = createFetch({ fetch: o.fetch });
    assert.equal(await (await f(URL_A)).text(), 'abcd');
    const reader = (await f(URL_A)).body!.getReader({ mode: 'byob' });
    const { value } = await reader.read(new Uint8Array(16));
    assert.deepEqual([...value!], [...new TextEncoder().encode('abcd')]);
    value!.fill(0);
    const plain = (await f(URL_A)).body!.getReader();
    const chunk = (await plain.read()).value!;
    chunk.fill(0);
    const again = await f(URL_A);
    assert.equal(again.headers.get('content-type'), 'text/plain;charset=UTF-8');
    assert.equal(await again.text(), 'abcd');
    assert.equal(o.seen.length, 1);
  });

  it('an empty stored body reads as empty, and a URL with a fragment finds the same entry every time', async () => {
    const o = origin(() => new Response('', { headers: { 'cache-control': 'max-age=60' } }));
    const f = createFetch({ fetch: o.fetch });
    assert.equal(await (await f(`${URL_A}#one`)).text(), '');
    for (const url of [`${URL_A}#two`, `${URL_A}#two`, URL_A]) {
      const res = await f(url);
      assert.equal(res.url, URL_A);
      assert.equal((await res.arrayBuffer()).byteLength, 0);
    }
    assert.equal(o.seen.length, 1);
    await assert.rejects(f('not a url'), TypeError);
    await assert.rejects(f('not a url'), TypeError);
  });

  it('never stores a body whose stream fails midway', async () => {
    let n = 0;
    const o = origin(() => {
      n++;
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          ctl.enqueue(new Uint8Array([1, 2, 3]));
          if (n === 1) ctl.error(new Error('connection reset'));
          else ctl.close();
        },
      });
      return new Response(body, { headers: { 'cache-control': 'max-age=60' } });
    });
    const f = createFetch({ fetch: o.fetch });
    await assert.rejects((await f(URL_A)).arrayBuffer(), /connection reset/);
    const second = await f(URL_A);
    assert.equal(status(second)?.fwd, 'uri-miss');
    assert.equal((await second.arrayBuffer()).byteLength, 3);
  });

  it('never stores a body shorter than its Content-Length', async () => {
    const o = origin(
      () => new Response('abc', { headers: { 'cache-control': 'max-age=60', 'content-length': '10' } }),
    );
    const f = createFetch({ fetch: o.fetch });
    await (await f(URL_A)).text();
    assert.equal(status(await f(URL_A))?.fwd, 'uri-miss');
  });

  it('streams bodies over maxEntryBytes through unstored', async () => {
    const big = new Uint8Array(1000).fill(7);
    const o = origin(() => new Response(big, { headers: { 'cache-control': 'max-age=60' } }));
    const f = createFetch({ fetch: o.fetch, maxEntryBytes: 100 });
    const first = await f(URL_A);
    assert.deepEqual(new Uint8Array(await first.arrayBuffer()), big);
    const second = await f(URL_A);
    assert.equal(status(second)?.fwd, 'uri-miss');
    assert.equal((await second.arrayBuffer()).byteLength, 1000);
  });

  it('a failing store never fails the request: origin answers, Cache-Status says store-error', async () => {
    const broken: CacheStore = {
      get: () => Promise.reject(new Error('ECONNREFUSED')),
      put: () => Promise.reject(new Error('ECONNREFUSED')),
      delete: () => Promise.reject(new Error('ECONNREFUSED')),
      lease: () => Promise.reject(new Error('ECONNREFUSED')),
      release: () => Promise.reject(new Error('ECONNREFUSED')),
      close: () => Promise.resolve(),
    };
    const o = origin(() => new Response('ok', { headers: { 'cache-control': 'max-age=60' } }));
    const f = createFetch({ fetch: o.fetch, store: broken });
    const res = await f(URL_A);
    assert.equal(await res.text(), 'ok');
    assert.deepEqual(status(res), { cache: 'etagkit', fwd: 'miss', fwdStatus: 200, detail: 'store-error' });
    const post = await f(URL_A, { method: 'POST', body: '' });
    assert.equal(post.status, 200);
    assert.ok(f.stats().storeErrors >= 2);
  });

  it('coalesces concurrent identical requests into one origin request', async () => {
    const { gate, release } = gated();
    const o = origin(async () => {
      await gate;
      return new Response('shared', { headers: { 'cache-control': 'max-age=60' } });
    });
    const f = createFetch({ fetch: o.fetch });
    const pending = Array.from({ length: 5 }, () => f(URL_A));
    await new Promise((r) => setImmediate(r));
    release();
    const responses = await Promise.all(pending);
    assert.deepEqual(await Promise.all(responses.map((r) => r.text())), Array(5).fill('shared'));
    assert.equal(o.seen.length, 1);
    assert.equal(responses.filter((r) => status(r)?.collapsed).length, 4);
  });

  it('coalesces requests that differ only in headers the response does not vary on', async () => {
    const { gate, release } = gated();
    const o = origin(async (req) => {
      await gate;
      return new Response(`lang=${req.headers.get('accept-language')}`, {
        headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
      });
    });
    const f = createFetch({ fetch: o.fetch });
    const pending = [
      f(URL_A, { headers: { 'accept-language': 'en', 'x-request-id': '1' } }),
      f(URL_A, { headers: { 'accept-language': 'en', 'x-request-id': '2' } }),
      f(URL_A, { headers: { 'accept-language': 'de', 'x-request-id': '3' } }),
    ];
    await new Promise((r) => setImmediate(r));
    release();
    const bodies = await Promise.all((await Promise.all(pending)).map((r) => r.text()));
    assert.deepEqual(bodies, ['lang=en', 'lang=en', 'lang=de']);
    assert.equal(o.seen.length, 2); // en twice → one request; de differs in a Vary-selected header
  });

  it('does not share a no-cache response between concurrent requests', async () => {
    const { gate, release } = gated();
    const o = origin(async (_req, n) => {
      if (n === 1) await gate;
      return new Response(`r${n}`, { headers: { 'cache-control': 'no-cache' } });
    });
    const f = createFetch({ fetch: o.fetch });
    const pending = [f(URL_A), f(URL_A)];
    await new Promise((r) => setImmediate(r));
    release();
    const bodies = await Promise.all((await Promise.all(pending)).map((r) => r.text()));
    assert.deepEqual(bodies.sort(), ['r1', 'r2']);
  });

  it('revalidates a stale response once for concurrent requests; the others get its result', async () => {
    const c = clock();
    const { gate, release } = gated();
    const o = origin(async (req, n) => {
      if (n === 1) return new Response('v1', { headers: { etag: '"1"', 'cache-control': 'max-age=10' } });
      assert.equal(req.headers.get('if-none-match'), '"1"');
      await gate;
      return new Response(null, { status: 304, headers: { etag: '"1"', 'cache-control': 'max-age=10' } });
    });
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).text();
    c.advance(20);
    const pending = Array.from({ length: 4 }, () => f(URL_A));
    await new Promise((r) => setImmediate(r));
    release();
    const responses = await Promise.all(pending);
    assert.deepEqual(await Promise.all(responses.map((r) => r.text())), Array(4).fill('v1'));
    assert.equal(o.seen.length, 2, 'one conditional request for four stale lookups');
    assert.equal(responses.filter((r) => status(r)?.collapsed).length, 3);
    assert.deepEqual(status(responses[0]!), { cache: 'etagkit', fwd: 'stale', fwdStatus: 304 });
    assert.equal(f.stats().revalidations, 1);
  });

  it('requests waiting on a revalidation that got a new representation get the new one', async () => {
    const c = clock();
    const { gate, release } = gated();
    const o = origin(async (_req, n) => {
      if (n === 1) return new Response('v1', { headers: { etag: '"1"', 'cache-control': 'max-age=10' } });
      await gate;
      return new Response('v2', { headers: { etag: '"2"', 'cache-control': 'max-age=10' } });
    });
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).text();
    c.advance(20);
    const pending = Array.from({ length: 3 }, () => f(URL_A));
    await new Promise((r) => setImmediate(r));
    release();
    const responses = await Promise.all(pending);
    assert.deepEqual(await Promise.all(responses.map((r) => r.text())), ['v2', 'v2', 'v2']);
    assert.equal(o.seen.length, 2);
    assert.equal(responses[0]!.headers.get('etag'), '"2"');
  });

  it('a request past the stale-while-revalidate window joins the background revalidation under way', async () => {
    const c = clock();
    const { gate, release } = gated();
    const o = origin(async (_req, n) => {
      if (n === 1)
        return new Response('v1', {
          headers: { etag: '"1"', 'cache-control': 'max-age=10, stale-while-revalidate=10' },
        });
      await gate;
      return new Response(null, { status: 304, headers: { etag: '"1"', 'cache-control': 'max-age=60' } });
    });
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).text();
    c.advance(15); // within stale-while-revalidate: served stale, revalidated in the background
    assert.equal(status(await f(URL_A))?.detail, 'stale-while-revalidate');
    c.advance(10); // past it: this one must wait for a revalidation, and waits for the one under way
    const waiting = f(URL_A);
    await new Promise((r) => setImmediate(r));
    release();
    const res = await waiting;
    assert.equal(await res.text(), 'v1');
    assert.equal(status(res)?.collapsed, true);
    assert.equal(o.seen.length, 2, 'the background revalidation was the only one');
  });

  it('does not share a revalidation whose result must be validated again (no-cache)', async () => {
    const { gate, release } = gated();
    const o = origin(async (_req, n) => {
      if (n === 1) return new Response('v1', { headers: { etag: '"1"', 'cache-control': 'no-cache' } });
      if (n === 2) await gate;
      return new Response(null, { status: 304, headers: { etag: '"1"', 'cache-control': 'no-cache' } });
    });
    const f = createFetch({ fetch: o.fetch });
    await (await f(URL_A)).text();
    const pending = [f(URL_A), f(URL_A)];
    await new Promise((r) => setImmediate(r));
    release();
    const responses = await Promise.all(pending);
    assert.deepEqual(await Promise.all(responses.map((r) => r.text())), ['v1', 'v1']);
    assert.equal(o.seen.length, 3, 'each request validated with the origin');
  });

  it('with a lease, a second client on the same store waits for the first one’s revalidation', async () => {
    const c = clock();
    const { gate, release } = gated();
    const o = origin(async (_req, n) => {
      if (n === 1) return new Response('v1', { headers: { etag: '"1"', 'cache-control': 'max-age=10' } });
      await gate;
      return new Response(null, { status: 304, headers: { etag: '"1"', 'cache-control': 'max-age=10' } });
    });
    // Two "machines": separate createFetch instances, one store, as with Redis.
    const store = memoryStore();
    const a = createFetch({ fetch: o.fetch, now: c.now, store, revalidationLeaseMs: 2_000 });
    const b = createFetch({ fetch: o.fetch, now: c.now, store, revalidationLeaseMs: 2_000 });
    await (await a(URL_A)).text();
    c.advance(20);
    const first = a(URL_A);
    await new Promise((r) => setTimeout(r, 1)); // a holds the lease and waits for the origin
    const second = b(URL_A);
    await new Promise((r) => setTimeout(r, 20)); // b looks at the store at least once
    release();
    const [ra, rb] = await Promise.all([first, second]);
    assert.equal(await ra.text(), 'v1');
    assert.equal(await rb.text(), 'v1');
    assert.equal(o.seen.length, 2, 'one conditional request for both clients');
    assert.deepEqual(status(rb), {
      cache: 'etagkit',
      fwd: 'stale',
      collapsed: true,
      detail: 'peer-revalidated',
    });
    assert.equal(b.stats().hits, 1);
    assert.equal(await store.lease('GET http://origin.test/a', 1), true, 'the lease was given back');
  });

  it('with a lease held by a peer that never answers, revalidates itself after revalidationLeaseMs', async () => {
    const c = clock();
    const o = origin(async (_req, n) => {
      if (n === 1) return new Response('v1', { headers: { etag: '"1"', 'cache-control': 'max-age=10' } });
      return new Response(null, { status: 304, headers: { etag: '"1"', 'cache-control': 'max-age=10' } });
    });
    const store = memoryStore();
    const f = createFetch({ fetch: o.fetch, now: c.now, store, revalidationLeaseMs: 60 });
    await (await f(URL_A)).text();
    c.advance(20);
    assert.equal(await store.lease(`GET ${URL_A}`, 60_000), true); // a peer that went away holding it
    const started = performance.now();
    const res = await f(URL_A);
    assert.ok(performance.now() - started >= 55, 'waited for the peer first');
    assert.equal(await res.text(), 'v1');
    assert.deepEqual(status(res), { cache: 'etagkit', fwd: 'stale', fwdStatus: 304 });
    assert.equal(o.seen.length, 2);
  });

  it('a request waiting for a peer’s revalidation can be aborted', async () => {
    const c = clock();
    const o = origin(() => new Response('v1', { headers: { etag: '"1"', 'cache-control': 'max-age=10' } }));
    const store = memoryStore();
    const f = createFetch({ fetch: o.fetch, now: c.now, store, revalidationLeaseMs: 60_000 });
    await (await f(URL_A)).text();
    c.advance(20);
    await store.lease(`GET ${URL_A}`, 60_000);
    const controller = new AbortController();
    const pending = f(URL_A, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gave up')), 10);
    await assert.rejects(pending, /gave up/);
    assert.equal(o.seen.length, 1);
  });

  it('a store that fails while a peer holds the lease: the request goes to the origin at once', async () => {
    const c = clock();
    const o = origin(() => new Response('v1', { headers: { etag: '"1"', 'cache-control': 'max-age=10' } }));
    const inner = memoryStore();
    let failing = false;
    const store: CacheStore = {
      ...inner,
      get: (key) => (failing ? Promise.reject(new Error('connection lost')) : inner.get(key)),
      lease: async () => {
        failing = true; // a peer holds the lease, and then the store goes away
        return false;
      },
    };
    const f = createFetch({ fetch: o.fetch, now: c.now, store, revalidationLeaseMs: 60_000 });
    await (await f(URL_A)).text();
    c.advance(20);
    const started = performance.now();
    const res = await f(URL_A);
    assert.equal(await res.text(), 'v1');
    assert.ok(performance.now() - started < 1_000, 'did not wait out the lease');
    assert.equal(o.seen.length, 2);
    assert.equal(f.stats().storeErrors, 1);
  });

  it('rejects a negative revalidationLeaseMs', () => {
    assert.throws(() => createFetch({ revalidationLeaseMs: -1 }), RangeError);
  });

  it('publishes every decision on etagkit:client:decision', async () => {
    const events: DecisionMessage[] = [];
    const listen = (m: unknown) => events.push(m as DecisionMessage);
    subscribe('etagkit:client:decision', listen);
    try {
      const o = origin(() => new Response('x', { headers: { 'cache-control': 'max-age=60' } }));
      const f = createFetch({ fetch: o.fetch });
      await (await f(URL_A)).text();
      await (await f(URL_A)).text();
    } finally {
      unsubscribe('etagkit:client:decision', listen);
    }
    assert.deepEqual(
      events.map((e) => [e.url, e.decision]),
      [
        [URL_A, 'uri-miss'],
        [URL_A, 'stored'],
        [URL_A, 'hit'],
      ],
    );
    assert.match(events[2]!.cacheStatus, /^etagkit; hit/);
  });
});

describe('createFetch: shared caches (RFC 9111 §3.5, §5.2.2)', () => {
  it('a shared cache does not store private responses; a private cache does', async () => {
    const o = origin(() => new Response('mine', { headers: { 'cache-control': 'private, max-age=60' } }));
    const shared = createFetch({ fetch: o.fetch, shared: true });
    await (await shared(URL_A)).text();
    assert.equal(status(await shared(URL_A))?.fwd, 'uri-miss');
    const personal = createFetch({ fetch: o.fetch });
    await (await personal(URL_A)).text();
    assert.equal(status(await personal(URL_A))?.hit, true);
  });

  it('a shared cache uses s-maxage and does not store Authorization responses without permission', async () => {
    const c = clock();
    const o = origin(
      (req) =>
        new Response('x', {
          headers: {
            'cache-control': req.headers.has('authorization') ? 'max-age=60' : 'max-age=1, s-maxage=100',
          },
        }),
    );
    const f = createFetch({ fetch: o.fetch, shared: true, now: c.now });
    await (await f(URL_A)).text();
    c.advance(50);
    assert.equal(status(await f(URL_A))?.hit, true); // s-maxage=100 beats max-age=1
    const other = 'http://origin.test/secret';
    await (await f(other, { headers: { authorization: 'Bearer t' } })).text();
    assert.equal(status(await f(other, { headers: { authorization: 'Bearer t' } }))?.fwd, 'uri-miss');
  });
});

describe('createFetch: ranges from a stored response (RFC 9110 §14)', () => {
  it('answers a single Range from a fresh complete response with 206', async () => {
    const o = origin(
      () => new Response('0123456789', { headers: { 'cache-control': 'max-age=60', etag: '"r"' } }),
    );
    const f = createFetch({ fetch: o.fetch });
    await (await f(URL_A)).text();
    const res = await f(URL_A, { headers: { range: 'bytes=2-4' } });
    assert.equal(res.status, 206);
    assert.equal(await res.text(), '234');
    assert.equal(res.headers.get('content-range'), 'bytes 2-4/10');
    assert.equal(res.headers.get('content-length'), '3');
    assert.equal(status(res)?.detail, 'range');
    const mismatch = await f(URL_A, { headers: { range: 'bytes=0-1', 'if-range': '"other"' } });
    assert.equal(mismatch.status, 200); // §13.1.5: If-Range does not match → the whole representation
    assert.equal(await mismatch.text(), '0123456789');
    assert.equal(o.seen.length, 1);
  });

  it('sends several ranges to the origin', async () => {
    const o = origin((req) =>
      req.headers.has('range')
        ? new Response('multi', {
            status: 206,
            headers: { 'content-type': 'multipart/byteranges; boundary=x' },
          })
        : new Response('0123456789', { headers: { 'cache-control': 'max-age=60' } }),
    );
    const f = createFetch({ fetch: o.fetch });
    await (await f(URL_A)).text();
    const res = await f(URL_A, { headers: { range: 'bytes=0-1,5-6' } });
    assert.equal(res.status, 206);
    assert.equal(status(res)?.fwd, 'request');
    assert.equal(o.seen.length, 2);
  });
});

describe('createFetch: a store that keeps failing', () => {
  it('is left alone for a while after a failure, then tried again', async () => {
    const c = clock();
    let calls = 0;
    const store = memoryStore();
    let broken = true;
    const flaky: CacheStore = {
      ...store,
      get: async (key) => {
        calls++;
        if (broken) throw new Error('timeout');
        return store.get(key);
      },
    };
    const o = origin(() => new Response('x', { headers: { 'cache-control': 'max-age=600' } }));
    const f = createFetch({ fetch: o.fetch, store: flaky, now: c.now });
    assert.equal(status(await f(URL_A))?.detail, 'store-error');
    assert.equal(status(await f(URL_A))?.detail, 'store-down');
    assert.equal(calls, 1);
    broken = false;
    c.advance(10);
    const back = await f(URL_A);
    assert.equal(status(back)?.fwd, 'uri-miss');
    await back.text();
    assert.equal(status(await f(URL_A))?.hit, true);
  });
});

describe('createFetch: whatever the origin says', () => {
  const directive = fc.constantFrom(
    'max-age=0',
    'max-age=60',
    'max-age=-1',
    'max-age=abc',
    's-maxage=30',
    'no-cache',
    'no-store',
    'private',
    'public',
    'must-revalidate',
    'immutable',
    'stale-while-revalidate=30',
    'stale-if-error=30',
    'no-cache="x-a"',
    '"',
    '',
  );
  const headerValue = fc.oneof(
    fc.constantFrom(
      '"a"',
      'W/"a"',
      '"b"',
      '*',
      'garbage',
      '',
      'Sun, 06 Nov 1994 08:49:37 GMT',
      '-1',
      '99999999999',
    ),
    fc.string({ maxLength: 12 }).map((s) => s.replace(/[\r\n\0]/g, '')),
  );
  const response = fc.record({
    status: fc.constantFrom(200, 203, 204, 206, 301, 304, 404, 410, 500, 503),
    cacheControl: fc.array(directive, { maxLength: 4 }).map((d) => d.join(', ')),
    etag: fc.option(headerValue),
    lastModified: fc.option(headerValue),
    expires: fc.option(headerValue),
    age: fc.option(headerValue),
    vary: fc.option(fc.constantFrom('accept', 'Accept, X-A', '*', '')),
    body: fc.string({ maxLength: 8 }),
  });
  const request = fc.record({
    cacheControl: fc.option(fc.array(directive, { maxLength: 2 }).map((d) => d.join(', '))),
    accept: fc.option(fc.constantFrom('text/html', 'application/json')),
    range: fc.option(fc.constantFrom('bytes=0-1', 'bytes=5-', 'bytes=x', 'bytes=0-0,2-3')),
    method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST'),
    mode: fc.constantFrom<RequestCache>(
      'default',
      'default',
      'no-cache',
      'force-cache',
      'reload',
      'no-store',
    ),
    advance: fc.nat(120),
    parallel: fc.integer({ min: 1, max: 3 }),
  });

  for (const lease of [false, true])
    it(`never throws nor hangs, never hands out the 304 to its own validators, always says what it did${lease ? ' (two clients, one store, a lease)' : ''}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(request, response), { minLength: 1, maxLength: 8 }),
          async (steps) => {
            const c = clock();
            const sent = new Set<string>();
            let next = steps[0]![1];
            const o = origin(() => {
              const h = new Headers({ date: date(c.t) });
              if (next.cacheControl) h.set('cache-control', next.cacheControl);
              for (const [name, value] of [
                ['etag', next.etag],
                ['last-modified', next.lastModified],
                ['expires', next.expires],
                ['age', next.age],
                ['vary', next.vary],
              ] as const)
                if (value !== null) h.set(name, value);
              const nullBody = next.status === 204 || next.status === 304;
              if (!nullBody) sent.add(next.body);
              return new Response(nullBody ? null : next.body, { status: next.status, headers: h });
            });
            const f = createFetch({ fetch: o.fetch, now: c.now });
            for (const [req, res] of steps) {
              next = res;
              c.advance(req.advance);
              const headers = new Headers();
              if (req.cacheControl !== null) headers.set('cache-control', req.cacheControl);
              if (req.accept !== null) headers.set('accept', req.accept);
              if (req.range !== null) headers.set('range', req.range);
              // Several at once exercise coalescing and shared revalidations.
              const calls = Array.from({ length: req.parallel }, () =>
                f(URL_A, { method: req.method, headers, cache: req.mode }),
              );
              const hung = new Promise<never>((_, reject) =>
                setTimeout(() => reject(new Error('hung')), 2_000).unref(),
              );
              for (const answer of await Promise.race([Promise.all(calls), hung])) {
                const body = await answer.text();
                if (req.method === 'HEAD') assert.equal(body, '');
                else if (answer.status === 200)
                  assert.ok(body === '' || sent.has(body), `a body nobody sent: ${body}`);
                // A 304 reaches the caller only as the origin's answer to a request without validators (a broken
                // origin), never as the answer to a validator etagkit added itself.
                if (answer.status === 304) {
                  const last = o.seen.at(-1)!.headers;
                  assert.ok(!last.has('if-none-match') && !last.has('if-modified-since'), 'our 304 leaked');
                }
                assert.equal(status(answer)?.cache, 'etagkit');
              }
            }
          },
        ),
        { numRuns: lease ? 100 : 300 },
      );
    });
});
