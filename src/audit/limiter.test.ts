import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostLimiter, hostKey, mapLimit } from './limiter.ts';

test('hostKey: scheme, lower-cased name and explicit port', () => {
  assert.equal(hostKey(new URL('http://Example.com/a')), 'http://example.com:80');
  assert.equal(hostKey(new URL('https://example.com:8443/')), 'https://example.com:8443');
  assert.equal(hostKey(new URL('http://[::1]:3000/')), 'http://[::1]:3000');
});

test('HostLimiter: at most perHost at once per host, hosts independent, slots handed over in order', async () => {
  const limiter = new HostLimiter(2);
  const a = new URL('http://a.test/');
  const b = new URL('http://b.test/');
  const order: string[] = [];
  const r1 = await limiter.acquire(a);
  const r2 = await limiter.acquire(a);
  const third = limiter.acquire(a).then((release) => {
    order.push('a3');
    return release;
  });
  const rb = await limiter.acquire(b); // another host is not held up
  order.push('b1');
  await Promise.resolve();
  assert.deepEqual(order, ['b1'], 'the third request to a waits');
  r1();
  r1(); // releasing twice gives back one slot only
  const r3 = await third;
  assert.deepEqual(order, ['b1', 'a3']);
  let fourth = false;
  const waiting = limiter.acquire(a).then((release) => {
    fourth = true;
    return release;
  });
  await Promise.resolve();
  assert.equal(fourth, false, 'r2 and r3 still hold both slots');
  r2();
  (await waiting)();
  r3();
  rb();
});

test('HostLimiter refuses a limit below 1', () => {
  assert.throws(() => new HostLimiter(0), /at least 1/);
});

test('mapLimit keeps order and never runs more than the limit', async () => {
  let running = 0;
  let peak = 0;
  const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
    peak = Math.max(peak, ++running);
    await new Promise((r) => setImmediate(r));
    running--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30]);
  assert.equal(peak, 2);
});
