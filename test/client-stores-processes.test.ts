/**
 * Several processes on one SQLite file, and several Redis clients on one prefix, as several machines would be:
 * concurrent writes lose nothing and every lease has exactly one holder.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { redisStore } from '../src/client/stores/redis.ts';
import { sqliteStore } from '../src/client/stores/sqlite.ts';
import { REDIS_URL } from './support/redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'etagkit-processes-'));
const prefix = `etagkit:test:processes:${process.pid}:${Date.now().toString(36)}:`;
const storeModule = (name: string) =>
  fileURLToPath(new URL(`../src/client/stores/${name}.ts`, import.meta.url));

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const WRITES = 150;
const LEASES = 40;

/**
 * A child process that puts WRITES entries of its own and tries every shared lease once; prints the leases it
 * won as JSON. `makeStore` is the expression that opens the store in the child.
 */
function worker(id: number, module: string, makeStore: string): Promise<string[]> {
  const script = `
    import { ${makeStore.split('(')[0]} } from ${JSON.stringify(module)};
    const store = ${makeStore};
    const entry = (key) => ({ key, variant: 'w${id}', status: 200, headers: [['etag', '"${id}"']],
      varyHeaders: {}, body: new Uint8Array(512).fill(${id}), requestTime: 1, responseTime: 2 });
    const puts = [];
    for (let i = 0; i < ${WRITES}; i++) puts.push(store.put(entry('own-${id}-' + i)), store.put(entry('shared-' + i)));
    const won = [];
    for (let i = 0; i < ${LEASES}; i++) if (await store.lease('lease-' + i, 60000)) won.push('lease-' + i);
    await Promise.all(puts);
    await store.close();
    process.stdout.write(JSON.stringify(won));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as string[]);
      else reject(new Error(`worker ${id} exited with ${code}: ${err}`));
    });
  });
}

async function checkShared(open: () => ReturnType<typeof sqliteStore>, won: string[][]) {
  const store = open();
  for (let id = 0; id < won.length; id++) {
    for (let i = 0; i < WRITES; i++) {
      const got = await store.get(`own-${id}-${i}`);
      assert.equal(got.length, 1, `own-${id}-${i} kept`);
    }
  }
  for (let i = 0; i < WRITES; i++) {
    const variants = (await store.get(`shared-${i}`)).map((e) => e.variant).sort();
    assert.deepEqual(
      variants,
      won.map((_, id) => `w${id}`),
      `shared-${i} has every process's variant`,
    );
  }
  const holders = won.flat().sort();
  assert.deepEqual(
    holders,
    Array.from({ length: LEASES }, (_, i) => `lease-${i}`).sort(),
    'each lease won exactly once',
  );
  await store.close();
}

test('sqliteStore: 3 processes writing one file concurrently lose nothing; each lease has one holder', async () => {
  const path = join(dir, 'shared.db');
  // Three writers on a loaded machine may wait for the lock longer than the default 100 ms; nothing may be lost.
  const make = `sqliteStore(${JSON.stringify(path)}, { busyTimeoutMs: 5000 })`;
  const won = await Promise.all([0, 1, 2].map((id) => worker(id, storeModule('sqlite'), make)));
  await checkShared(() => sqliteStore(path), won);
});

test('redisStore: 3 processes on one prefix lose nothing; each lease has one holder', async () => {
  // A generous timeout: 300 puts at once from each of 3 processes on a loaded machine, and nothing may be lost.
  const make = `redisStore(${JSON.stringify(REDIS_URL)}, { prefix: ${JSON.stringify(prefix)}, timeoutMs: 15000 })`;
  const won = await Promise.all([0, 1, 2].map((id) => worker(id, storeModule('redis'), make)));
  await checkShared(() => redisStore(REDIS_URL, { prefix }), won);
});
