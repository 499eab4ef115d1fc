/**
 * createFetch and its store when things go wrong: an unusable entry is a miss, Cache-Status never claims `stored`
 * for a response that was not stored, and a failing store says so (once on stderr, or to onStoreError).
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { createFetch, type DecisionMessage } from './fetch.ts';
import type { CacheStore, StoredResponse } from './store.ts';
import { memoryStore } from './stores/memory.ts';
import { origin, status } from './test-origin.ts';

const URL_A = 'http://origin.test/a';
const URL_B = 'http://origin.test/b';
const fresh = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Response(body, { headers: { 'cache-control': 'max-age=60', ...headers } });

/** A store that always fails. */
const broken = (): CacheStore => {
  const fail = () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379'));
  return { get: fail, put: fail, delete: fail, lease: fail, release: fail, close: async () => {} };
};

/** Resolves with the next decision published for `url` with the given name (rejects if none comes in 10 s). */
function nextDecision(url: string, decision: string): Promise<DecisionMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe('etagkit:client:decision', listen);
      reject(new Error(`no "${decision}" decision was published for ${url}`));
    }, 10_000);
    const listen = (m: unknown) => {
      const message = m as DecisionMessage;
      if (message.url !== url || message.decision !== decision) return;
      unsubscribe('etagkit:client:decision', listen);
      clearTimeout(timer);
      resolve(message);
    };
    subscribe('etagkit:client:decision', listen);
  });
}

describe('createFetch: an unusable stored entry is a miss', () => {
  it('an entry with status 600 or a CRLF in a header: the origin answers, the entry goes, other keys still hit', async () => {
    const inner = memoryStore();
    const o = origin((req) => fresh(`body of ${req.url}`));
    const f = createFetch({ fetch: o.fetch, store: inner, onStoreError: () => {} });
    await (await f(URL_B)).text();
    const base: StoredResponse = (await inner.get(`GET ${URL_B}`))[0]!;
    for (const fault of [{ status: 600 }, { headers: [['x-a', 'a\r\nb']] as [string, string][] }]) {
      await inner.put({ ...base, key: `GET ${URL_A}`, ...fault });
      const res = await f(URL_A);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), `body of ${URL_A}`);
      assert.equal(status(res)?.fwd, 'uri-miss');
      assert.equal(status(await f(URL_B))?.hit, true, 'the store is not bypassed');
      assert.equal(status(await f(URL_A))?.hit, true, 'the response stored in its place hits');
      await inner.delete(`GET ${URL_A}`);
    }
  });
});

describe('createFetch: Cache-Status says `stored` only of what was stored', () => {
  it('a body that fails midway: not stored, and Cache-Status says so once the body has failed', async () => {
    const o = origin(() =>
      fresh(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('partial'));
            controller.error(new Error('connection reset'));
          },
        }),
      ),
    );
    const f = createFetch({ fetch: o.fetch });
    const notStored = nextDecision(URL_A, 'not-stored');
    const res = await f(URL_A);
    await assert.rejects(res.text());
    await notStored;
    assert.equal(status(res)?.stored, undefined);
    assert.equal(status(res)?.detail, 'not-stored-body-failed');
    assert.equal(status(await f(URL_A))?.fwd, 'uri-miss');
  });

  it('a body over maxEntryBytes without Content-Length: detail=not-stored-too-large', async () => {
    const o = origin(() =>
      fresh(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new Uint8Array(100));
            controller.close();
          },
        }),
      ),
    );
    const f = createFetch({ fetch: o.fetch, maxEntryBytes: 10 });
    const res = await f(URL_A);
    assert.equal((await res.arrayBuffer()).byteLength, 100);
    await nextDecision(URL_A, 'not-stored');
    assert.deepEqual(status(res), {
      cache: 'etagkit',
      fwd: 'uri-miss',
      fwdStatus: 200,
      detail: 'not-stored-too-large',
    });
  });

  it('a body shorter than its Content-Length: detail=not-stored-truncated', async () => {
    const o = origin(() => fresh('abc', { 'content-length': '10' }));
    const f = createFetch({ fetch: o.fetch });
    const notStored = nextDecision(URL_A, 'not-stored');
    const res = await f(URL_A);
    await res.text();
    await notStored;
    assert.equal(status(res)?.detail, 'not-stored-truncated');
  });

  it('a store whose put fails: detail=not-stored-store-error; a complete write publishes `stored`', async () => {
    const failingPut = { ...memoryStore(), put: () => Promise.reject(new Error('disk full')) };
    const o = origin(() => fresh('x', { 'cache-status': 'upstream; hit' }));
    const f = createFetch({ fetch: o.fetch, store: failingPut, onStoreError: () => {} });
    const notStored = nextDecision(URL_A, 'not-stored');
    const res = await f(URL_A);
    await res.text();
    await notStored;
    assert.match(
      res.headers.get('cache-status') ?? '',
      /^upstream; hit, etagkit; fwd=uri-miss; fwd-status=200; detail=not-stored-store-error$/,
    );
    const ok = createFetch({ fetch: o.fetch });
    const stored = nextDecision(URL_B, 'stored');
    await (await ok(URL_B)).text();
    assert.match((await stored).cacheStatus, /; stored/);
  });
});

describe('createFetch: a failing store says why', () => {
  it('onStoreError hears every failure with the operation and key', async () => {
    const heard: string[] = [];
    const o = origin(() => fresh('x'));
    const f = createFetch({
      fetch: o.fetch,
      store: broken(),
      onStoreError: (error, { op, key }) => heard.push(`${op} ${key}: ${(error as Error).message}`),
    });
    await (await f(URL_A)).text();
    assert.deepEqual(heard, [`get GET ${URL_A}: ECONNREFUSED 127.0.0.1:6379`]);
  });

  it('without onStoreError, the first failure of a store is one process warning, once per store', async () => {
    const warnings: Error[] = [];
    const listen = (w: Error) => warnings.push(w);
    process.on('warning', listen);
    try {
      const store = broken();
      const o = origin(() => fresh('x'));
      const first = once(process, 'warning', { signal: AbortSignal.timeout(10_000) });
      await (await createFetch({ fetch: o.fetch, store })(URL_A)).text();
      await first;
      // A second fetch on the same store, after the bypass window: still one warning for this store.
      const later = createFetch({ fetch: o.fetch, store, now: () => Date.now() + 60_000 });
      await (await later(URL_B)).text();
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'ETAGKIT_STORE_ERROR');
      assert.equal(ours.length, 1);
      assert.match(
        ours[0]!.message,
        /the cache store failed \(get of GET http:\/\/origin\.test\/a\): ECONNREFUSED/,
      );
      assert.match(ours[0]!.message, /pass onStoreError/);
    } finally {
      process.off('warning', listen);
    }
  });
});
