import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredResponse } from '../store.ts';
import { entrySize, memoryStore } from './memory.ts';
import { runStoreSuite } from './store-suite.ts';

const entry = (key: string, variant = '', responseTime = 1, bodySize = 10): StoredResponse => ({
  key,
  variant,
  status: 200,
  headers: [['etag', '"a"']],
  varyHeaders: {},
  body: new Uint8Array(bodySize),
  requestTime: responseTime,
  responseTime,
});

describe('memoryStore', () => {
  it('returns [] for a missing key', async () => {
    assert.deepEqual(await memoryStore().get('nope'), []);
  });
  it('keeps variants newest first and replaces the same variant', async () => {
    const store = memoryStore();
    await store.put(entry('k', 'a', 1));
    await store.put(entry('k', 'b', 2));
    await store.put(entry('k', 'a', 3));
    assert.deepEqual(
      (await store.get('k')).map((e) => [e.variant, e.responseTime]),
      [
        ['a', 3],
        ['b', 2],
      ],
    );
  });
  it('delete removes every variant', async () => {
    const store = memoryStore();
    await store.put(entry('k', 'a'));
    await store.put(entry('k', 'b'));
    await store.delete('k');
    assert.deepEqual(await store.get('k'), []);
    assert.equal(store.bytes, 0);
  });
  it('evicts the least recently used key when over maxBytes', async () => {
    const one = entrySize(entry('a'));
    const store = memoryStore({ maxBytes: one * 2 });
    await store.put(entry('a'));
    await store.put(entry('b'));
    await store.get('a'); // a is now more recent than b
    await store.put(entry('c'));
    assert.equal((await store.get('b')).length, 0);
    assert.equal((await store.get('a')).length, 1);
    assert.equal((await store.get('c')).length, 1);
    assert.ok(store.bytes <= one * 2);
  });
  it('keeps the recency order when the most recent key is read again, deleted and put back', async () => {
    const one = entrySize(entry('a'));
    const store = memoryStore({ maxBytes: one * 2 });
    await store.put(entry('a'));
    await store.get('a');
    await store.get('a'); // a is the most recent key already: nothing moves
    await store.put(entry('b'));
    await store.delete('b');
    await store.put(entry('b')); // b, deleted while most recent, is put back as the most recent
    await store.get('a'); // now a is
    await store.put(entry('c'));
    assert.deepEqual(await store.get('b'), []);
    assert.equal((await store.get('a')).length, 1);
    assert.equal((await store.get('c')).length, 1);
  });
  it('never stores an entry larger than the whole budget', async () => {
    const store = memoryStore({ maxBytes: 1000 });
    await store.put(entry('big', '', 1, 5000));
    assert.deepEqual(await store.get('big'), []);
  });
  it('leases are exclusive until released or expired (injected clock)', async () => {
    let t = 0;
    const store = memoryStore({ now: () => t });
    assert.equal(await store.lease('k', 100), true);
    assert.equal(await store.lease('k', 100), false);
    t = 101;
    assert.equal(await store.lease('k', 100), true);
    await store.release('k');
    assert.equal(await store.lease('k', 100), true);
  });
  it('rejects a non-positive maxBytes with the value in the message', () => {
    assert.throws(() => memoryStore({ maxBytes: 0 }), /maxBytes must be a positive number, got 0/);
  });
});

runStoreSuite('memoryStore', () => memoryStore(), { bounded: (maxBytes) => memoryStore({ maxBytes }) });
