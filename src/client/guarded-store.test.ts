import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guardStore, STORE_RETRY_MS, StoreUnavailable } from './guarded-store.ts';
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
});
