/**
 * The persistent and shared stores under createFetch, over real sockets: entries survive a restart (SQLite),
 * are shared between machines (Redis), and a broken store never fails a request (Cache-Status says why).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createFetch } from '../src/client/fetch.ts';
import type { CacheStore } from '../src/client/store.ts';
import { redisStore } from '../src/client/stores/redis.ts';
import { sqliteStore } from '../src/client/stores/sqlite.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `etagkit:test:fetch:${process.pid}:${Date.now().toString(36)}:`;
const dir = mkdtempSync(join(tmpdir(), 'etagkit-stores-fetch-'));

/**
 * /fresh is fresh for an hour; /validate must be revalidated every time (ETag, max-age=0); /slow-validate is fresh
 * for a minute and answers revalidations after 150 ms.
 */
const seen: { path: string; ifNoneMatch: string | undefined }[] = [];
const origin = http.createServer((req, res) => {
  seen.push({ path: req.url ?? '', ifNoneMatch: req.headers['if-none-match'] });
  if (req.url?.startsWith('/fresh')) {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=3600', etag: '"f"' });
    res.end(`fresh body of ${req.url}`);
  } else if (req.url?.startsWith('/slow-validate')) {
    // Fresh for a minute; a revalidation takes 150 ms to answer.
    if (req.headers['if-none-match'] === '"s"')
      return void setTimeout(
        () => res.writeHead(304, { etag: '"s"', 'cache-control': 'max-age=60' }).end(),
        150,
      );
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', etag: '"s"' });
    res.end(`slow body of ${req.url}`);
  } else if (req.url?.startsWith('/validate')) {
    if (req.headers['if-none-match'] === '"v"') return void res.writeHead(304, { etag: '"v"' }).end();
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=0', etag: '"v"' });
    res.end(`validated body of ${req.url}`);
  } else res.writeHead(404).end();
});
let base = '';
const originHits = (path: string) => seen.filter((s) => s.path === path).length;

before(async () => {
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});
after(async () => {
  origin.close();
  rmSync(dir, { recursive: true, force: true });
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

async function get(f: typeof fetch, path: string) {
  const res = await f(`${base}${path}`);
  return { status: res.status, body: await res.text(), cacheStatus: res.headers.get('cache-status') ?? '' };
}

describe('sqliteStore under createFetch', () => {
  test('a hit survives a restart: a new process on the same file answers without the origin', async () => {
    const path = join(dir, 'restart.db');
    const first = sqliteStore(path);
    const miss = await get(createFetch({ store: first }), '/fresh/restart');
    assert.match(miss.cacheStatus, /fwd=uri-miss|fwd=miss/);
    await first.close();

    const second = sqliteStore(path);
    const hit = await get(createFetch({ store: second }), '/fresh/restart');
    assert.equal(hit.body, 'fresh body of /fresh/restart');
    assert.match(hit.cacheStatus, /; hit/);
    assert.equal(originHits('/fresh/restart'), 1);
    await second.close();
  });

  test('a file that is not a database: the request still succeeds, Cache-Status says store-error', async () => {
    const path = join(dir, 'garbage.db');
    writeFileSync(path, 'not a database at all '.repeat(300));
    const store = sqliteStore(path);
    const res = await get(createFetch({ store }), '/fresh/garbage');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'fresh body of /fresh/garbage');
    assert.match(res.cacheStatus, /detail=store-(error|down)/);
    await store.close();
  });

  test('one row with unreadable metadata is a miss for its URL; the rest of the store keeps answering', async () => {
    const path = join(dir, 'bad-row.db');
    const store = sqliteStore(path);
    const f = createFetch({ store });
    await get(f, '/fresh/bad-row');
    await get(f, '/fresh/healthy');
    await store.close();
    const db = new DatabaseSync(path);
    db.exec(`UPDATE entries SET meta = 'not json' WHERE key LIKE '%/fresh/bad-row'`);
    db.close();
    const reopened = sqliteStore(path);
    const g = createFetch({ store: reopened });
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const bad = await get(g, '/fresh/bad-row');
      const healthy = await get(g, '/fresh/healthy');
      assert.equal(bad.body, 'fresh body of /fresh/bad-row');
      outcomes.push(
        `${/; hit/.test(bad.cacheStatus) ? 'hit' : 'miss'}/${/; hit/.test(healthy.cacheStatus) ? 'hit' : 'miss'}`,
      );
    }
    // The bad row is a miss once, then the response stored in its place hits; the healthy key always hits.
    assert.deepEqual(outcomes, ['miss/hit', ...Array(9).fill('hit/hit')]);
    assert.equal(g.stats().storeErrors, 0, 'an unreadable row is not a store failure');
    await reopened.close();
  });
});

