/**
 * Surrogate-Control end to end (W3C Edge Architecture Specification 1.0): origin, proxy and client on 127.0.0.1.
 * The proxy announces itself with Surrogate-Capability (§2.1), lets the directives aimed at it (§2.2, §2.3)
 * override Cache-Control and Expires for its own storing and freshness, and never passes the field on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from './support/http.ts';
import { type Bench, startBench } from './support/proxy.ts';

let bench: Bench;
let served = 0;
before(async () => {
  bench = await startBench((_req, res) => res.end());
});
after(() => bench.close());

function origin(headers: Record<string, string>): void {
  bench.handle((_req, res) => {
    served++;
    res.writeHead(200, headers);
    res.end(`body ${served}`);
  });
}

let n = 0;
const fresh = () => `/s${++n}`;
const upstreamHits = (path: string) => bench.received.filter((r) => r.url === path).length;

/** Asks twice, `seconds` apart; returns the second answer and how often the origin was asked. */
async function twice(headers: Record<string, string>, seconds: number) {
  origin(headers);
  const path = fresh();
  const first = await request(bench.base, path);
  bench.advance(seconds);
  const second = await request(bench.base, path);
  return { first, second, hits: upstreamHits(path) };
}

describe('Surrogate-Control (Edge Architecture §2.2)', () => {
  it('§2.1: requests upstream carry Surrogate-Capability with the device token, after any earlier one', async () => {
    origin({});
    const path = fresh();
    await request(bench.base, path, { headers: { 'surrogate-capability': 'edge="Surrogate/1.0"' } });
    const seen = bench.received.find((r) => r.url === path)!;
    assert.equal(seen.headers['surrogate-capability'], 'edge="Surrogate/1.0", etagkit="Surrogate/1.0"');
  });

  it('§2.2.3: a long max-age overrides a short Cache-Control max-age, and the field is not passed on', async () => {
    const { first, second, hits } = await twice(
      { 'cache-control': 'max-age=1', 'surrogate-control': 'max-age=600' },
      60,
    );
    assert.equal(hits, 1);
    assert.match(String(second.headers['cache-status']), /^etagkit; hit/);
    for (const res of [first, second]) {
      assert.equal(res.headers['surrogate-control'], undefined);
      assert.equal(res.headers['cache-control'], 'max-age=1'); // the client's own rules stay the origin's
    }
  });

  it('§2.2.3: a short max-age overrides a long Cache-Control max-age', async () => {
    const { second, hits } = await twice(
      { 'cache-control': 'max-age=600', 'surrogate-control': 'max-age=5' },
      10,
    );
    assert.equal(hits, 2);
    assert.match(String(second.headers['cache-status']), /fwd=stale/);
  });

  it('§2.2.3: max-age makes even Cache-Control: no-store and a past Expires storable here', async () => {
    const { second, hits } = await twice(
      {
        'cache-control': 'no-store',
        expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
        'surrogate-control': 'max-age=600;etagkit',
      },
      1,
    );
    assert.equal(hits, 1);
    assert.equal(second.headers['cache-control'], 'no-store');
  });

  it('RFC 9111 §3.5: Cache-Control private still keeps the response out of this shared cache', async () => {
    const { second, hits } = await twice(
      { 'cache-control': 'private, max-age=600', 'surrogate-control': 'max-age=600' },
      1,
    );
    assert.equal(hits, 2);
    assert.doesNotMatch(String(second.headers['cache-status']), /hit/);
  });

  it('§2.2.1: no-store is not stored, whatever Cache-Control says', async () => {
    const { second, hits } = await twice(
      { 'cache-control': 'max-age=600', 'surrogate-control': 'no-store' },
      1,
    );
    assert.equal(hits, 2);
    assert.doesNotMatch(String(second.headers['cache-status']), /stored|hit/);
    assert.equal(second.headers['surrogate-control'], undefined);
  });

  it('§2.3: directives targeted at another device are ignored: Cache-Control decides', async () => {
    const { hits } = await twice({ 'cache-control': 'max-age=1', 'surrogate-control': 'max-age=600;cdn' }, 5);
    assert.equal(hits, 2);
    const stored = await twice({ 'cache-control': 'max-age=600', 'surrogate-control': 'no-store;cdn' }, 5);
    assert.equal(stored.hits, 1);
  });

  it('RFC 9111 §4.2.3: Age still counts against a Surrogate-Control max-age', async () => {
    const { hits } = await twice({ 'surrogate-control': 'max-age=600', age: '700' }, 1);
    assert.equal(hits, 2);
    const young = await twice({ 'surrogate-control': 'max-age=600', age: '500' }, 1);
    assert.equal(young.hits, 1);
    assert.ok(Number(young.second.headers.age) >= 500);
  });
});
