import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looksFingerprinted } from './checks/cache-control.ts';
import { planProbes } from './probes.ts';

test('planProbes: the most revealing probes first; none that the validators cannot support', () => {
  const both = planProbes({
    etag: '"v1"',
    lastModified: 'Tue, 02 Jan 2024 03:04:05 GMT',
    lastModifiedDate: new Date('2024-01-02T03:04:05Z'),
  });
  assert.deepEqual(
    both.map((p) => p.name),
    [
      'inm-match',
      'inm-other',
      'ims-equal',
      'ims-before',
      'encoding',
      'inm-weak',
      'if-match-other',
      'head',
      'inm-list',
      'ims-invalid',
      'get-again',
      'inm-star',
    ],
  );
  assert.deepEqual(
    both[3]!.headers.at(-1),
    ['If-Modified-Since', 'Tue, 02 Jan 2024 03:04:04 GMT'],
    'one second before',
  );
  assert.deepEqual(both[5]!.headers.at(-1), ['If-None-Match', 'W/"v1"'], 'the weak form of a strong tag');
  assert.deepEqual(
    planProbes({ etag: 'W/"v1"' })
      .find((p) => p.name === 'inm-weak')
      ?.headers.at(-1),
    ['If-None-Match', '"v1"'],
    'the strong form of a weak tag',
  );
  const none = planProbes({});
  assert.deepEqual(
    none.map((p) => p.name),
    ['encoding', 'if-match-other', 'head', 'get-again'],
  );
});

const fingerprints: [string, boolean][] = [
  ['/static/js/main.3f9a1c2b.js', true], // webpack, hex
  ['/assets/index-BxZ3k9aQ.js', true], // Vite, base64url
  ['/_next/static/chunks/app-1234abcd5678ef90.js', true],
  ['/app.js', false],
  ['/users/12345678', false], // no extension
  ['/main-stylesheet.css', false], // a word, not a hash
  ['/report-20240102.pdf', false], // digits only
  ['/a.b.c.d.e.f.g.h.i.j', false],
];
for (const [path, expected] of fingerprints)
  test(`looksFingerprinted(${path}) is ${expected}`, () => assert.equal(looksFingerprinted(path), expected));
