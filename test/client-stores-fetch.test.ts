/**
 * The persistent and shared stores under createFetch, over real sockets: entries survive a restart (SQLite),
 * are shared between machines (Redis), and a broken store never fails a request (Cache-Status says why).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createFetch, type DecisionMessage } from '../src/client/fetch.ts';
import type { CacheStore } from '../src/client/store.ts';
import { redisStore } from '../src/client/stores/redis.ts';
import { sqliteStore } from '../src/client/stores/sqlite.ts';
import { REDIS_URL } from './support/redis.ts';

const prefix = `etagkit:test:fetch:${process.pid}:${Date.now().toString(36)}:`;
const dir = mkdtempSync(join(tmpdir(), 'etagkit-stores-fetch-'));

/**
 * /fresh is fresh for an hour; /validate must be revalidated every time (ETag, max-age=0); /slow-validate is fresh
 * for a minute and answers a revalidation once the test releases it (see hold).
 */
const seen: { path: string; ifNoneMatch: string | undefined }[] = [];
/** Emits `request` with each entry of `seen` as it arrives, so that tests wait on the origin, not on a clock. */
const arrivals = new EventEmitter();
/** Revalidations of a /slow-validate path wait for these; `hold(path)` returns the function that releases them. */
const holds = new Map<string, Promise<void>>();
function hold(path: string): () => void {
  let release: () => void = () => {};
  holds.set(path, new Promise((resolve) => (release = resolve)));
  return release;
}
const origin = http.createServer((req, res) => {
  seen.push({ path: req.url ?? '', ifNoneMatch: req.headers['if-none-match'] });
  arrivals.emit('request', seen.at(-1));
  if (req.url?.startsWith('/fresh')) {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=3600', etag: '"f"' });
    res.end(`fresh body of ${req.url}`);
  } else if (req.url?.startsWith('/slow-validate')) {
    // Fresh for a minute; a revalidation is answered when the test says so.
    if (req.headers['if-none-match'] === '"s"')
      return void (holds.get(req.url) ?? Promise.resolve()).then(() =>
        res.writeHead(304, { etag: '"s"', 'cache-control': 'max-age=60' }).end(),
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

describe('a script using redisStore ends without close()', () => {
  /** Runs a script that fetches through a redisStore made from `url` and never closes it; its exit code. */
  async function runScript(url: string, path: string, timeoutMs: number): Promise<number | null> {
    const client = fileURLToPath(new URL('../src/client/index.ts', import.meta.url));
    const script = `
      import { createFetch, redisStore } from ${JSON.stringify(client)};
      const f = createFetch({ store: redisStore(${JSON.stringify(url)}, { prefix: ${JSON.stringify(prefix)}, timeoutMs: ${timeoutMs} }), onStoreError: () => {} });
      const res = await f(${JSON.stringify(`${base}${path}`)});
      if (res.status !== 200 || (await res.text()) !== ${JSON.stringify(`fresh body of ${path}`)}) process.exit(3);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
    const deadline = setTimeout(() => child.kill(), 20_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(deadline);
    return code;
  }

  test('with Redis up: the process exits on its own, and the entry it fetched is in Redis', async () => {
    assert.equal(await runScript(REDIS_URL, '/fresh/script-exit', 5000), 0, 'exited by itself with code 0');
    const store = redisStore(REDIS_URL, { prefix });
    try {
      assert.equal(
        (await store.get(`GET ${base}/fresh/script-exit`)).length,
        1,
        'the put completed before exit',
      );
    } finally {
      await store.close();
    }
  });

  test('with Redis down: the process exits on its own too', async () => {
    const down = `redis://127.0.0.1:${await deadPort()}`;
    assert.equal(await runScript(down, '/fresh/script-exit-down', 300), 0);
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
        // b's store, watched: b is refused the lease while a holds it.
        let refused: () => void = () => {};
        const leaseRefused = new Promise<void>((resolve) => (refused = resolve));
        const watchedB: CacheStore = {
          shared: true,
          get: (key) => storeB.get(key),
          put: (entry) => storeB.put(entry),
          delete: (key) => storeB.delete(key),
          lease: async (key, ms) => {
            const granted = await storeB.lease(key, ms);
            if (!granted) refused();
            return granted;
          },
          release: (key) => storeB.release(key),
          close: () => storeB.close(),
        };
        const a = createFetch({ store: storeA, now });
        const b = createFetch({ store: watchedB, now });
        const stored = published(`${base}${path}`, 'stored');
        await get(a, path);
        await stored; // in the store, for b to see
        skew = 120_000;
        const release = hold(path);
        const conditional = requestArrives(path, '"s"');
        const first = get(a, path);
        await conditional; // a holds the lease; the origin holds its revalidation
        const second = get(b, path);
        await leaseRefused; // b waits for a's result
        release();
        const firstRes = await first;
        assert.equal(firstRes.body, `slow body of ${path}`);
        assert.match(firstRes.cacheStatus, /fwd=stale; fwd-status=304/);
        const secondRes = await second;
        assert.equal(secondRes.body, `slow body of ${path}`);
        assert.match(secondRes.cacheStatus, /collapsed; detail=peer-revalidated/);
        const conditionals = seen.filter((s) => s.path === path && s.ifNoneMatch === '"s"');
        assert.equal(conditionals.length, 1, 'one conditional request for both machines');
      } finally {
        await Promise.all([storeA.close(), storeB.close()]); // open clients would keep the process alive
      }
    });
});

/** Resolves when the origin receives a request for `path` with this If-None-Match. */
function requestArrives(path: string, ifNoneMatch: string): Promise<void> {
  return new Promise((resolve) => {
    const listen = (r: (typeof seen)[number]) => {
      if (r.path !== path || r.ifNoneMatch !== ifNoneMatch) return;
      arrivals.off('request', listen);
      resolve();
    };
    arrivals.on('request', listen);
  });
}

/** Resolves when createFetch publishes `decision` for `url` (e.g. `stored`: the entry is in the store). */
function published(url: string, decision: string): Promise<void> {
  return new Promise((resolve) => {
    const listen = (m: unknown) => {
      const message = m as DecisionMessage;
      if (message.url !== url || message.decision !== decision) return;
      unsubscribe('etagkit:client:decision', listen);
      resolve();
    };
    subscribe('etagkit:client:decision', listen);
  });
}

async function deadPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
