/**
 * `etagkit watch --redis`: usage errors (exit 2), services unreachable at start (exit 1, one clear line), and two
 * schedulers over one history enqueueing each check once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectRedis, loadFleetModules } from '../src/monitor/fleet/queue.ts';
import { FleetScheduler } from '../src/monitor/fleet/scheduler.ts';
import { postgresHistory } from '../src/monitor/history/postgres.ts';
import { initialState } from '../src/monitor/history/store.ts';
import { sampleDefinition } from '../src/monitor/history/suite.ts';
import { runCli } from './support/cli.ts';
import { deleteRedisKeys, postgresTestDatabase, REDIS_URL, requireRedis, runId } from './support/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'etagkit-fleet-cli-'));
const db = postgresTestDatabase('fleetcli');
const prefix = `etagkit-test-${runId('fleetcli')}`;
const file = join(dir, 'urls.txt');
writeFileSync(file, 'http://127.0.0.1:9/a\n');

before(async () => {
  await Promise.all([db.ready(), requireRedis()]);
});
after(async () => {
  await db.drop();
  await deleteRedisKeys(prefix);
  rmSync(dir, { recursive: true, force: true });
});

test('usage errors exit 2 with the usage', async () => {
  const pgUrl = db.url('etagkit_unused');
  const cases: [string[], RegExp][] = [
    [[file, '--redis', REDIS_URL], /--redis needs a history every machine shares: --db postgres:/],
    [[file, '--redis', 'http://x', '--db', pgUrl], /--redis must be a redis:\/\//],
    [[file, '--worker'], /--worker needs --redis/],
    [[file, '--stall-timeout', '5s'], /--stall-timeout needs --redis/],
    [[file, '--redis', REDIS_URL, '--db', pgUrl, '--worker'], /a --worker takes no URL file/],
    [['--redis', REDIS_URL, '--db', pgUrl], /which URL file/],
    [[file, '--redis', REDIS_URL, '--db', pgUrl, '--once'], /--once checks in one process/],
    [['--redis', REDIS_URL, '--db', pgUrl, '--worker', '--scheduler-only'], /exclude each other/],
    [[file, '--redis', REDIS_URL, '--db', pgUrl, '--stall-timeout', '10ms'], /at least 1s/],
    [[file, '--redis', REDIS_URL, '--db', pgUrl, '--queue-prefix', 'a b'], /--queue-prefix must be/],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(['watch', ...args]);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(' '));
    assert.match(run.stderr, /usage: etagkit watch/);
  }
});

test('Redis or PostgreSQL unreachable at start: one clear line, exit 1, no password shown', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['--worker', '--redis', 'redis://:pw@127.0.0.1:1', '--db', db.url(db.newSchema())],
      /^etagkit watch: cannot reach Redis at 127\.0\.0\.1:1 \(ECONNREFUSED\); start it or check --redis$/m,
    ],
    [
      ['--worker', '--redis', REDIS_URL, '--db', 'postgres://u:pw@127.0.0.1:1/test'],
      /^etagkit watch: cannot reach PostgreSQL at 127\.0\.0\.1:1\/test \(schema etagkit\) \(ECONNREFUSED\); start it or check --db$/m,
    ],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(['watch', ...args]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /pw/);
  }
});

test('two schedulers over one history enqueue each check once (job id from watch and due time)', async () => {
  const store = await postgresHistory(db.url(db.newSchema()));
  const { Redis, bullmq } = await loadFleetModules();
  const redis = await connectRedis(Redis, REDIS_URL);
  const now = Date.now();
  for (let i = 0; i < 300; i++) await store.saveWatch(sampleDefinition(), initialState(60_000, now - i));
  const make = () =>
    new FleetScheduler({
      store,
      redis,
      prefix,
      targets: new Map(),
      retention: { maxChecks: 10, maxAgeMs: 1e12 },
      tickMs: 3_600_000,
    });
  const [one, two] = [make(), make()];
  try {
    await Promise.all([one.start(), two.start()]);
    await Promise.all([one.tick(), two.tick(), one.tick()]);
    const queue = new bullmq.Queue('checks', { connection: redis, prefix });
    const counts = await queue.getJobCounts('wait', 'delayed', 'active');
    assert.equal(counts.wait! + counts.delayed! + counts.active!, 300);
    assert.equal((await store.dueChecks(now + 10_000, 1000)).length, 0, 'all marked queued');
    await queue.close();
  } finally {
    await one.stop();
    await two.stop();
    redis.disconnect();
    await store.close();
  }
});
