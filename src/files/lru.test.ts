import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Lru } from './lru.ts';

test('a count-bounded cache never holds more than its limit and evicts the oldest unused entry first', () => {
  const lru = new Lru<number, string>(3);
  for (const k of [1, 2, 3]) lru.set(k, `v${k}`);
  lru.get(1); // used since it was stored: survives the next eviction
  lru.set(4, 'v4');
  assert.equal(lru.size, 3);
  assert.equal(lru.get(2), undefined, 'the oldest unused entry went');
  assert.deepEqual([lru.get(1), lru.get(3), lru.get(4)], ['v1', 'v3', 'v4']);
});

test('a weight-bounded cache keeps the sum of weights within budget and refuses a single oversized entry', () => {
  const lru = new Lru<string, Uint8Array>(100, (v) => v.byteLength);
  lru.set('a', new Uint8Array(60));
  lru.set('b', new Uint8Array(30));
  lru.set('c', new Uint8Array(30)); // 120 > 100: "a", the oldest, goes
  assert.equal(lru.weight, 60);
  assert.equal(lru.get('a'), undefined);
  lru.set('huge', new Uint8Array(101));
  assert.equal(lru.get('huge'), undefined);
  assert.equal(lru.weight, 60, 'refusing it evicted nothing');
});

test('replacing and deleting keep the weight exact; reweigh follows a value that grew', () => {
  const value = { size: 10 };
  const lru = new Lru<string, { size: number }>(50, (v) => v.size);
  lru.set('x', value);
  lru.set('x', { size: 20 });
  assert.equal(lru.weight, 20);
  lru.set('y', value);
  value.size = 40;
  lru.reweigh('y'); // 60 > 50: "x" (older, unused) goes
  assert.equal(lru.weight, 40);
  assert.equal(lru.get('x'), undefined);
  assert.ok(lru.delete('y'));
  assert.equal(lru.weight, 0);
  assert.equal(lru.size, 0);
});

test('no full clear: with 20,000 keys through a 10,000-entry cache, a hot set of 1,000 stays cached', () => {
  const lru = new Lru<string, number>(10_000);
  const hot = Array.from({ length: 1000 }, (_, i) => `hot/${i}`);
  for (const k of hot) lru.set(k, 1);
  for (let i = 0; i < 20_000; i++) {
    lru.set(`cold/${i}`, 1);
    lru.get(hot[i % hot.length]!);
    assert.ok(lru.size <= 10_000);
  }
  assert.equal(hot.filter((k) => lru.get(k) !== undefined).length, hot.length);
  assert.equal(lru.size, 10_000);
});

test('property: any sequence of operations keeps weight = sum of held weights ≤ budget', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('set', 'get', 'delete'), fc.nat(20), fc.nat(40)), { maxLength: 200 }),
      (ops) => {
        const lru = new Lru<number, number>(100, (v) => v);
        const model = new Map<number, number>();
        for (const [op, key, weight] of ops) {
          if (op === 'set') lru.set(key, weight);
          else if (op === 'get') lru.get(key);
          else lru.delete(key);
        }
        for (let k = 0; k <= 20; k++) {
          const v = lru.get(k);
          if (v !== undefined) model.set(k, v);
        }
        const sum = [...model.values()].reduce((a, b) => a + b, 0);
        assert.equal(lru.weight, sum);
        assert.ok(sum <= 100);
        assert.equal(lru.size, model.size);
      },
    ),
  );
});
