/**
 * The fleet end to end, with real Redis and PostgreSQL: one scheduler and two worker processes over a local origin
 * of 2,000 URLs on four host names; one worker is killed with SIGKILL mid-pass. Every due check is recorded exactly
 * once, every change is detected and notified, and the per-host limit holds across both workers (counted by the
 * origin).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FleetOrigin, startFleetOrigin, startWatch, until, type WatchProcess } from './support/fleet.ts';
import { deleteRedisKeys, postgresTestDatabase, REDIS_URL, requireRedis, runId } from './support/services.ts';

const URLS = 2000;
const HOSTS = 4;
const PER_HOST = 3;
const INTERVAL_S = 10;
const dir = mkdtempSync(join(tmpdir(), 'etagkit-fleet-'));
const db = postgresTestDatabase('fleet');
const prefix = `etagkit-test-${runId('fleet')}`;
const processes: WatchProcess[] = [];
let origin: FleetOrigin | undefined;

before(async () => {
  await Promise.all([db.ready(), requireRedis()]);
});
after(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await origin?.close();
  await db.drop();
  await deleteRedisKeys(prefix);
  rmSync(dir, { recursive: true, force: true });
});

test('two workers and a scheduler, one worker killed mid-pass: every due check once, every change, hosts spared', async () => {
  origin = await startFleetOrigin(URLS, HOSTS, 10);
  const file = join(dir, 'urls.txt');
  const line = (i: number) => `${origin!.url(i)} header="X-Worker: \${WORKER}"`;
  writeFileSync(file, Array.from({ length: URLS }, (_, i) => line(i)).join('\n'));
  const schema = db.newSchema();
  const common = ['--redis', REDIS_URL, '--db', db.url(schema), '--queue-prefix', prefix];
  const worker = ['--worker', ...common, '--concurrency', '8', '--per-host', String(PER_HOST)];
  const workerArgs = [...worker, '--stall-timeout', '2s', '--timeout', '5s', '--json'];

  // Notifications: the workers write them to the outbox, the scheduler (which has --webhook) sends them.
  const delivered = new Set<string>();
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const event = JSON.parse(body) as { type: string; url: string; dueAt: number };
      if (event.type === 'change') delivered.add(`${event.url} ${event.dueAt}`);
      res.writeHead(204).end();
    });
  });
  hook.listen(0, '127.0.0.1');
  await once(hook, 'listening');
  after(() => hook.close());
  const webhook = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  const scheduler = startWatch([
    file,
    '--scheduler-only',
    ...common,
    '--interval',
    `${INTERVAL_S}s`,
    '--webhook',
    webhook,
  ]);
  processes.push(scheduler);
  await scheduler.printed(/scheduling 2000 URLs/);
  const [a, b] = [startWatch(workerArgs, { WORKER: 'a' }), startWatch(workerArgs, { WORKER: 'b' })];
  processes.push(a, b);
  await Promise.all([a.printed(/worker: 8 checks at once/), b.printed(/worker: 8 checks at once/)]);

  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params))[0]!.n);
  const checks = `${schema}.checks`;
  await until('600 checks', async () => (await count(`SELECT count(*) AS n FROM ${checks}`)) >= 600, 60_000);
  // Killed while one of its requests is in flight (each worker names itself in a header from its environment).
  let killedOn = -1;
  const killed = new Promise((resolve) => a.child.once('exit', resolve));
  origin.onRequest = (i, name) => {
    if (name !== 'a' || killedOn !== -1) return false;
    killedOn = i;
    a.child.kill('SIGKILL');
    return true;
  };
  await killed;
  origin.onRequest = undefined;
  const killedAt = Date.now();
  await until("the killed worker's request cut off", async () => origin!.aborted > 0, 5000);

  // A tenth of the URLs already checked change now; each must be seen changed by a check due after this.
  const seen = (await db.query(
    `SELECT DISTINCT w.url FROM ${checks} c JOIN ${schema}.watches w ON w.id = c.watch_id`,
  )) as { url: string }[];
  const checked = new Set(seen.map((r) => r.url));
  const changed = Array.from({ length: URLS }, (_, i) => i).filter(
    (i) => i % 10 === 0 && checked.has(origin!.url(i)),
  );
  assert.ok(changed.length >= 30, `${changed.length} URLs to change`);
  const changedAt = Date.now();
  for (const i of changed) origin.change(i);
  const changedIds = `(SELECT id FROM ${schema}.watches WHERE url = ANY ($2::text[]))`;
  await until(
    'every URL checked, and every changed one after the change',
    async () =>
      (await count(`SELECT count(DISTINCT watch_id) AS n FROM ${checks}`)) === URLS &&
      (await count(
        `SELECT count(DISTINCT watch_id) AS n FROM ${checks}
         WHERE time > $1 AND status <> 'error' AND watch_id IN ${changedIds}`,
        [new Date(changedAt).toISOString(), changed.map((i) => origin!.url(i))],
      )) === changed.length,
    60_000,
  );
  const changeRows = (await db.query(
    `SELECT w.url, c.due_at FROM ${checks} c JOIN ${schema}.watches w ON w.id = c.watch_id
     WHERE c.status = 'changed'`,
  )) as { url: string; due_at: number }[];
  await until(
    'every change notified',
    async () => changeRows.every((r) => delivered.has(`${r.url} ${r.due_at}`)),
    20_000,
  );
  await Promise.all([scheduler.stop(), b.stop()]);

  const rows = (await db.query(
    `SELECT w.url, c.due_at, c.time, c.status, c.requests FROM ${checks} c
     JOIN ${schema}.watches w ON w.id = c.watch_id ORDER BY w.url, c.due_at`,
  )) as { url: string; due_at: number; time: string; status: string; requests: number }[];
  const byUrl = new Map<string, typeof rows>();
  for (const row of rows) byUrl.set(row.url, [...(byUrl.get(row.url) ?? []), row]);
  assert.equal(byUrl.size, URLS);
  assert.equal(rows.filter((r) => r.status === 'error').length, 0, 'no check failed');

  const changedUrls = new Set(changed.map((i) => origin!.url(i)));
  const intervalMs = INTERVAL_S * 1000;
  let recordedRequests = 0;
  for (const [url, list] of byUrl) {
    // Exactly once per due time, and none lost: consecutive due times one jittered interval apart (±10 %), never
    // two — unless the earlier check finished so late that its next slot had passed (the schedule moves on).
    assert.equal(new Set(list.map((r) => r.due_at)).size, list.length, `${url}: a due time recorded twice`);
    for (let i = 1; i < list.length; i++) {
      const gap = list[i]!.due_at - list[i - 1]!.due_at;
      const late = Date.parse(list[i - 1]!.time) - list[i - 1]!.due_at > 0.9 * intervalMs;
      assert.ok(gap < 1.8 * intervalMs || late, `${url}: due times ${gap} ms apart`);
    }
    assert.equal(list[0]!.status, 'new', url);
    const changes = list.filter((r) => r.status === 'changed');
    if (changedUrls.has(url)) {
      assert.equal(changes.length, 1, `${url}: change seen ${changes.length} times`);
      assert.ok(Date.parse(changes[0]!.time) > changedAt, `${url}: changed before the change`);
    } else assert.equal(changes.length, 0, `${url}: a change that was not one`);
    recordedRequests += list.reduce((sum, r) => sum + r.requests, 0);
  }

  // The origin saw what the history records, plus at most the requests of the checks killed mid-flight (each
  // retried once by the other worker); a retried job whose check was committed made no request at all.
  const served = [...origin.requests.values()].reduce((a, b) => a + b, 0);
  assert.ok(served >= recordedRequests, `${served} served < ${recordedRequests} recorded`);
  assert.ok(served - recordedRequests <= 2 * 8, `${served - recordedRequests} requests not in the history`);

  // Politeness: never more than --per-host requests in flight to one host, over both workers.
  assert.equal(origin.peak.size, HOSTS);
  for (const [host, peak] of origin.peak) assert.ok(peak <= PER_HOST, `${host}: ${peak} requests at once`);
  assert.ok(
    [...origin.peak.values()].some((p) => p === PER_HOST),
    'the limit was reached, so it was tested',
  );
  // The check the killed worker was making was retried by the other one and recorded once.
  const retried = byUrl.get(origin.url(killedOn))!.filter((r) => Date.parse(r.time) > killedAt);
  assert.ok(retried.length >= 1, 'the interrupted check was done by the other worker');
});
