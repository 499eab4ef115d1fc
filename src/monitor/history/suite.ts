/**
 * The one test suite every HistoryStore passes (SQLite today; PostgreSQL for the fleet runs it unchanged). It
 * registers node:test tests, so it is test-only code: nothing at runtime imports it.
 *
 * @example
 * // history/my-store.test.ts
 * import { runHistorySuite } from './suite.ts';
 * runHistorySuite('myStore', () => myStore());
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import type { CheckEvent, WatchDefinition, WatchState } from '../types.ts';
import { type CheckCommit, type HistoryStore, initialState } from './store.ts';

export type MakeHistory = () => Promise<HistoryStore>;

let counter = 0;

export function sampleDefinition(overrides: Partial<WatchDefinition> = {}): WatchDefinition {
  return {
    url: `https://example.test/page/${++counter}`,
    intervalMs: 60_000,
    headers: {},
    ignore: [],
    whitespace: 'collapse',
    adaptive: false,
    minIntervalMs: 7_500,
    maxIntervalMs: 86_400_000,
    respectCacheHeaders: false,
    ...overrides,
  };
}

const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A commit for `watchId` at `dueAt` whose content is `text` (version `version`). */
export function sampleCommit(
  watchId: number,
  url: string,
  dueAt: number,
  text: string | undefined,
  overrides: {
    status?: CheckEvent['status'];
    version?: number;
    state?: Partial<WatchState>;
    outbox?: CheckCommit['outbox'];
  } = {},
): CheckCommit {
  const digest =
    text === undefined
      ? undefined
      : `sha256:${Buffer.from(text).toString('hex').padEnd(64, '0').slice(0, 64)}`;
  const version = overrides.version ?? 1;
  const event: CheckEvent = {
    time: new Date(dueAt + 5).toISOString(),
    url,
    status: overrides.status ?? 'new',
    httpStatus: 200,
    etag: '"e"',
    lastModified: null,
    digest: digest ?? null,
    detectedBy: null,
    bytes: text?.length ?? 0,
    error: null,
    reason: null,
    version,
    truth: false,
    requests: 1,
    dueAt,
  };
  return {
    watchId,
    event,
    rawDigest: digest,
    state: { ...initialState(60_000, dueAt + 60_000), digest, etag: '"e"', version, ...overrides.state },
    snapshot:
      digest === undefined ? undefined : { digest, kind: 'text', size: Buffer.byteLength(text!), text },
    outbox: overrides.outbox ?? [],
  };
}

