/**
 * The fleet when its services go away mid-run. Redis and PostgreSQL are shared by other test runs, so they are
 * "lost" through TCP proxies this test cuts (every connection dropped, new ones refused) and restores. The process
 * keeps running through both outages, resumes by itself, and records every due check once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FleetOrigin, startFleetOrigin, startWatch, until, type WatchProcess } from './support/fleet.ts';
import {
  deleteRedisKeys,
  POSTGRES_URL,
  postgresTestDatabase,
  REDIS_URL,
  requireRedis,
  runId,
} from './support/services.ts';

const URLS = 40;
const INTERVAL_MS = 2000;
const dir = mkdtempSync(join(tmpdir(), 'etagkit-fleet-faults-'));
const db = postgresTestDatabase('fleetfaults');
const prefix = `etagkit-test-${runId('fleetfaults')}`;
let watch: WatchProcess | undefined;
let origin: FleetOrigin | undefined;
const proxies: Proxy[] = [];

before(async () => {
  await Promise.all([db.ready(), requireRedis()]);
});
after(async () => {
  await watch?.stop('SIGKILL');
  await origin?.close();
  for (const p of proxies) await p.close();
  await db.drop();
  await deleteRedisKeys(prefix);
  rmSync(dir, { recursive: true, force: true });
});

interface Proxy {
  port: number;
  /** Drops every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function tcpProxy(target: URL): Promise<Proxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  };
  const cut = async () => {
    const closed = new Promise((resolve) => server!.close(resolve));
    for (const s of sockets) s.destroy();
    await closed;
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

test('Redis lost, then PostgreSQL lost, mid-run: the fleet waits, resumes, and records each due check once', async () => {
  origin = await startFleetOrigin(URLS, 2, 5);
  const file = join(dir, 'urls.txt');
  writeFileSync(file, Array.from({ length: URLS }, (_, i) => origin!.url(i)).join('\n'));
  const redisProxy = await tcpProxy(new URL(REDIS_URL));
  const pgProxy = await tcpProxy(new URL(POSTGRES_URL));
  proxies.push(redisProxy, pgProxy);
  const schema = db.newSchema();
  const pgUrl = new URL(POSTGRES_URL);
  pgUrl.port = String(pgProxy.port);
  pgUrl.searchParams.set('schema', schema);
  watch = startWatch([
    file,
    '--redis',
    `redis://127.0.0.1:${redisProxy.port}`,
    '--db',
    pgUrl.href,
    '--queue-prefix',
    prefix,
    '--interval',
    `${INTERVAL_MS / 1000}s`,
    '--stall-timeout',
    '2s',
    '--timeout',
    '2s',
  ]);
  await watch.printed(/worker: \d+ checks at once/);
  const checks = `${schema}.checks`;
  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params))[0]!.n);
  const checkedSince = (t: number) =>
    count(`SELECT count(DISTINCT watch_id) AS n FROM ${checks} WHERE time > $1`, [new Date(t).toISOString()]);

  const served = () => [...origin!.requests.values()].reduce((a, b) => a + b, 0);
  await until(
    'a first pass',
    async () => (await count(`SELECT count(*) AS n FROM ${checks}`)) >= URLS,
    30_000,
  );
  for (const proxy of [redisProxy, pgProxy]) {
    if (proxy === pgProxy) {
      // Hold the origin's answers until PostgreSQL is gone, so checks are in flight when it goes: their commits fail.
      let release!: () => void;
      origin.gate = new Promise((resolve) => (release = resolve));
      const before = served();
      await until('a check in flight', async () => served() > before, 10_000);
      await proxy.cut();
      origin.gate = undefined;
      release();
    } else await proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 3000)); // the outage itself: a duration, not a wait
    assert.equal(watch.child.exitCode, null, `still running during the outage:\n${watch.output()}`);
    await proxy.restore();
    const restoredAt = Date.now();
    await until(
      'every URL checked again after the outage',
      async () => (await checkedSince(restoredAt)) === URLS,
      30_000,
    );
  }
  assert.equal(await watch.stop(), 0);
  // The checks in flight when PostgreSQL went failed to commit and were retried; the rows below show none was lost.
  assert.match(watch.output(), /job failed: http\S+: .*PostgreSQL.*\(retried\)/);

  const rows = (await db.query(
    `SELECT watch_id, due_at, time, requests FROM ${checks} ORDER BY watch_id, due_at`,
  )) as { watch_id: number; due_at: number; time: string; requests: number }[];
  const byWatch = new Map<number, typeof rows>();
  for (const row of rows) byWatch.set(row.watch_id, [...(byWatch.get(row.watch_id) ?? []), row]);
  for (const [id, list] of byWatch)
    for (let i = 1; i < list.length; i++) {
      const gap = list[i]!.due_at - list[i - 1]!.due_at;
      const late = Date.parse(list[i - 1]!.time) - list[i - 1]!.due_at > 0.9 * INTERVAL_MS;
      assert.ok(gap > 0 && (gap < 1.8 * INTERVAL_MS || late), `watch ${id}: due times ${gap} ms apart`);
    }
  // Requests the history does not account for: only checks whose commit failed while PostgreSQL was away (retried
  // once it was back); none from jobs retried after their check was committed.
  const recorded = rows.reduce((sum, r) => sum + r.requests, 0);
  assert.ok(
    served() >= recorded && served() - recorded <= 4 * URLS,
    `${served()} served, ${recorded} recorded`,
  );
});
