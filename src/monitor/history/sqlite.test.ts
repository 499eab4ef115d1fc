import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sqliteHistory } from './sqlite.ts';
import { HistoryError } from './store.ts';
import { runHistorySuite } from './suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'etagkit-history-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runHistorySuite('sqliteHistory', () => sqliteHistory(join(dir, `h${++n}.db`)));

test('a corrupt file: HistoryError that says so and what to do', async () => {
  const path = join(dir, 'corrupt.db');
  writeFileSync(path, 'this is not a database, just text '.repeat(200));
  await assert.rejects(
    sqliteHistory(path),
    (e: Error) => e instanceof HistoryError && /corrupt.*move it away/.test(e.message),
  );
});

test('a file locked by another process: HistoryError naming the lock', async () => {
  const path = join(dir, 'locked.db');
  (await sqliteHistory(path)).close();
  const { DatabaseSync } = await import('node:sqlite');
  const holder = new DatabaseSync(path);
  holder.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;');
  try {
    await assert.rejects(
      sqliteHistory(path, { busyTimeoutMs: 50 }),
      (e: Error) => e instanceof HistoryError && /locked/.test(e.message),
    );
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
});

test('readOnly refuses a file that is not an etagkit history', async () => {
  const path = join(dir, 'other.db');
  const { DatabaseSync } = await import('node:sqlite');
  const other = new DatabaseSync(path);
  other.exec('CREATE TABLE t (x)');
  other.close();
  await assert.rejects(sqliteHistory(path, { readOnly: true }), /not an etagkit history/);
});
