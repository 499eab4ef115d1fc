/**
 * A caller never gets an empty 304 it did not ask for (RFC 9110 §15.4.5: a 304 only answers a conditional
 * request). When the origin sends one anyway, a stored response it identifies answers instead (RFC 9111 §4.3.4);
 * when none does, the caller gets 502 Bad Gateway with a problem body and `Cache-Status: …; detail=unexpected-304`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFetch } from './fetch.ts';
import { clock, date, origin, status } from './test-origin.ts';

const URL_A = 'http://origin.test/a';
const notModified = (headers: Record<string, string> = {}) => new Response(null, { status: 304, headers });

/** Checks the 502 that stands for an unasked 304, and that nothing was stored. */
async function assertRefused(res: Response, fwd: string) {
  assert.equal(res.status, 502);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const cacheStatus = status(res);
  assert.equal(cacheStatus?.fwd, fwd);
  assert.equal(cacheStatus?.fwdStatus, 304);
  assert.equal(cacheStatus?.detail, 'unexpected-304');
  assert.equal(cacheStatus?.stored, undefined);
  if (res.headers.get('content-length') !== '0' && res.body) {
    const problem = (await res.json()) as { status: number; title: string; detail: string };
    assert.equal(problem.status, 502);
    assert.equal(problem.title, 'Bad Gateway');
    assert.match(problem.detail, /304 Not Modified to a request that carried no validators/);
    assert.ok(problem.detail.includes(URL_A));
  }
}

describe('createFetch: no 304 the caller did not ask for', () => {
  // Each row: how the caller asks, with nothing stored; the origin answers every request 304.
  const unasked: [string, RequestInit, string][] = [
    ['a miss', {}, 'uri-miss'],
    ["cache: 'reload'", { cache: 'reload' }, 'request'],
    ["cache: 'no-store'", { cache: 'no-store' }, 'request'],
    ['a Range request (RFC 9110 §14.2)', { headers: { range: 'bytes=0-1' } }, 'request'],
    [
      'a Range request with If-Range (If-Range never yields 304, §13.1.5)',
      { headers: { range: 'bytes=0-1', 'if-range': '"v1"' } },
      'request',
    ],
    ['HEAD, a miss', { method: 'HEAD' }, 'miss'],
    [
      'If-Match alone (a 304 answers only If-None-Match or If-Modified-Since, RFC 9110 §15.4.5)',
      { headers: { 'if-match': '"v1"' } },
      'request',
    ],
    [
      'an unsafe method with If-Match (PUT)',
      { method: 'PUT', body: 'x', headers: { 'if-match': '"v1"' } },
      'method',
    ],
    ['an unsafe method (POST)', { method: 'POST', body: 'x' }, 'method'],
  ];
  for (const [name, init, fwd] of unasked)
    it(`${name}: 502 with a problem body, never the bare 304`, async () => {
      const o = origin(() => notModified({ etag: '"v1"', 'cache-control': 'max-age=60' }));
      const f = createFetch({ fetch: o.fetch });
      await assertRefused(await f(URL_A, init), fwd);
      // Nothing was stored from it: the next request goes to the origin again.
      const again = await f(URL_A);
      assert.equal(again.status, 502);
    });

  it('a 304 the caller asked for (its own If-None-Match) comes back as it is', async () => {
    const o = origin(() => notModified({ etag: '"v1"' }));
    const f = createFetch({ fetch: o.fetch });
    const res = await f(URL_A, { headers: { 'if-none-match': '"v1"' } });
    assert.equal(res.status, 304);
    assert.equal(status(res)?.detail, 'caller-conditional');
  });

  it('a stored response without validators, revalidated and answered 304, is served (§4.3.4, third rule)', async () => {
    const c = clock();
    const o = origin((_req, n) =>
      n === 1
        ? new Response('stored body', { headers: { 'cache-control': 'max-age=0', date: date(c.t) } })
        : notModified({ 'cache-control': 'max-age=60' }),
    );
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).text();
    c.advance(1);
    const res = await f(URL_A);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'stored body');
    assert.deepEqual(status(res), { cache: 'etagkit', fwd: 'stale', fwdStatus: 304 });
    assert.equal(o.seen[1]?.headers.has('if-none-match'), false);
    // The 304's fields were merged: now fresh for a minute.
    assert.equal(status(await f(URL_A))?.hit, true);
  });

  it('a stored response without validators answered by a 304 that names another representation: 502', async () => {
    const c = clock();
    const o = origin((_req, n) =>
      n === 1
        ? new Response('stored body', { headers: { 'cache-control': 'max-age=0', date: date(c.t) } })
        : notModified({ etag: '"other"' }),
    );
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).text();
    c.advance(1);
    await assertRefused(await f(URL_A), 'stale');
  });

  // An unmatched 304 (another strong ETag) is retried without validators (§4.3.4); the retry gets a 304 again.
  const retries: [string, Record<string, string>, 'served' | 'refused'][] = [
    ['with the same other ETag', { etag: '"v2"' }, 'refused'],
    ['without validators (the stored response has some)', {}, 'refused'],
    ["with the stored response's own ETag", { etag: '"v1"' }, 'served'],
  ];
  for (const [name, retryHeaders, outcome] of retries)
    it(`unmatched 304, retried, answered 304 again ${name}: ${outcome}`, async () => {
      const c = clock();
      const o = origin((_req, n) => {
        if (n === 1)
          return new Response('v1 body', {
            headers: { etag: '"v1"', 'cache-control': 'max-age=0', date: date(c.t) },
          });
        return n === 2 ? notModified({ etag: '"v2"' }) : notModified(retryHeaders);
      });
      const f = createFetch({ fetch: o.fetch, now: c.now });
      await (await f(URL_A)).text();
      c.advance(1);
      const res = await f(URL_A);
      assert.equal(o.seen.length, 3);
      assert.equal(o.seen[2]?.headers.has('if-none-match'), false);
      if (outcome === 'refused') await assertRefused(res, 'stale');
      else {
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'v1 body');
      }
    });

  it('HEAD of a stale stored response answered 304: 502, not the bare 304', async () => {
    const c = clock();
    const o = origin((_req, n) =>
      n === 1
        ? new Response('body', { headers: { etag: '"v1"', 'cache-control': 'max-age=0', date: date(c.t) } })
        : notModified({ etag: '"v1"' }),
    );
    const f = createFetch({ fetch: o.fetch, now: c.now });
    await (await f(URL_A)).text();
    c.advance(1);
    await assertRefused(await f(URL_A, { method: 'HEAD' }), 'stale');
  });
});