export function runHistorySuite(name: string, make: MakeHistory): void {
  const open: HistoryStore[] = [];
  const fresh = async () => {
    const store = await make();
    open.push(store);
    return store;
  };
  const addWatch = async (store: HistoryStore, overrides: Partial<WatchDefinition> = {}) =>
    store.saveWatch(sampleDefinition(overrides), initialState(60_000, T0));

  describe(`${name}: HistoryStore contract`, () => {
    after(async () => {
      await Promise.allSettled(open.map((s) => s.close()));
    });

    test('saveWatch adds, then updates the definition keeping state; removeWatch deletes it with its history', async () => {
      const store = await fresh();
      const added = await addWatch(store);
      assert.equal(added.state.nextDueAt, T0);
      assert.equal(added.paused, false);
      await store.commit(sampleCommit(added.id, added.definition.url, T0, 'one'));
      const updated = await store.saveWatch({ ...added.definition, intervalMs: 120_000 }, initialState(1, 1));
      assert.equal(updated.id, added.id);
      assert.equal(updated.definition.intervalMs, 120_000);
      assert.equal(updated.state.version, 1, 'state kept');
      assert.equal((await store.checks(added.definition.url)).length, 1);
      assert.equal(await store.removeWatch(added.definition.url), true);
      assert.equal(await store.watch(added.definition.url), undefined);
      assert.deepEqual(await store.checks(added.definition.url), []);
      assert.equal(await store.removeWatch(added.definition.url), false);
    });

    test('setPaused is kept, and saveWatch unpauses', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      assert.equal(await store.setPaused(w.definition.url, true), true);
      assert.equal((await store.watch(w.definition.url))!.paused, true);
      await store.saveWatch(w.definition, initialState(1, 1));
      assert.equal((await store.watch(w.definition.url))!.paused, false);
      assert.equal(await store.setPaused('https://example.test/none', true), false);
    });

    test('commit writes the check, the state (validators with their snapshot) and the snapshot together', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      const commit = sampleCommit(w.id, w.definition.url, T0, 'héllo wörld'.repeat(100));
      assert.equal(await store.commit(commit), true);
      const [check] = await store.checks(w.definition.url);
      assert.deepEqual({ ...check, id: 0 }, { ...commit.event, id: 0 });
      const state = (await store.watch(w.definition.url))!.state;
      assert.deepEqual(state, commit.state);
      assert.equal(await store.hasSnapshot(state.digest!), true);
      assert.deepEqual(await store.snapshot(state.digest!), commit.snapshot);
    });

    test('commit is idempotent per (watch, due time): the second writes nothing and resolves false', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      assert.equal(await store.commit(sampleCommit(w.id, w.definition.url, T0, 'a')), true);
      const again = sampleCommit(w.id, w.definition.url, T0, 'b', {
        version: 2,
        outbox: [{ target: 't', payload: '{}' }],
      });
      assert.equal(await store.commit(again), false);
      assert.equal((await store.checks(w.definition.url)).length, 1);
      assert.equal((await store.watch(w.definition.url))!.state.version, 1, 'state not overwritten');
      assert.equal(await store.hasSnapshot(again.snapshot!.digest), false, 'no snapshot from the duplicate');
      assert.deepEqual(await store.pendingNotifications(Number.MAX_SAFE_INTEGER, 10), []);
    });

    test('concurrent commits of the same (watch, due time) record exactly one', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => store.commit(sampleCommit(w.id, w.definition.url, T0, `c${i}`))),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await store.checks(w.definition.url)).length, 1);
    });

    test('a commit for a removed watch writes nothing', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      await store.removeWatch(w.definition.url);
      assert.equal(await store.commit(sampleCommit(w.id, w.definition.url, T0, 'x')), false);
      assert.equal(await store.hasSnapshot(sampleCommit(w.id, '', T0, 'x').snapshot!.digest), false);
    });

    test('snapshots are content-addressed: an identical content is stored once for any number of checks', async () => {
      const store = await fresh();
      const a = await addWatch(store);
      const b = await addWatch(store);
      for (let i = 0; i < 3; i++) {
        await store.commit(sampleCommit(a.id, a.definition.url, T0 + i, 'same'));
        await store.commit(sampleCommit(b.id, b.definition.url, T0 + i, 'same'));
      }
      const digest = sampleCommit(a.id, '', T0, 'same').snapshot!.digest;
      assert.equal((await store.snapshot(digest))!.text, 'same');
      // Pruning everything but the current version leaves one snapshot, still readable.
      await store.prune({ maxChecks: 1, maxAgeMs: 1e12 }, T0);
      assert.equal((await store.snapshot(digest))!.text, 'same');
    });

    test('a binary snapshot keeps its digest and size, no content', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      const commit = sampleCommit(w.id, w.definition.url, T0, 'bin');
      commit.snapshot = { ...commit.snapshot!, kind: 'binary', text: undefined, size: 12345 };
      await store.commit(commit);
      assert.deepEqual(await store.snapshot(commit.snapshot.digest), commit.snapshot);
    });

    test('snapshot text round-trips exactly (property)', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      let due = T0;
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 2000 }), async (text) => {
          const commit = sampleCommit(w.id, w.definition.url, ++due, text);
          commit.snapshot!.digest = `sha256:${due}`;
          commit.state.digest = commit.snapshot!.digest;
          await store.commit(commit);
          assert.equal((await store.snapshot(commit.snapshot!.digest))!.text, text);
        }),
        { numRuns: 60 },
      );
    });

    test('checks come newest first, with limit and beforeId; versions list the changes', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      const url = w.definition.url;
      await store.commit(sampleCommit(w.id, url, T0, 'v1', { version: 1 }));
      await store.commit(sampleCommit(w.id, url, T0 + 1000, 'v1', { version: 1, status: 'unchanged' }));
      await store.commit(sampleCommit(w.id, url, T0 + 2000, 'v2', { version: 2, status: 'changed' }));
      const checks = await store.checks(url);
      assert.deepEqual(
        checks.map((c) => c.dueAt),
        [T0 + 2000, T0 + 1000, T0],
      );
      assert.deepEqual(
        (await store.checks(url, { limit: 1, beforeId: checks[0]!.id })).map((c) => c.dueAt),
        [T0 + 1000],
      );
      assert.deepEqual(
        (await store.versions(url)).map((v) => [v.version, v.time]),
        [
          [2, new Date(T0 + 2005).toISOString()],
          [1, new Date(T0 + 5).toISOString()],
        ],
      );
    });

    test('outbox: committed with the check, pending until delivered, retried later, or kept undeliverable', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      const outbox = [
        { target: 'webhook:a', payload: '{"n":1}' },
        { target: 'webhook:b', payload: '{"n":2}' },
      ];
      await store.commit(sampleCommit(w.id, w.definition.url, T0, 'x', { outbox }));
      const now = T0 + 5;
      const pending = await store.pendingNotifications(now, 10);
      assert.deepEqual(
        pending.map((p) => [p.target, p.payload, p.attempts]),
        outbox.map((o) => [o.target, o.payload, 0]),
      );
      await store.settleNotification(pending[0]!.id, { delivered: true });
      await store.settleNotification(pending[1]!.id, { retryAt: now + 1000, error: 'HTTP 500' });
      assert.deepEqual(await store.pendingNotifications(now, 10), []);
      assert.equal(await store.nextNotificationAt(), now + 1000);
      const [retry] = await store.pendingNotifications(now + 1000, 10);
      assert.equal(retry!.attempts, 1);
      await store.settleNotification(retry!.id, { retryAt: undefined, error: 'gave up' });
      assert.deepEqual(await store.pendingNotifications(Number.MAX_SAFE_INTEGER, 10), []);
      assert.equal(await store.nextNotificationAt(), undefined);
    });

    test('prune keeps maxChecks per watch and the current version, drops unreferenced snapshots', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      const url = w.definition.url;
      await store.commit(sampleCommit(w.id, url, T0, 'old', { version: 1 }));
      await store.commit(sampleCommit(w.id, url, T0 + 1, 'current', { version: 2, status: 'changed' }));
      for (let i = 2; i < 12; i++)
        await store.commit(sampleCommit(w.id, url, T0 + i, 'current', { version: 2, status: 'unchanged' }));
      const result = await store.prune({ maxChecks: 3, maxAgeMs: 1e12 }, T0 + 100);
      const kept = await store.checks(url);
      assert.equal(kept.length, 4, 'three newest plus the row that first saw the current version');
      assert.equal(kept.at(-1)!.status, 'changed');
      assert.equal(result.checks, 8);
      assert.equal(result.snapshots, 1);
      assert.equal(await store.hasSnapshot(sampleCommit(w.id, url, 0, 'old').snapshot!.digest), false);
      assert.equal(await store.hasSnapshot(sampleCommit(w.id, url, 0, 'current').snapshot!.digest), true);
    });

    test('prune by age', async () => {
      const store = await fresh();
      const w = await addWatch(store);
      const url = w.definition.url;
      await store.commit(sampleCommit(w.id, url, T0, 'a', { version: 1 }));
      await store.commit(sampleCommit(w.id, url, T0 + 86_400_000, 'a', { version: 1, status: 'unchanged' }));
      await store.commit(
        sampleCommit(w.id, url, T0 + 2 * 86_400_000, 'a', { version: 1, status: 'unchanged' }),
      );
      await store.prune({ maxChecks: 100, maxAgeMs: 0.5 * 86_400_000 }, T0 + 2 * 86_400_000 + 10);
      assert.deepEqual(
        (await store.checks(url)).map((c) => c.dueAt),
        [T0 + 2 * 86_400_000, T0],
        'the old row that first saw the current version stays',
      );
    });

    test('revision grows with every write', async () => {
      const store = await fresh();
      const r0 = await store.revision();
      const w = await addWatch(store);
      const r1 = await store.revision();
      await store.commit(sampleCommit(w.id, w.definition.url, T0, 'x'));
      const r2 = await store.revision();
      await store.setPaused(w.definition.url, true);
      const r3 = await store.revision();
      assert.ok(r0 < r1 && r1 < r2 && r2 < r3, `${r0} ${r1} ${r2} ${r3}`);
      assert.equal(await store.revision(), r3, 'reads do not move it');
    });
  });
}
