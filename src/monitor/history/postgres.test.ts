import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { postgresTestDatabase } from '../../../test/support/services.ts';
import { postgresHistory } from './postgres.ts';
import { HistoryError, initialState } from './store.ts';
import { runHistorySuite, sampleCommit, sampleDefinition } from './suite.ts';

const db = postgresTestDatabase('history');
before(() => db.ready());
after(() => db.drop());

runHistorySuite('postgresHistory', async () => postgresHistory(db.url(db.newSchema())));

test('unreachable server: HistoryError naming where and what to do, quickly', async () => {
  const started = Date.now();
  await assert.rejects(
    postgresHistory('postgres://postgres@127.0.0.1:1/test'),
    (e: Error) =>
      e instanceof HistoryError &&
      /cannot reach PostgreSQL at 127\.0\.0\.1:1\/test.*start it/.test(e.message),
  );
  assert.ok(Date.now() - started < 5000);
});

test('a missing database, a password in the URL: named without the password', async () => {
  await assert.rejects(
    postgresHistory('postgres://postgres:s3cret@127.0.0.1:5432/etagkit_no_such_db'),
    (e: Error) => e instanceof HistoryError && /does not exist/.test(e.message) && !/s3cret/.test(e.message),
  );
});

test('readOnly refuses a schema that holds no history, and creates nothing', async () => {
  const schema = db.newSchema();
  await assert.rejects(postgresHistory(db.url(schema), { readOnly: true }), /holds no etagkit history/);
  assert.equal(await db.schemaExists(schema), false);
});

test('a bad schema name is refused before anything is sent', async () => {
  await assert.rejects(postgresHistory(db.url('Bad-Name')), /PostgreSQL identifier/);
});

test('several processes opening one new schema at once: created once, no error', async () => {
  const url = db.url(db.newSchema());
  const stores = await Promise.all(Array.from({ length: 4 }, () => postgresHistory(url)));
  await Promise.all(stores.map((s) => s.close()));
});

test('the schedule: due checks not yet queued, marked queued, overdue ones', async () => {
  const store = await postgresHistory(db.url(db.newSchema()));
  try {
    const T = 1_000_000;
    const a = await store.saveWatch(sampleDefinition(), initialState(60_000, T));
    const b = await store.saveWatch(sampleDefinition(), initialState(60_000, T + 10));
    await store.saveWatch(sampleDefinition(), initialState(60_000, T + 1000));
    const due = await store.dueChecks(T + 10, 100);
    assert.deepEqual(
      due.map((d) => [d.watchId, d.dueAt]),
      [
        [a.id, T],
        [b.id, T + 10],
      ],
    );
    assert.equal(due[0]!.host, 'example.test');
    await store.markQueued(due.slice(0, 1));
    assert.deepEqual(
      (await store.dueChecks(T + 10, 100)).map((d) => d.watchId),
      [b.id],
    );
    // The check for a's due time moves it on: due again (unqueued) at its next time.
    await store.commit(sampleCommit(a.id, a.definition.url, T, 'x', { state: { nextDueAt: T + 5 } }));
    assert.deepEqual(
      (await store.dueChecks(T + 10, 100)).map((d) => [d.watchId, d.dueAt]),
      [
        [a.id, T + 5],
        [b.id, T + 10],
      ],
    );
    assert.deepEqual(
      (await store.overdueChecks(T + 6, 100)).map((d) => d.watchId),
      [a.id],
    );
    await store.setPaused(b.definition.url, true);
    assert.deepEqual(
      (await store.dueChecks(T + 10, 100)).map((d) => d.watchId),
      [a.id],
    );
  } finally {
    await store.close();
  }
});

test('the outbox is leased: two deliverers never get the same row at once', async () => {
  const url = db.url(db.newSchema());
  const [one, two] = [await postgresHistory(url), await postgresHistory(url)];
  try {
    const w = await one.saveWatch(sampleDefinition(), initialState(60_000, 0));
    const outbox = Array.from({ length: 10 }, (_, i) => ({ target: 'webhook:x', payload: `{"n":${i}}` }));
    await one.commit(sampleCommit(w.id, w.definition.url, 0, 'x', { outbox }));
    const now = Date.parse(new Date(5).toISOString());
    const [a, b] = await Promise.all([one.pendingNotifications(now, 6), two.pendingNotifications(now, 6)]);
    const ids = [...a, ...b].map((e) => e.id);
    assert.equal(ids.length, 10);
    assert.equal(new Set(ids).size, 10, 'no row handed out twice');
    // A deliverer that died: its rows come back when the lease runs out.
    assert.equal((await one.pendingNotifications(now + 60_001, 20)).length, 10);
  } finally {
    await one.close();
    await two.close();
  }
});
