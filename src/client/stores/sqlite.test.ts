import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sqliteStore } from './sqlite.ts';
import { runStoreSuite, sampleEntry } from './store-suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'etagkit-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newPath = () => join(dir, `cache-${++files}.db`);

runStoreSuite('sqliteStore', () => sqliteStore(newPath()), {
  bounded: (maxBytes) => sqliteStore(newPath(), { maxBytes }),
  twin: async () => {
    const path = newPath();
    return [sqliteStore(path), sqliteStore(path)];
  },
});

describe('sqliteStore: persistence and faults', () => {
  test('entries survive close and reopen; close writes queued puts', async () => {
    const path = newPath();
    const first = sqliteStore(path);
    const entry = sampleEntry({ key: 'GET https://example.test/persist' });
    const written = first.put(entry); // not awaited: close must flush it
    await first.close();
    await written;
    const second = sqliteStore(path);
    const [got] = await second.get(entry.key);
    assert.deepEqual(got && new TextDecoder().decode(got.body), 'hello');
    await second.close();
  });

  test('the file is in WAL mode', async () => {
    const path = newPath();
    const store = sqliteStore(path);
    await store.put(sampleEntry());
    const db = new DatabaseSync(path);
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    db.close();
    await store.close();
  });

  test('maxBytes is enforced across reopen', async () => {
    const path = newPath();
    const first = sqliteStore(path, { maxBytes: 30 * 1024 });
    await first.put(sampleEntry({ key: 'k1', body: new Uint8Array(12 * 1024) }));
    await first.put(sampleEntry({ key: 'k2', body: new Uint8Array(12 * 1024) }));
    await first.close();
    const second = sqliteStore(path, { maxBytes: 30 * 1024 });
    await second.put(sampleEntry({ key: 'k3', body: new Uint8Array(12 * 1024) }));
    assert.equal((await second.get('k1')).length, 0);
    assert.equal((await second.get('k2')).length, 1);
    assert.equal((await second.get('k3')).length, 1);
    await second.close();
  });

  test('a file that is not a database: every method rejects, nothing throws synchronously', async () => {
    const path = newPath();
    writeFileSync(path, 'this is not a sqlite file '.repeat(400));
    const store = sqliteStore(path);
    const calls: Promise<unknown>[] = [];
    assert.doesNotThrow(() => {
      calls.push(store.get('k'), store.put(sampleEntry()), store.delete('k'), store.lease('k', 50));
      calls.push(store.release('k'));
    });
    for (const call of calls) await assert.rejects(call, /not a database/);
    await assert.rejects(store.get('k'), new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await store.close();
  });

  test('a file corrupted while open: operations settle (resolve or reject), never hang or crash', async () => {
    const path = newPath();
    const store = sqliteStore(path);
    for (let i = 0; i < 50; i++) await store.put(sampleEntry({ key: `k${i}`, body: new Uint8Array(4096) }));
    const db = new DatabaseSync(path);
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)'); // move the pages into the main file, then break it
    db.close();
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(256 * 1024, 0x41), 0, 256 * 1024, 0);
    closeSync(fd);
    const outcomes = await Promise.allSettled([
      store.get('k1'),
      store.put(sampleEntry({ key: 'k-new' })),
      store.delete('k2'),
      store.lease('k3', 50),
    ]);
    assert.equal(outcomes.length, 4);
    await Promise.allSettled([store.close()]);
    const reopened = sqliteStore(path);
    await assert.rejects(reopened.get('k1'), /not a database|malformed|corrupt/i);
    await reopened.close();
  });

  test('a database locked by another connection: put rejects with "locked", get still works', async () => {
    const path = newPath();
    const store = sqliteStore(path, { busyTimeoutMs: 10 });
    const entry = sampleEntry({ key: 'GET https://example.test/locked' });
    await store.put(entry);
    const other = new DatabaseSync(path);
    other.exec('BEGIN EXCLUSIVE');
    try {
      await assert.rejects(store.put(sampleEntry({ key: 'GET https://example.test/blocked' })), /locked/);
      assert.equal((await store.get(entry.key)).length, 1); // WAL: readers do not wait for the writer
      await assert.rejects(store.delete(entry.key), /locked/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await store.put(sampleEntry({ key: 'GET https://example.test/after' }));
    assert.equal((await store.get('GET https://example.test/after')).length, 1);
    await store.close();
  });

  test('a row whose metadata is not what the store writes: a miss, the row deleted, other keys unaffected', async () => {
    const path = newPath();
    const store = sqliteStore(path);
    await store.put(sampleEntry({ key: 'bad' }));
    await store.put(sampleEntry({ key: 'good' }));
    const other = new DatabaseSync(path);
    other.exec(`UPDATE entries SET meta = '{"status": 200' WHERE key = 'bad'`);
    assert.deepEqual(await store.get('bad'), []);
    assert.equal((await store.get('good')).length, 1);
    await store.put(sampleEntry({ key: 'flush' })); // the deletion goes with the next batch
    const { n } = other.prepare(`SELECT count(*) AS n FROM entries WHERE key = 'bad'`).get() as { n: number };
    assert.equal(n, 0, 'the unreadable row was deleted');
    other.close();
    await store.close();
  });

  test('a missing directory is created: the store caches at once', async () => {
    const path = join(dir, 'not', 'yet', 'there', 'http.db');
    const store = sqliteStore(path);
    await store.put(sampleEntry({ key: 'k' }));
    await store.close();
    const reopened = sqliteStore(path);
    assert.equal((await reopened.get('k')).length, 1);
    await reopened.close();
  });

  test('a directory that cannot be created: the constructor throws, naming it and why', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    assert.throws(
      () => sqliteStore(join(file, 'cache', 'http.db')),
      (error: Error) =>
        error.message.includes(`cannot create the directory ${join(file, 'cache')}`) &&
        /EEXIST|ENOTDIR/.test(error.message),
    );
  });

  // What the README says about cache files under an open store, checked in a child process each.
  const underOpenStore = (action: string) => {
    const store = fileURLToPath(new URL('./sqlite.ts', import.meta.url));
    const path = newPath();
    const script = `
      import { ${action.split('(')[0]} } from 'node:fs';
      import { sqliteStore } from ${JSON.stringify(store)};
      const store = sqliteStore(${JSON.stringify(path)});
      const entry = (key) => ({ key, variant: '', status: 200, headers: [], varyHeaders: {}, body: new Uint8Array(8),
        requestTime: 1, responseTime: 2 });
      await store.put(entry('a'));
      ${action.replaceAll('PATH', JSON.stringify(path))};
      await store.put(entry('b'));
      if ((await store.get('a')).length !== 1 || (await store.get('b')).length !== 1) process.exit(3);
      await store.close();
    `;
    return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  };

  test('deleting the files of an open store is safe: it goes on with them', () => {
    const result = underOpenStore('unlinkSync(PATH + "-shm"); unlinkSync(PATH + "-wal"); unlinkSync(PATH)');
    assert.equal(result.status, 0, result.stderr);
  });

  test('truncating the -shm of an open store kills the process with SIGBUS (documented in the README)', () => {
    const result = underOpenStore('truncateSync(PATH + "-shm", 0)');
    assert.equal(
      result.signal,
      'SIGBUS',
      `status ${result.status}, signal ${result.signal}: update the README`,
    );
  });

  test('methods of a closed store reject', async () => {
    const store = sqliteStore(newPath());
    await store.close();
    await assert.rejects(store.get('k'), /closed/);
    await assert.rejects(store.put(sampleEntry()), /closed/);
  });

  test('maxBytes must be positive', () => {
    assert.throws(() => sqliteStore(newPath(), { maxBytes: 0 }), /maxBytes must be > 0/);
  });
});

