/**
 * Two proxies in front of one origin, sharing one Redis: what one stores the other serves, and a storm of misses
 * spread over both makes one upstream request (the store's lease). Needs Redis on 127.0.0.1:6379.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { redisStore } from '../src/client/stores/redis.ts';
import { type CachingProxy, createProxy } from '../src/proxy/index.ts';
import { request } from './support/http.ts';
import { closeServer, listenLocal } from './support/proxy.ts';

const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `etagkit:test:proxy:${process.pid}:${Date.now().toString(36)}:`;

let originRequests = new Map<string, number>();
let release: () => void = () => {};
let gate = Promise.resolve();
const origin = createServer(async (req, res) => {
  originRequests.set(req.url!, (originRequests.get(req.url!) ?? 0) + 1);
  await gate;
  res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
  res.end(`origin body for ${req.url}`);
});
const proxies: { proxy: CachingProxy; server: ReturnType<typeof createServer>; base: string }[] = [];

before(async () => {
  const probe = new Redis(URL, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  await probe.connect().catch(() => {
    throw new Error(
      'Redis is not running on 127.0.0.1:6379: start it with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`',
    );
  });
  await probe.quit();
  const upstream = await listenLocal(origin);
  for (let i = 0; i < 2; i++) {
    const proxy = createProxy({ upstream, store: redisStore(URL, { prefix }) });
    const server = createServer(proxy);
    proxies.push({ proxy, server, base: await listenLocal(server) });
  }
});

after(async () => {
  for (const { proxy, server } of proxies) {
    await closeServer(server);
    await proxy.close();
  }
  await closeServer(origin);
  const redis = new Redis(URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
});

describe('two proxies on one Redis', () => {
  it('a response stored through proxy A is a hit on proxy B', async () => {
    const [a, b] = proxies;
    const first = await request(a!.base, '/shared');
    assert.match(String(first.headers['cache-status']), /stored/);
    let second = await request(b!.base, '/shared');
    // A's write reaches Redis just after its response: look again until it is there.
    for (let i = 0; i < 50 && !/hit/.test(String(second.headers['cache-status'])); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      second = await request(b!.base, '/shared');
    }
    assert.match(String(second.headers['cache-status']), /hit/);
    assert.equal(second.body.toString(), 'origin body for /shared');
    assert.equal(originRequests.get('/shared'), 1);
  });

  it('a miss storm spread over both proxies makes one upstream request', async () => {
    originRequests = new Map();
    gate = new Promise<void>((resolve) => (release = resolve));
    const storm = Array.from({ length: 200 }, (_, i) => request(proxies[i % 2]!.base, '/storm'));
    while (!originRequests.has('/storm')) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 100)); // let every request reach its proxy
    release();
    const responses = await Promise.all(storm);
    assert.equal(originRequests.get('/storm'), 1);
    const wrong = responses.filter((r) => r.status !== 200 || r.body.toString() !== 'origin body for /storm');
    assert.deepEqual(
      wrong.map((r) => [r.status, r.headers['cache-status'], r.body.toString()]).slice(0, 3),
      [],
    );
    // The proxy that did not get the lease waited for the other's result.
    assert.ok(responses.some((r) => /detail=peer-fetched/.test(String(r.headers['cache-status']))));
  });
});
