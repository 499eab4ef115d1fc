import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, duration, explainCheck, percent, relativeTime, splitUrl } from './format.ts';

const NOW = Date.UTC(2026, 0, 10, 12);

test('relative times', () => {
  const rows: [number | null, string][] = [
    [null, '—'],
    [NOW - 10_000, 'just now'],
    [NOW - 4 * 60_000, '4 min ago'],
    [NOW - 3 * 3_600_000, '3 h ago'],
    [NOW - 30 * 3_600_000, 'yesterday'],
    [NOW - 12 * 86_400_000, '12 d ago'],
    [NOW + 5 * 60_000, 'in 5 min'],
    [NOW + 10_000, 'in a moment'],
  ];
  for (const [at, said] of rows) assert.equal(relativeTime(at, NOW), said, String(at));
});

test('bytes, percentages and durations', () => {
  assert.equal(bytes(0), '0 B');
  assert.equal(bytes(999), '999 B');
  assert.equal(bytes(1234), '1.2 kB');
  assert.equal(bytes(56_700_000), '57 MB');
  assert.equal(bytes(-541), '−541 B');
  assert.equal(percent(0.5), '50 %');
  assert.equal(percent(0.996), '99.6 %');
  assert.equal(percent(1), '100 %');
  assert.equal(duration(1000), '1s');
  assert.equal(duration(90_000), '1m 30s');
  assert.equal(duration(7_200_000), '2h');
  assert.equal(duration(86_400_000 + 3_600_000 + 60_000), '1d 1h');
});

test('each check decision is explained in words', () => {
  const base = {
    status: 'unchanged',
    httpStatus: 200,
    detectedBy: null,
    reason: null,
    truth: false,
    error: null,
  } as const;
  assert.match(
    explainCheck({ ...base, httpStatus: 304, detectedBy: '304' }),
    /304 Not Modified: the server confirmed/,
  );
  assert.match(
    explainCheck({ ...base, detectedBy: 'etag', truth: true }),
    /same ETag.*"truth" fetch verified/,
  );
  assert.match(explainCheck({ ...base, status: 'changed', reason: 'false-304' }), /false 304/);
  assert.match(explainCheck({ ...base, reason: 'etag-unstable' }), /If-None-Match is no longer sent/);
  assert.match(explainCheck({ ...base, reason: 'normalized', detectedBy: 'digest' }), /not the watched part/);
  assert.match(
    explainCheck({ ...base, status: 'changed', detectedBy: 'last-modified' }),
    /Last-Modified date/,
  );
  assert.equal(explainCheck({ ...base, status: 'error', error: 'HTTP 500' }), 'HTTP 500');
  assert.equal(explainCheck({ ...base, status: 'new' }), 'First sighting of this content.');
});

test('URLs split into host and the rest', () => {
  assert.deepEqual(splitUrl('https://shop.example:8443/a/b?c=1'), {
    host: 'shop.example:8443',
    rest: '/a/b?c=1',
  });
  assert.deepEqual(splitUrl('not a url'), { host: 'not a url', rest: '' });
});
