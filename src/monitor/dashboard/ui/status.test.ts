import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHANGED_WINDOW_MS, SPARK_BUCKETS, sparkBuckets, statusOf } from './status.ts';

const NOW = Date.UTC(2026, 0, 10, 12);

test('status: an error first, then a change within 24 h, then unreliable validators', () => {
  const recent = NOW - 60_000;
  assert.equal(statusOf({ health: 'error', lastChangeAt: recent }, NOW), 'error');
  assert.equal(statusOf({ health: 'unreliable', lastChangeAt: recent }, NOW), 'changed');
  assert.equal(statusOf({ health: 'ok', lastChangeAt: NOW - CHANGED_WINDOW_MS - 1 }, NOW), 'ok');
  assert.equal(statusOf({ health: 'unreliable', lastChangeAt: null }, NOW), 'unreliable');
  assert.equal(statusOf({ health: 'pending', lastChangeAt: null }, NOW), 'pending');
});

test('sparkline: changes per 6 h over 7 days, today on the right, older ones dropped', () => {
  const b = sparkBuckets(
    [NOW - 1000, NOW - 2000, NOW - 7 * 3_600_000, NOW - 8 * 86_400_000, NOW + 1000],
    NOW,
  );
  assert.equal(b.length, SPARK_BUCKETS);
  assert.equal(b[SPARK_BUCKETS - 1], 2);
  assert.equal(b[SPARK_BUCKETS - 2], 1);
  assert.equal(
    b.reduce((x, y) => x + y),
    3,
  );
});
