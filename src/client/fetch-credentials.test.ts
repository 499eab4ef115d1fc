/**
 * One user's cached response never reaches another: a private cache keys entries by a digest of the request's
 * credentials (Authorization, Cookie) unless told that it acts for a single user; the store never sees them in
 * clear.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFetch } from './fetch.ts';
import type { CacheStore, StoredResponse } from './store.ts';
import { memoryStore } from './stores/memory.ts';
import { clock, date, origin, status, T0 } from './test-origin.ts';

const URL_A = 'http://origin.test/me';

/** Answers each request with a body naming the credentials it carried. */
function personalOrigin(headers: Record<string, string>) {
  return origin(
    (req) =>
      new Response(`for ${req.headers.get('authorization') ?? req.headers.get('cookie') ?? 'anonymous'}`, {
        headers: { date: date(T0), ...headers },
      }),
  );
}

const bearer = (who: string) => ({ headers: { authorization: `Bearer ${who}` } });

async function body(f: typeof fetch, init?: RequestInit) {
  const res = await f(URL_A, init);
  return { text: await res.text(), status: status(res) };
}

describe('createFetch: a private cache keeps each set of credentials apart', () => {
  // Responses a private cache may store (RFC 9111 §3, §3.5 applies to shared caches only).
  const storable: [string, Record<string, string>][] = [
    ['Cache-Control: private, max-age=60 (§5.2.2.7)', { 'cache-control': 'private, max-age=60' }],
    ['Cache-Control: max-age=60 (§5.2.2.1)', { 'cache-control': 'max-age=60' }],
    ['heuristically fresh: Last-Modified a day ago (§4.2.2)', { 'last-modified': date(T0 - 86_400_000) }],
  ];
  for (const [name, headers] of storable) {
    it(`${name}: Bearer A's response answers A, never B nor an anonymous request`, async () => {
      const o = personalOrigin(headers);
      const f = createFetch({ fetch: o.fetch, now: clock().now });
      assert.equal((await body(f, bearer('A'))).text, 'for Bearer A');
      const b = await body(f, bearer('B'));
      assert.equal(b.text, 'for Bearer B');
      assert.equal(b.status?.fwd, 'uri-miss');
      assert.equal((await body(f)).text, 'for anonymous');
      const again = await body(f, bearer('A'));
      assert.equal(again.text, 'for Bearer A');
      assert.equal(again.status?.hit, true);
      assert.equal((await body(f, bearer('B'))).status?.hit, true);
      assert.equal((await body(f)).status?.hit, true);
      assert.equal(o.seen.length, 3);
    });
  }

  it('Cookie partitions too', async () => {
    const o = personalOrigin({ 'cache-control': 'max-age=60' });
    const f = createFetch({ fetch: o.fetch, now: clock().now });
    assert.equal((await body(f, { headers: { cookie: 'session=1' } })).text, 'for session=1');
    assert.equal((await body(f, { headers: { cookie: 'session=2' } })).text, 'for session=2');
    assert.equal((await body(f, { headers: { cookie: 'session=1' } })).status?.hit, true);
    assert.equal(o.seen.length, 2);
  });

  it('partitionByCredentials: false (one user per process): credentials share the cache', async () => {
    const o = personalOrigin({ 'cache-control': 'max-age=60' });
    const f = createFetch({ fetch: o.fetch, now: clock().now, partitionByCredentials: false });
    await body(f, bearer('A'));
    const b = await body(f, bearer('B'));
    assert.equal(b.text, 'for Bearer A');
    assert.equal(b.status?.hit, true);
  });

  it('a shared cache does not partition by default: an authenticated response it may store is shared (§3.5)', async () => {
    const o = personalOrigin({ 'cache-control': 'public, max-age=60' });
    const f = createFetch({ fetch: o.fetch, now: clock().now, shared: true });
    await body(f, bearer('A'));
    assert.equal((await body(f, bearer('B'))).status?.hit, true);
    const partitioned = createFetch({ fetch: o.fetch, shared: true, partitionByCredentials: true });
    await body(partitioned, bearer('A'));
    assert.equal((await body(partitioned, bearer('B'))).status?.fwd, 'uri-miss');
  });

  it('an unsafe request invalidates the entries of its own credentials (§4.4)', async () => {
    const o = origin((req) =>
      req.method === 'POST'
        ? new Response(null, { status: 204 })
        : new Response(`v${req.headers.get('authorization')}`, {
            headers: { 'cache-control': 'max-age=60' },
          }),
    );
    const f = createFetch({ fetch: o.fetch });
    await body(f, bearer('A'));
    await body(f, bearer('B'));
    await (await f(URL_A, { method: 'POST', ...bearer('A') })).arrayBuffer();
    assert.equal((await body(f, bearer('A'))).status?.fwd, 'uri-miss');
    assert.equal((await body(f, bearer('B'))).status?.hit, true);
  });

  it('the store never sees credentials in clear, in keys nor in Vary-selected values', async () => {
    const o = personalOrigin({ 'cache-control': 'max-age=60', vary: 'Authorization, Cookie' });
    const written: { key: string; entry?: StoredResponse }[] = [];
    const inner = memoryStore();
    const store: CacheStore = {
      ...inner,
      get: (key) => {
        written.push({ key });
        return inner.get(key);
      },
      put: (entry) => {
        written.push({ key: entry.key, entry });
        return inner.put(entry);
      },
    };
    const f = createFetch({ fetch: o.fetch, store, now: clock().now });
    const secret = { headers: { authorization: 'Bearer s3cret-token', cookie: 'sid=hunter2' } };
    await body(f, secret);
    assert.equal((await body(f, secret)).status?.hit, true);
    assert.equal(
      (await body(f, { headers: { authorization: 'Bearer other', cookie: 'sid=hunter2' } })).text,
      'for Bearer other',
    );
    const everything = JSON.stringify(
      written.map(({ key, entry }) => ({ key, entry: entry && { ...entry, body: null } })),
    );
    assert.ok(
      written.some((w) => w.entry),
      'something was stored',
    );
    for (const clear of ['s3cret-token', 'hunter2'])
      assert.ok(!everything.includes(clear), `${clear} reached the store`);
  });
});