describe('sqliteStore: work per transaction stays bounded as the store grows (counts and sizes)', () => {
  const kb = (key: string, n = 1) => sampleEntry({ key, body: new Uint8Array(n * 1024).fill(1) });
  const rows = (path: string, sql: string) => {
    const db = new DatabaseSync(path);
    try {
      return db.prepare(sql).get() as Record<string, number>;
    } finally {
      db.close();
    }
  };
  const fill = async (store: ReturnType<typeof sqliteStore>, n: number, size = 1) => {
    for (let i = 0; i < n; i += 500)
      await Promise.all(
        Array.from({ length: Math.min(500, n - i) }, (_, j) => store.put(kb(`k${i + j}`, size))),
      );
  };

  test('at its limit the store evicts in small steps, oldest first, down to a low-water mark below maxBytes', async () => {
    const path = newPath();
    const roomy = sqliteStore(path, { maxBytes: 64 * 1024 * 1024 });
    await fill(roomy, 1000);
    await roomy.close();
    const maxBytes = 200 * 1024;
    const tight = sqliteStore(path, { maxBytes });
    await tight.put(kb('trigger'));
    // The transaction of that put evicted one step's worth, not all 800-odd entries at once.
    const afterPut = rows(path, 'SELECT count(*) AS n FROM entries').n!;
    assert.ok(
      afterPut < 1001 && afterPut >= 1001 - 128,
      `one step evicts at most 128 entries (${1001 - afterPut})`,
    );
    await tight.close(); // finishes the eviction
    const { bytes, entries } = rows(path, 'SELECT bytes, entries FROM usage');
    const lowWater = maxBytes - maxBytes / 32;
    assert.ok(bytes! <= lowWater, `down to the low-water mark: ${bytes} ≤ ${lowWater}`);
    assert.ok(bytes! > lowWater - 2 * 1024, `and no further than one entry below it: ${bytes}`);
    assert.equal(rows(path, 'SELECT count(*) AS n FROM entries').n, entries);
    // Least recently used first: what is left is the newest puts.
    const reopened = sqliteStore(path, { maxBytes });
    assert.equal((await reopened.get('trigger')).length, 1);
    assert.equal((await reopened.get('k999')).length, 1);
    assert.equal((await reopened.get('k0')).length, 0);
    await reopened.close();
  });

  test('hits record their accesses in bounded batches, each entry at most once per interval', async () => {
    const path = newPath();
    const store = sqliteStore(path);
    await fill(store, 2000);
    const before = rows(path, 'SELECT max(atime) AS t FROM lru').t!; // the access clock may run ahead of Date.now
    for (let i = 0; i < 2000; i++) await store.get(`k${i}`);
    for (let i = 0; i < 2000; i++) await store.get(`k${i}`); // again: within the interval, not recorded twice
    await store.put(kb('flush')); // one transaction
    const touched = () => rows(path, `SELECT count(*) AS n FROM lru WHERE atime > ${before}`).n!;
    assert.equal(touched(), 256 + 1, 'one transaction writes at most 256 accesses (and the put)');
    await store.close(); // writes the rest
    assert.equal(touched(), 2000 + 1);
  });

  test('the WAL stays bounded (about 4 MB, cut back to 8 MiB) whatever the number of writes and hits', async () => {
    const path = newPath();
    const store = sqliteStore(path, { maxBytes: 16 * 1024 * 1024 });
    await fill(store, 6000, 4); // 24 MB of bodies through a 16 MiB store: puts, evictions
    for (let i = 0; i < 6000; i++) await store.get(`k${i}`);
    await store.put(kb('flush'));
    const wal = statSync(`${path}-wal`).size;
    assert.ok(wal <= 12 * 1024 * 1024, `WAL ${wal} bytes`);
    await store.close();
    assert.equal(statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0, 0, 'truncated on close');
  });

  test('a version-1 file is emptied and upgraded when opened (the cache refills); a newer one is refused', async () => {
    const path = newPath();
    const v1 = new DatabaseSync(path);
    v1.exec(`
      CREATE TABLE entries (key TEXT NOT NULL, variant TEXT NOT NULL, meta TEXT NOT NULL, body BLOB NOT NULL,
        size INTEGER NOT NULL, atime INTEGER NOT NULL, PRIMARY KEY (key, variant));
      CREATE INDEX entries_atime ON entries (atime);
      CREATE TABLE usage (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL);
      INSERT INTO usage VALUES (0, 5);
      CREATE TRIGGER entries_added AFTER INSERT ON entries BEGIN UPDATE usage SET bytes = bytes + NEW.size; END;
      CREATE TABLE leases (key TEXT PRIMARY KEY, token TEXT NOT NULL, expires INTEGER NOT NULL);
      INSERT INTO entries VALUES ('old', '', '{}', x'00', 5, 1);
      PRAGMA user_version = 1;`);
    v1.close();
    const store = sqliteStore(path);
    assert.deepEqual(await store.get('old'), []);
    await store.put(sampleEntry({ key: 'new' }));
    assert.equal((await store.get('new')).length, 1);
    await store.close();
    assert.equal(rows(path, 'PRAGMA user_version').user_version, 2);
    const newer = new DatabaseSync(path);
    newer.exec('PRAGMA user_version = 3');
    newer.close();
    const old = sqliteStore(path);
    await assert.rejects(old.get('new'), /schema version 3 is newer than this etagkit understands \(2\)/);
    await old.close();
  });
});
