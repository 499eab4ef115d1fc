import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseAcceptEncoding, selectCoding } from './negotiate.ts';

const rows: [string, string | undefined, string | undefined][] = [
  ['§12.5.3: no field → identity', undefined, undefined],
  ['§12.5.3: gzip', 'gzip', 'gzip'],
  ['§12.5.3: br and gzip equal → our preference, br', 'gzip, br', 'br'],
  ['§12.5.3: higher q wins', 'br;q=0.5, gzip;q=0.9', 'gzip'],
  ['§12.5.3: q=0 means not acceptable', 'br;q=0, gzip;q=0', undefined],
  ['§12.5.3: * covers codings not listed', '*', 'br'],
  ['§12.5.3: * with an explicit refusal', '*, br;q=0', 'gzip'],
  ['§8.4.1.3: x-gzip is gzip', 'x-gzip', 'gzip'],
  ['§12.5.3: names are case-insensitive, OWS around weight', 'GZIP ; Q=1', 'gzip'],
  ['§12.5.3: identity only', 'identity', undefined],
  ['§12.5.3: a malformed weight invalidates the member', 'br;q=2, gzip', 'gzip'],
];

for (const [name, header, expected] of rows) {
  test(name, () => assert.equal(selectCoding(header), expected));
}

test('available codings restrict the choice', () => {
  assert.equal(selectCoding('br, gzip', ['gzip']), 'gzip');
  assert.equal(selectCoding('br', ['gzip']), undefined);
});

test('first occurrence of a coding wins', () => {
  assert.equal(parseAcceptEncoding('gzip;q=0, gzip').get('gzip'), 0);
});

test('property: never throws, always returns a known coding or undefined', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
      const coding = selectCoding(s);
      assert.ok(coding === undefined || coding === 'br' || coding === 'gzip');
    }),
  );
});
