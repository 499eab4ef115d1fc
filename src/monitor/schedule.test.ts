import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineWatch } from './definition.ts';
import { backoffMs, firstDue, freshUntil, nextDue, nextInterval, retryAfterMs } from './schedule.ts';

const NOW = Date.parse('2026-05-01T00:00:00Z');
const watch = defineWatch({ url: 'https://a.test/', intervalMs: 60_000 });

test('jitter is deterministic and within ±10 %; first due times spread over one interval', () => {
  const a = nextDue({ watch, dueAt: NOW, intervalMs: 60_000, now: NOW });
  assert.equal(nextDue({ watch, dueAt: NOW, intervalMs: 60_000, now: NOW }), a);
  assert.ok(a >= NOW + 54_000 && a <= NOW + 66_000, String(a - NOW));
  const firsts = Array.from({ length: 1000 }, (_, i) => firstDue(`https://a.test/${i}`, 60_000, NOW) - NOW);
  assert.ok(Math.min(...firsts) >= 0 && Math.max(...firsts) < 60_000);
  assert.ok(firsts.filter((f) => f < 30_000).length > 400, 'spread, not bunched');
});

test('a monitor that fell behind moves forward in whole steps, never into the past', () => {
  const next = nextDue({ watch, dueAt: NOW, intervalMs: 60_000, now: NOW + 10 * 60_000 });
  assert.ok(next > NOW + 10 * 60_000 && next <= NOW + 12 * 66_000);
  assert.equal(
    nextDue({ watch, dueAt: NOW, intervalMs: 60_000, now: NOW, notBefore: NOW + 3_600_000 }),
    NOW + 3_600_000,
  );
});

test('adaptive (Nutch AdaptiveFetchSchedule): ×1.4 unchanged, ×0.8 changed, within bounds', () => {
  const adaptive = defineWatch({
    url: 'https://a.test/',
    intervalMs: 60_000,
    adaptive: true,
    minIntervalMs: 30_000,
    maxIntervalMs: 100_000,
  });
  assert.equal(nextInterval(adaptive, 60_000, 'unchanged'), 84_000);
  assert.equal(nextInterval(adaptive, 84_000, 'unchanged'), 100_000);
  assert.equal(nextInterval(adaptive, 60_000, 'changed'), 48_000);
  assert.equal(nextInterval(adaptive, 31_000, 'changed'), 30_000);
  assert.equal(nextInterval(adaptive, 60_000, 'error'), 60_000);
  assert.equal(nextInterval(watch, 999, 'unchanged'), 60_000, 'fixed without adaptive');
});

test('Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); back-off doubles without it', () => {
  assert.equal(retryAfterMs('120', NOW), 120_000);
  assert.equal(retryAfterMs('Fri, 01 May 2026 00:10:00 GMT', NOW), 600_000);
  assert.equal(retryAfterMs('soon', NOW), undefined);
  assert.equal(retryAfterMs('-5', NOW), undefined);
  assert.equal(retryAfterMs('99999999999', NOW), undefined);
  assert.equal(backoffMs(60_000, 1, undefined), 60_000);
  assert.equal(backoffMs(60_000, 3, undefined), 240_000);
  assert.equal(backoffMs(60_000, 30, undefined), 86_400_000);
  assert.equal(backoffMs(60_000, 3, 5000), 5000);
});

test('freshness lower bound: max-age and Expires only (RFC 9111 §4.2.1), not the heuristic', () => {
  assert.equal(freshUntil(200, { 'cache-control': 'max-age=600' }, NOW), NOW + 600_000);
  assert.equal(
    freshUntil(200, { date: 'Fri, 01 May 2026 00:00:00 GMT', expires: 'Fri, 01 May 2026 01:00:00 GMT' }, NOW),
    NOW + 3_600_000,
  );
  assert.equal(freshUntil(200, { 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' }, NOW), undefined);
});
