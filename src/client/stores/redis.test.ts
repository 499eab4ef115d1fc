import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { REDIS_URL as URL } from '../../../test/support/redis.ts';
import { decodeEntry, encodeEntry, redisStore } from './redis.ts';
import { runStoreSuite, sampleEntry } from './store-suite.ts';

const runId = `etagkit:test:${process.pid}:${Date.now().toString(36)}`;
let prefixes = 0;
const newPrefix = () => `${runId}:${++prefixes}:`;

after(async () => {
  // Remove everything this run wrote.
  const redis = new Redis(URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${runId}:*`, 'COUNT', 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
});

runStoreSuite('redisStore', () => redisStore(URL, { prefix: newPrefix() }), {
  twin: async () => {
    const prefix = newPrefix();
    return [redisStore(URL, { prefix }), redisStore(URL, { prefix })];
  },
});

describe('redisStore: Redis specifics', () => {
  test('accepts an existing ioredis client and leaves it open on close', async () => {
    const client = new Redis(URL);
    const store = redisStore(client, { prefix: newPrefix() });
    const entry = sampleEntry();
    await store.put(entry);
    assert.equal((await store.get(entry.key)).length, 1);
    await store.close();
    assert.equal(await client.ping(), 'PONG');
    await client.quit();
  });

  test('entries expire ttlSeconds after the last put', async () => {
    const prefix = newPrefix();
    const store = redisStore(URL, { prefix, ttlSeconds: 30 });
    await store.put(sampleEntry({ key: 'k' }));
    const client = new Redis(URL);
    const ttl = await client.pttl(`${prefix}entry:k`);
    assert.ok(ttl > 29_000 && ttl <= 30_000, `pttl ${ttl}`);
    await client.quit();
    await store.close();
  });

  test('a value not written by the store is a miss for that variant, not an error, and it is deleted', async () => {
    const prefix = newPrefix();
    const store = redisStore(URL, { prefix });
    const entry = sampleEntry({ key: 'k', variant: 'good' });
    await store.put(entry);
    const client = new Redis(URL);
    try {
      await client.hset(`${prefix}entry:k`, 'v:bad', 'garbage');
      assert.deepEqual(
        (await store.get('k')).map((e) => e.variant),
        ['good'],
      );
      await store.get('k'); // after the first lookup's HDEL, on the same connection
      assert.equal(await client.hexists(`${prefix}entry:k`, 'v:bad'), 0);
    } finally {
      await client.quit();
      await store.close();
    }
  });

  test('the put script is reloaded after SCRIPT FLUSH (Redis restarted)', async () => {
    const store = redisStore(URL, { prefix: newPrefix() });
    await store.put(sampleEntry({ key: 'a' }));
    const client = new Redis(URL);
    await client.script('FLUSH');
    await client.quit();
    await store.put(sampleEntry({ key: 'b' }));
    assert.equal((await store.get('b')).length, 1);
    await store.close();
  });

  test('Redis unreachable (nothing listens): every method rejects quickly, nothing hangs', async () => {
    const port = await freePort();
    const store = redisStore(`redis://127.0.0.1:${port}`, { timeoutMs: 500 });
    try {
      const started = Date.now();
      const outcomes = await Promise.allSettled([
        store.get('k'),
        store.put(sampleEntry()),
        store.delete('k'),
        store.lease('k', 100),
      ]);
      for (const o of outcomes) assert.equal(o.status, 'rejected');
      await Promise.allSettled([store.release('k')]); // holds no lease: settles either way
      assert.ok(Date.now() - started < 5000, 'rejected within the timeout bound');
    } finally {
      await store.close(); // a client left open would keep reconnecting and the process alive
    }
  });

  test('Redis that accepts connections but never answers: calls reject after timeoutMs', async () => {
    const silent = createServer(() => {}); // accepts and says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const store = redisStore(`redis://127.0.0.1:${port}`, { timeoutMs: 200 });
    try {
      await assert.rejects(store.get('k'), /timed out after 200 ms/);
    } finally {
      await store.close();
      silent.close();
    }
  });

  test('methods of a closed store reject', async () => {
    const store = redisStore(URL, { prefix: newPrefix() });
    await store.close();
    await assert.rejects(store.get('k'), /closed/);
  });

  test('ttlSeconds must be positive', () => {
    assert.throws(() => redisStore(URL, { ttlSeconds: 0 }), /ttlSeconds must be > 0/);
  });
});

describe('redisStore: value encoding', () => {
  const withSeq = (seq: number, payload: Buffer) => Buffer.concat([Buffer.from(`${seq}\n`), payload]);

  test('property: decode(seq + encode(entry)) round-trips', () => {
    const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)) });
    fc.assert(
      fc.property(
        fc.nat(),
        fc.string({ unit: 'grapheme' }),
        fc.array(fc.tuple(fc.string(), latin1)),
        fc.uint8Array(),
        (seq, variant, headers, body) => {
          const entry = sampleEntry({ key: 'k', variant, headers, body });
          const decoded = decodeEntry('k', withSeq(seq, encodeEntry(entry)));
          assert.ok(decoded);
          assert.equal(decoded.seq, seq);
          assert.deepEqual(
            { ...decoded.entry, body: [...decoded.entry.body] },
            { ...entry, body: [...body] },
          );
        },
      ),
    );
  });

  test('property: arbitrary bytes decode to an entry or undefined, never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeEntry('k', Buffer.from(bytes));
        if (decoded) assert.equal(typeof decoded.seq, 'number');
      }),
    );
  });

  test('truncated values are rejected', () => {
    const full = withSeq(7, encodeEntry(sampleEntry()));
    const lengthEnd = full.indexOf('\n', 2);
    const metaEnd = lengthEnd + 1 + Number(full.toString('latin1', 2, lengthEnd));
    for (const cut of [0, 1, 2, 3, metaEnd - 1])
      assert.equal(decodeEntry('k', full.subarray(0, cut)), undefined);
    assert.ok(decodeEntry('k', full.subarray(0, metaEnd))); // a body may be empty
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
