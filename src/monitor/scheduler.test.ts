import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from './scheduler.ts';

test('per-host rate: a burst of `rate`, then one check per 1/rate seconds', async () => {
  const started: number[] = [];
  const scheduler = new Scheduler({
    concurrency: 100,
    perHost: 100,
    perHostRate: 20,
    now: Date.now,
    run: async () => {
      started.push(Date.now());
      return { nextDueAt: undefined, hostRetryAt: undefined };
    },
  });
  const t0 = Date.now();
  for (let i = 0; i < 30; i++) scheduler.schedule(i, 'a.test', t0);
  scheduler.start();
  await scheduler.drained();
  await scheduler.stop();
  assert.equal(started.length, 30);
  assert.ok(started[19]! - t0 < 100, 'the burst starts at once');
  assert.ok(started[29]! - t0 >= 450, `ten more at 20/s take 0.5 s, took ${started[29]! - t0} ms`);
});

test('order by due time; a host pause (429) holds that host only; rescheduling moves a watch', async () => {
  const ran: string[] = [];
  const t0 = Date.now();
  const scheduler = new Scheduler({
    concurrency: 1,
    perHost: 1,
    perHostRate: 0,
    now: Date.now,
    run: async (id) => {
      ran.push(String(id));
      return { nextDueAt: undefined, hostRetryAt: id === 1 ? Date.now() + 150 : undefined };
    },
  });
  // All due already (in the past), so that `drained()` cannot resolve between two of them on a fast machine.
  scheduler.schedule(2, 'a.test', t0 - 9);
  scheduler.schedule(1, 'a.test', t0 - 10);
  scheduler.schedule(3, 'b.test', t0 - 8);
  scheduler.schedule(4, 'b.test', t0 + 100_000);
  scheduler.schedule(4, 'b.test', t0 - 7); // rescheduled earlier: runs once, at the new time
  scheduler.schedule(5, 'b.test', t0 - 6);
  scheduler.unschedule(5);
  scheduler.start();
  await scheduler.drained();
  await scheduler.stop();
  assert.deepEqual(ran, ['1', '3', '4', '2'], 'watch 2 waits for the pause of a.test; b.test goes on');
});
