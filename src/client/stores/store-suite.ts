/**
 * The one test suite every CacheStore passes (memory, SQLite, Redis, and any store written later). It registers
 * node:test tests and uses fast-check, so it is test-only code: nothing at runtime imports it.
 *
 * @example
 * // stores/my-store.test.ts
 * import { runStoreSuite } from './store-suite.ts';
 * runStoreSuite('myStore', () => myStore(), { bounded: (maxBytes) => myStore({ maxBytes }) });
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import type { CacheStore, StoredResponse } from '../store.ts';

export type MakeStore = () => CacheStore | Promise<CacheStore>;

export interface StoreSuiteOptions {
  /** Makes a store bounded to `maxBytes`, for stores that evict least-recently-used variants. */
  bounded?: (maxBytes: number) => CacheStore | Promise<CacheStore>;
  /** Makes two stores over the same data (two processes or machines), for stores shared between them. */
  twin?: () => Promise<[CacheStore, CacheStore]>;
  /** The store grants every lease (allowed for single-process stores by the CacheStore contract). */
  leasesAlwaysGranted?: boolean;
}

/** A stored response with sensible defaults; `overrides` wins. */
export function sampleEntry(overrides: Partial<StoredResponse> = {}): StoredResponse {
  return {
    key: 'GET https://example.test/resource',
    variant: '',
    status: 200,
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['etag', '"v1"'],
      ['cache-control', 'max-age=60'],
    ],
    varyHeaders: {},
    body: new TextEncoder().encode('hello'),
    requestTime: 1_700_000_000_000,
    responseTime: 1_700_000_000_250,
    ...overrides,
  };
}