describe('redisStore under createFetch', () => {
  test('two machines share entries: the second one hits what the first stored', async () => {
    const storeA = redisStore(REDIS_URL, { prefix });
    const storeB = redisStore(REDIS_URL, { prefix });
    try {
      await get(createFetch({ store: storeA }), '/fresh/shared');
      const hit = await get(createFetch({ store: storeB }), '/fresh/shared');
      assert.equal(hit.body, 'fresh body of /fresh/shared');
      assert.match(hit.cacheStatus, /; hit/);
      assert.equal(originHits('/fresh/shared'), 1);
    } finally {
      await Promise.all([storeA.close(), storeB.close()]);
    }
  });

  test("the second machine revalidates with the first machine's ETag and serves the stored body on 304", async () => {
    const storeA = redisStore(REDIS_URL, { prefix });
    const storeB = redisStore(REDIS_URL, { prefix });
    try {
      await get(createFetch({ store: storeA }), '/validate/shared');
      const res = await get(createFetch({ store: storeB }), '/validate/shared');
      assert.equal(res.status, 200);
      assert.equal(res.body, 'validated body of /validate/shared');
      assert.match(res.cacheStatus, /fwd=stale; fwd-status=304/);
      const requests = seen.filter((s) => s.path === '/validate/shared');
      assert.deepEqual(
        requests.map((s) => s.ifNoneMatch),
        [undefined, '"v"'],
      );
    } finally {
      await Promise.all([storeA.close(), storeB.close()]);
    }
  });

  test('Redis down: requests still succeed promptly, Cache-Status says store-error', async () => {
    const port = await deadPort();
    const store = redisStore(`redis://127.0.0.1:${port}`, { timeoutMs: 300 });
    try {
      const f = createFetch({ store });
      const started = Date.now();
      for (let i = 0; i < 3; i++) {
        const res = await get(f, '/fresh/redis-down');
        assert.equal(res.status, 200);
        assert.equal(res.body, 'fresh body of /fresh/redis-down');
        assert.match(res.cacheStatus, /detail=store-(error|down)/);
      }
      assert.ok(Date.now() - started < 5000, 'no request waits on a dead Redis beyond the store timeout');
    } finally {
      await store.close(); // a client left open would keep reconnecting and the process alive
    }
  });
});

describe('one revalidation across machines (the store lease)', () => {
  const cases: [string, () => [CacheStore, CacheStore]][] = [
    [
      'two Redis clients on one prefix',
      () => [redisStore(REDIS_URL, { prefix }), redisStore(REDIS_URL, { prefix })],
    ],
    [
      'two SQLite stores on one file',
      () => [sqliteStore(join(dir, 'lease.db')), sqliteStore(join(dir, 'lease.db'))],
    ],
  ];
  for (const [name, open] of cases)
    test(`${name}: a stale entry is revalidated once; the other machine serves that result`, async () => {
      const [storeA, storeB] = open();
      try {
        const path = `/slow-validate/${name.replaceAll(' ', '-')}`;
        let skew = 0; // both "machines" see the entry go stale at once
        const now = () => Date.now() + skew;
        const a = createFetch({ store: storeA, now });
        const b = createFetch({ store: storeB, now });
        await get(a, path);
        await new Promise((r) => setTimeout(r, 20)); // SQLite writes in batches
        skew = 120_000;
        const first = get(a, path);
        await new Promise((r) => setTimeout(r, 30)); // a holds the lease, its origin request under way
        const second = await get(b, path);
        const firstRes = await first;
        assert.equal(firstRes.body, `slow body of ${path}`);
        assert.match(firstRes.cacheStatus, /fwd=stale; fwd-status=304/);
        assert.equal(second.body, `slow body of ${path}`);
        assert.match(second.cacheStatus, /collapsed; detail=peer-revalidated/);
        const conditionals = seen.filter((s) => s.path === path && s.ifNoneMatch === '"s"');
        assert.equal(conditionals.length, 1, 'one conditional request for both machines');
      } finally {
        await Promise.all([storeA.close(), storeB.close()]); // open clients would keep the process alive
      }
    });
});

async function deadPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
