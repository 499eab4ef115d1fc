import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guardStore, STORE_RETRY_MS, StoreUnavailable, UnusableEntry } from './guarded-store.ts';
import type { CacheStore, StoredResponse } from './store.ts';
import { memoryStore } from './stores/memory.ts';

const entry: StoredResponse = {
  key: 'k',
  variant: '',
  status: 200,
  headers: [],
  varyHeaders: {},
  body: new Uint8Array(1),
  requestTime: 0,
  responseTime: 0,
};
const failing = (): CacheStore => {
  const fail = () => Promise.reject(new Error('down'));
  return { get: fail, put: fail, delete: fail, lease: fail, release: fail, close: async () => {} };
};

describe('guardStore', () => {
  it('writes never reject; failures are reported with the key and operation', async () => {
    const errors: string[] = [];
    const g = guardStore(
      failing(),
      () => 0,
      (key, op) => errors.push(`${op}:${key}`),
    );
    await g.put(entry);
    await g.delete('k');
    await g.release('k');
    assert.deepEqual(errors, ['put:k', 'delete:k', 'release:k']);
  });

  it('a lookup that fails rejects with StoreUnavailable, then the store is bypassed for a while', async () => {
    let t = 0;
    let gets = 0;
    const store = {
      ...failing(),
      get: () => {
        gets++;
        return Promise.reject(new Error('down'));
      },
    };
    const g = guardStore(
      store,
      () => t,
      () => {},
    );
    await assert.rejects(g.get('k'), (e) => e instanceof StoreUnavailable && e.reason === 'store-error');
    await assert.rejects(g.get('k'), (e) => e instanceof StoreUnavailable && e.reason === 'store-down');
    assert.equal(gets, 1);
    t = STORE_RETRY_MS;
    await assert.rejects(g.get('k'), (e) => e instanceof StoreUnavailable && e.reason === 'store-error');
    assert.equal(gets, 2);
  });

  it('a store whose get throws synchronously fails the lookup with StoreUnavailable too', async () => {
    const errors: string[] = [];
    const store: CacheStore = {
      ...failing(),
      get: () => {
        throw new Error('broken');
      },
    };
    const g = guardStore(
      store,
      () => 0,
      (key, op) => errors.push(`${op} ${key}`),
    );
    await assert.rejects(g.get('k'), (e) => e instanceof StoreUnavailable && e.reason === 'store-error');
    assert.deepEqual(errors, ['get k']);
  });

  it('a lookup behind a tracked write that rejects fails with StoreUnavailable', async () => {
    const g = guardStore(
      memoryStore(),
      () => 0,
      () => {},
    );
    const write = Promise.reject(new Error('lost'));
    g.track('k', write);
    await assert.rejects(g.get('k'), (e) => e instanceof StoreUnavailable && e.reason === 'store-error');
  });

  it('a lease the store cannot give is granted (revalidating twice beats never)', async () => {
    const g = guardStore(
      failing(),
      () => 0,
      () => {},
    );
    assert.equal(await g.lease('k', 1000), true);
  });

  it('while the store is bypassed, a lease is granted without asking it', async () => {
    let leases = 0;
    const lease = () => {
      leases++;
      return Promise.reject(new Error('down'));
    };
    const store = { ...failing(), lease };
    const g = guardStore(
      store,
      () => 0,
      () => {},
    );
    assert.equal(await g.lease('k', 1000), true);
    assert.equal(await g.lease('k', 1000), true);
    assert.equal(leases, 1, 'the failure put the store aside; the second lease did not wait on it');
  });

  it('a lookup waits for a tracked write of its key', async () => {
    const store = memoryStore();
    const g = guardStore(
      store,
      () => 0,
      () => {},
    );
    let finish: () => void = () => {};
    g.track(
      'k',
      new Promise<void>((resolve) => (finish = resolve)).then(() => store.put(entry)),
    );
    const lookup = g.get('k');
    finish();
    assert.equal((await lookup).length, 1);
  });

  // Entries a store may hand back that cannot become a Response (written by another program, an older or newer
  // etagkit, or a custom store with a bug). Each is a miss for its key, which is deleted; the store stays in use.
  const unusable: [string, Partial<Record<keyof StoredResponse, unknown>>][] = [
    ['status 199 (not final)', { status: 199 }],
    ['status 600', { status: 600 }],
    ['status 304 (never stored as such, RFC 9111 §4.3.4)', { status: 304 }],
    ['status 206 (never stored as such, RFC 9111 §3.3)', { status: 206 }],
    ['status "200" (a string)', { status: '200' }],
    ['an invalid header name', { headers: [['bad name', 'x']] }],
    ['CRLF in a header value', { headers: [['x-a', 'a\r\nset-cookie: evil=1']] }],
    ['a NUL in a header value', { headers: [['x-a', 'a\0b']] }],
    ['a header value beyond latin-1', { headers: [['x-a', '\u20ac']] }],
    ['headers that are not a list', { headers: { etag: '"x"' } }],
    ['a header line that is not a pair', { headers: [['etag']] }],
    ['varyHeaders null', { varyHeaders: null }],
    ['a body that is not bytes', { body: 'text' }],
    ['responseTime NaN', { responseTime: Number.NaN }],
    ['another key', { key: 'other' }],
  ];
  for (const [name, fault] of unusable)
    it(`an entry with ${name}: a miss, deleted and reported; the store is not bypassed`, async () => {
      const good = { ...entry, variant: 'good' };
      const bad = { ...entry, variant: 'bad', ...fault } as StoredResponse;
      const deleted: string[] = [];
      let gets = 0;
      const store: CacheStore = {
        ...failing(),
        get: async () => {
          gets++;
          return deleted.length ? [good] : [bad, good];
        },
        delete: async (key) => {
          deleted.push(key);
        },
      };
      const errors: unknown[] = [];
      const g = guardStore(
        store,
        () => 0,
        (_key, _op, error) => errors.push(error),
      );
      assert.deepEqual(await g.get('k'), [good]);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof UnusableEntry);
      assert.match((errors[0] as Error).message, /unusable entry for k/);
      assert.deepEqual(await g.get('k'), [good], 'the next lookup asks the store again');
      assert.deepEqual(deleted, ['k']);
      assert.equal(gets, 2);
    });
});