/** Compares everything a store must keep, with the body compared as plain bytes. */
function assertSameEntry(actual: StoredResponse | undefined, expected: StoredResponse): void {
  assert.ok(actual, `expected an entry for ${expected.key} / ${JSON.stringify(expected.variant)}`);
  const { body: actualBody, ...actualMeta } = actual;
  const { body: expectedBody, ...expectedMeta } = expected;
  // Compare varyHeaders as plain records: a store may rebuild them with another prototype.
  assert.deepEqual(
    { ...actualMeta, varyHeaders: { ...actualMeta.varyHeaders } },
    { ...expectedMeta, varyHeaders: { ...expectedMeta.varyHeaders } },
  );
  assert.ok(actualBody instanceof Uint8Array, 'body must be a Uint8Array');
  assert.equal(actualBody.byteLength, expectedBody.byteLength, 'body length');
  assert.ok(Buffer.from(actualBody).equals(Buffer.from(expectedBody)), 'body bytes differ');
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Registers the shared CacheStore tests under `describe(name)`. "Newest first" means the newest response
 * (largest responseTime) first, and among equal times the latest put first.
 */
export function runStoreSuite(name: string, makeStore: MakeStore, options: StoreSuiteOptions = {}): void {
  const open: CacheStore[] = [];
  let counter = 0;
  /** A fresh store per test, closed after the suite, and a key no other test uses. */
  const fresh = async () => {
    const store = await makeStore();
    open.push(store);
    return { store, key: `GET https://example.test/${name}/${++counter}` };
  };
  describe(`${name}: CacheStore contract`, () => {
    after(async () => {
      await Promise.allSettled(open.map((s) => s.close()));
    });

    test('get of a key never stored resolves to []', async () => {
      const { store, key } = await fresh();
      assert.deepEqual(await store.get(key), []);
    });

    test('round trip keeps status, headers in order (repeated names too), varyHeaders and times', async () => {
      const { store, key } = await fresh();
      const entry = sampleEntry({
        key,
        variant: 'accept-language=fr',
        status: 203,
        headers: [
          ['set-cookie', 'a=1'],
          ['content-type', 'text/html'],
          ['set-cookie', 'b=2'],
          ['x-latin1', 'caf\u00e9 \u00ff'],
          ['x-empty', ''],
        ],
        varyHeaders: { 'accept-language': 'fr', 'accept-encoding': '' },
        requestTime: 1,
        responseTime: 2 ** 41,
      });
      await store.put(entry);
      const [got, ...rest] = await store.get(key);
      assert.equal(rest.length, 0);
      assertSameEntry(got, entry);
    });

    test('binary body with all 256 byte values, from a view into a larger buffer', async () => {
      const { store, key } = await fresh();
      const backing = new Uint8Array(300);
      for (let i = 0; i < 256; i++) backing[i + 10] = i;
      const entry = sampleEntry({ key, body: backing.subarray(10, 266) });
      await store.put(entry);
      assertSameEntry((await store.get(key))[0], entry);
    });

    test('empty body', async () => {
      const { store, key } = await fresh();
      const entry = sampleEntry({ key, status: 204, body: new Uint8Array(0) });
      await store.put(entry);
      assertSameEntry((await store.get(key))[0], entry);
    });

    test('1 MB body', async () => {
      const { store, key } = await fresh();
      const body = new Uint8Array(1024 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;
      const entry = sampleEntry({ key, body });
      await store.put(entry);
      assertSameEntry((await store.get(key))[0], entry);
    });

    test('keys are exact: a key is not a prefix match of another, unicode keys work', async () => {
      const { store, key } = await fresh();
      const a = sampleEntry({ key, body: new Uint8Array([1]) });
      const b = sampleEntry({ key: `${key}/sub`, body: new Uint8Array([2]) });
      const c = sampleEntry({ key: `${key}?q=\u00e9t\u00e9 \u{1f600}`, body: new Uint8Array([3]) });
      await Promise.all([store.put(a), store.put(b), store.put(c)]);
      assertSameEntry((await store.get(a.key))[0], a);
      assertSameEntry((await store.get(b.key))[0], b);
      assertSameEntry((await store.get(c.key))[0], c);
      assert.equal((await store.get(a.key)).length, 1);
    });

    test('a get issued right after put (not awaited) sees the entry', async () => {
      const { store, key } = await fresh();
      const entry = sampleEntry({ key });
      const written = store.put(entry);
      const got = await store.get(key);
      await written;
      assertSameEntry(got[0], entry);
    });

    test('variants of one key: newest first; a put replaces the same variant (RFC 9111 §4.1)', async () => {
      const { store, key } = await fresh();
      const en = sampleEntry({ key, variant: 'en', varyHeaders: { 'accept-language': 'en' } });
      const fr = sampleEntry({ key, variant: 'fr', varyHeaders: { 'accept-language': 'fr' } });
      await store.put(en);
      await store.put(fr);
      assert.deepEqual(
        (await store.get(key)).map((e) => e.variant),
        ['fr', 'en'],
      );
      const en2 = { ...en, body: new TextEncoder().encode('hello again'), responseTime: en.responseTime + 1 };
      await store.put(en2);
      const got = await store.get(key);
      assert.deepEqual(
        got.map((e) => e.variant),
        ['en', 'fr'],
      );
      assertSameEntry(got[0], en2);
      assertSameEntry(got[1], fr);
    });

    test('variants: a response older than a stored one (smaller responseTime) is put after it', async () => {
      const { store, key } = await fresh();
      await store.put(sampleEntry({ key, variant: 'new', responseTime: 2_000 }));
      await store.put(sampleEntry({ key, variant: 'old', responseTime: 1_000 }));
      await store.put(sampleEntry({ key, variant: 'tie', responseTime: 2_000 }));
      assert.deepEqual(
        (await store.get(key)).map((e) => e.variant),
        ['tie', 'new', 'old'],
      );
    });

    test('delete removes every variant of the key and nothing else (RFC 9111 §4.4)', async () => {
      const { store, key } = await fresh();
      const other = sampleEntry({ key: `${key}-other` });
      await store.put(sampleEntry({ key, variant: 'a' }));
      await store.put(sampleEntry({ key, variant: 'b' }));
      await store.put(other);
      await store.delete(key);
      assert.deepEqual(await store.get(key), []);
      assertSameEntry((await store.get(other.key))[0], other);
      await store.delete(`${key}-never-stored`);
      const again = sampleEntry({ key, variant: 'c' });
      await store.put(again);
      assertSameEntry((await store.get(key))[0], again);
    });

    test('deletePrefix (where a store has it) removes the keys under the prefix and nothing else', async () => {
      const { store, key: base } = await fresh();
      if (!store.deletePrefix) return;
      const keys = [`${base}/p/1`, `${base}/p/2`, `${base}/p*/3`, `${base}/q/1`];
      for (const key of keys) await store.put(sampleEntry({ key }));
      await store.put(sampleEntry({ key: keys[0], variant: 'b' }));
      assert.equal(await store.deletePrefix(`${base}/p/`), 2);
      assert.deepEqual(await store.get(keys[0]!), []);
      assert.equal((await store.get(keys[2]!)).length, 1);
      assert.equal((await store.get(keys[3]!)).length, 1);
      assert.equal(await store.deletePrefix(`${base}/p*`), 1);
    });

    test('delete right after a put that was not awaited wins', async () => {
      const { store, key } = await fresh();
      const written = store.put(sampleEntry({ key }));
      await store.delete(key);
      await written;
      assert.deepEqual(await store.get(key), []);
    });

    test('concurrent puts lose nothing', async () => {
      const { store, key } = await fresh();
      const entries: StoredResponse[] = [];
      for (let k = 0; k < 10; k++) {
        for (let v = 0; v < 5; v++) {
          entries.push(sampleEntry({ key: `${key}/${k}`, variant: `v${v}`, body: new Uint8Array([k, v]) }));
        }
      }
      await Promise.all(entries.map((e) => store.put(e)));
      for (let k = 0; k < 10; k++) {
        const got = await store.get(`${key}/${k}`);
        assert.deepEqual(got.map((e) => e.variant).sort(), ['v0', 'v1', 'v2', 'v3', 'v4']);
        for (const e of got) assert.deepEqual([...e.body], [k, Number(e.variant.slice(1))]);
      }
    });

    test('property: any entry round-trips exactly', async () => {
      const { store, key } = await fresh();
      const latin1 = fc.string({
        unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
      });
      const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
      const entryArb = fc.record({
        key: fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => `${key}/${s}`),
        variant: fc.string({ unit: 'grapheme', maxLength: 20 }),
        status: fc.integer({ min: 200, max: 599 }),
        headers: fc.array(fc.tuple(token, latin1), { maxLength: 8 }),
        varyHeaders: fc.dictionary(token, latin1, { maxKeys: 3 }),
        body: fc.uint8Array({ maxLength: 2048 }),
        requestTime: fc.integer({ min: 0, max: 2 ** 45 }),
        responseTime: fc.integer({ min: 0, max: 2 ** 45 }),
      });
      await fc.assert(
        fc.asyncProperty(entryArb, async (entry) => {
          await store.delete(entry.key);
          await store.put(entry);
          const got = await store.get(entry.key);
          assert.equal(got.length, 1);
          assertSameEntry(got[0], entry);
        }),
        { numRuns: 60 },
      );
    });

    leaseTests(fresh, options);
    if (options.bounded) evictionTests(name, options.bounded, open);
    if (options.twin) twinTests(name, options.twin, open);

    test('close resolves, also when called twice', async () => {
      const store = await makeStore();
      await store.put(sampleEntry());
      await store.close();
      await store.close();
    });
  });
}

function leaseTests(
  fresh: () => Promise<{ store: CacheStore; key: string }>,
  options: StoreSuiteOptions,
): void {
  if (options.leasesAlwaysGranted) {
    test('lease is granted and can be released', async () => {
      const { store, key } = await fresh();
      assert.equal(await store.lease(key, 50), true);
      await store.release(key);
      await store.release(key); // releasing twice is harmless
    });
    return;
  }
  test('lease is exclusive until released; keys are independent', async () => {
    const { store, key } = await fresh();
    assert.equal(await store.lease(key, 10_000), true);
    assert.equal(await store.lease(key, 10_000), false);
    assert.equal(await store.lease(`${key}-other`, 10_000), true);
    await store.release(key);
    assert.equal(await store.lease(key, 10_000), true);
    await store.release(key);
    await store.release(key); // releasing twice is harmless
    await store.release(`${key}-other`);
  });

  test('lease expires after its ttl', async () => {
    const { store, key } = await fresh();
    assert.equal(await store.lease(key, 40), true);
    assert.equal(await store.lease(key, 40), false);
    await wait(80);
    assert.equal(await store.lease(key, 40), true);
  });

  test('concurrent lease attempts: exactly one wins', async () => {
    const { store, key } = await fresh();
    const results = await Promise.all(Array.from({ length: 10 }, () => store.lease(key, 10_000)));
    assert.equal(results.filter(Boolean).length, 1);
    await store.release(key);
  });
}

function evictionTests(name: string, bounded: NonNullable<StoreSuiteOptions['bounded']>, open: CacheStore[]) {
  const make = async (maxBytes: number) => {
    const store = await bounded(maxBytes);
    open.push(store);
    return store;
  };
  const kb = (n: number, fill: number) => new Uint8Array(n * 1024).fill(fill);

  test('maxBytes: least-recently-used variants are evicted first', async () => {
    const store = await make(40 * 1024);
    const key = `GET https://example.test/${name}/lru`;
    await store.put(sampleEntry({ key: `${key}/a`, body: kb(12, 1) }));
    await store.put(sampleEntry({ key: `${key}/b`, body: kb(12, 2) }));
    await store.put(sampleEntry({ key: `${key}/c`, body: kb(12, 3) }));
    assert.equal((await store.get(`${key}/a`)).length, 1); // a is now more recent than b
    await store.put(sampleEntry({ key: `${key}/d`, body: kb(12, 4) }));
    assert.equal((await store.get(`${key}/b`)).length, 0, 'b, least recently used, is evicted');
    for (const k of ['a', 'c', 'd']) assert.equal((await store.get(`${key}/${k}`)).length, 1, `${k} is kept`);
  });

  test('maxBytes: an entry larger than the whole store is not kept and evicts nothing', async () => {
    const store = await make(20 * 1024);
    const key = `GET https://example.test/${name}/huge`;
    const small = sampleEntry({ key: `${key}/small`, body: kb(2, 1) });
    await store.put(small);
    await store.put(sampleEntry({ key, body: kb(40, 9) }));
    assert.deepEqual(await store.get(key), []);
    assertSameEntry((await store.get(small.key))[0], small);
  });
}

function twinTests(name: string, twin: NonNullable<StoreSuiteOptions['twin']>, open: CacheStore[]) {
  const pair = async () => {
    const stores = await twin();
    open.push(...stores);
    return stores;
  };
  let n = 0;
  const keyOf = () => `GET https://example.test/${name}/twin/${++n}`;

  test('shared: an entry put by one is seen by the other; delete is shared', async () => {
    const [a, b] = await pair();
    const key = keyOf();
    const entry = sampleEntry({ key });
    await a.put(entry);
    assertSameEntry((await b.get(key))[0], entry);
    await b.delete(key);
    assert.deepEqual(await a.get(key), []);
  });

  test('shared: concurrent puts of different variants from both are all kept', async () => {
    const [a, b] = await pair();
    const key = keyOf();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).put(sampleEntry({ key, variant: `v${i}`, body: new Uint8Array([i]) })),
      ),
    );
    assert.equal((await a.get(key)).length, 20);
    assert.equal((await b.get(key)).length, 20);
  });

  test('shared: a lease held by one is refused to the other, and only its holder can release it', async () => {
    const [a, b] = await pair();
    const key = keyOf();
    assert.equal(await a.lease(key, 10_000), true);
    assert.equal(await b.lease(key, 10_000), false);
    await b.release(key); // b does not hold it: no effect
    assert.equal(await b.lease(key, 10_000), false);
    await a.release(key);
    assert.equal(await b.lease(key, 10_000), true);
    await b.release(key);
  });
}
