import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CheckRecord } from '../types.ts';
import { bucketChecks, validatorsSeen } from './data.ts';

let id = 0;
function check(time: string, fields: Partial<CheckRecord> = {}): CheckRecord {
  return {
    id: ++id,
    time,
    url: 'http://a.example/',
    status: 'unchanged',
    httpStatus: 200,
    etag: null,
    lastModified: null,
    digest: 'sha256:x',
    detectedBy: 'digest',
    bytes: 1000,
    error: null,
    reason: null,
    version: 1,
    truth: false,
    requests: 1,
    dueAt: 0,
    ...fields,
  };
}

test('timeline: checks fall in round buckets; a 304 would have cost the last full response', () => {
  // Newest first, as the store returns them.
  const a = [
    check('2026-01-01T00:03:10Z', { status: 'changed', bytes: 1200, version: 2 }),
    check('2026-01-01T00:02:10Z', { httpStatus: 304, detectedBy: '304', bytes: 100 }),
    check('2026-01-01T00:01:10Z', { httpStatus: 304, detectedBy: '304', bytes: 100 }),
    check('2026-01-01T00:00:10Z', { status: 'new', bytes: 1000 }),
  ];
  const b = [
    check('2026-01-01T00:02:30Z', { status: 'error', httpStatus: null, bytes: 0, error: 'refused' }),
  ];
  const t = bucketChecks([a, b]);
  assert.equal(t.bucketMs, 10_000);
  assert.equal(t.time[0], Date.parse('2026-01-01T00:00:10Z'));
  const at = (iso: string) => t.time.indexOf(Date.parse(iso));
  assert.equal(
    t.checks.reduce((x, y) => x + y),
    5,
  );
  assert.equal(t.notModified[at('2026-01-01T00:01:10Z')], 1);
  assert.equal(t.bytes[at('2026-01-01T00:01:10Z')], 100);
  assert.equal(t.unconditionalBytes[at('2026-01-01T00:01:10Z')], 1000);
  assert.equal(t.errors[at('2026-01-01T00:02:30Z')], 1);
  assert.equal(t.changes[at('2026-01-01T00:03:10Z')], 1);
  assert.equal(
    t.bytes.reduce((x, y) => x + y),
    2400,
  );
  assert.equal(
    t.unconditionalBytes.reduce((x, y) => x + y),
    4200,
  );
});

test('timeline: a long history gets larger buckets, at most 1500 of them; none is empty history', () => {
  const spread = Array.from({ length: 50 }, (_, i) =>
    check(new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString()),
  );
  const t = bucketChecks([spread.reverse()]);
  assert.ok(t.time.length <= 1500);
  assert.equal(t.bucketMs, 3_600_000);
  assert.equal(bucketChecks([]).time.length, 0);
  assert.equal(bucketChecks([[]]).time.length, 0);
});

test('validators seen: distinct pairs, newest first, with counts and first/last sighting', () => {
  const seen = validatorsSeen([
    check('2026-01-01T00:03:00Z', { etag: '"b"' }),
    check('2026-01-01T00:02:00Z', { etag: '"a"' }),
    check('2026-01-01T00:01:00Z', { etag: '"a"' }),
    check('2026-01-01T00:00:30Z'),
  ]);
  assert.deepEqual(
    seen.map((v) => [v.etag, v.checks, v.firstSeen, v.lastSeen]),
    [
      ['"b"', 1, '2026-01-01T00:03:00Z', '2026-01-01T00:03:00Z'],
      ['"a"', 2, '2026-01-01T00:01:00Z', '2026-01-01T00:02:00Z'],
    ],
  );
});
