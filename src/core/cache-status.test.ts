import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type CacheStatusEntry, formatCacheStatus, parseCacheStatus } from './cache-status.ts';

describe('formatCacheStatus (RFC 9211 §2)', () => {
  const rows: [string, CacheStatusEntry | CacheStatusEntry[], string][] = [
    ['§2.1 hit with ttl', { cache: 'etagkit', hit: true, ttl: 30 }, 'etagkit; hit; ttl=30'],
    [
      '§2.2/§2.3 revalidated',
      { cache: 'etagkit', fwd: 'stale', fwdStatus: 304 },
      'etagkit; fwd=stale; fwd-status=304',
    ],
    [
      '§2.5 stored',
      { cache: 'etagkit', fwd: 'uri-miss', fwdStatus: 200, stored: true },
      'etagkit; fwd=uri-miss; fwd-status=200; stored',
    ],
    ['§2.4 negative ttl', { cache: 'etagkit', hit: true, ttl: -5 }, 'etagkit; hit; ttl=-5'],
    [
      '§2.8 detail token',
      { cache: 'etagkit', fwd: 'miss', detail: 'store-error' },
      'etagkit; fwd=miss; detail=store-error',
    ],
    ['§2.8 detail string', { cache: 'etagkit', detail: 'two words' }, 'etagkit; detail="two words"'],
    ['§2.7 key is a string', { cache: 'etagkit', key: 'GET' }, 'etagkit; key="GET"'],
    ['§2 name not a token', { cache: 'my cache', hit: true }, '"my cache"; hit'],
    ['false flags are omitted', { cache: 'c', hit: false, stored: false }, 'c'],
    [
      '§2 list, origin side first',
      [
        { cache: 'cdn', hit: true },
        { cache: 'etagkit', fwd: 'request' },
      ],
      'cdn; hit, etagkit; fwd=request',
    ],
  ];
  for (const [name, input, expected] of rows) {
    it(name, () => assert.equal(formatCacheStatus(input), expected));
  }
});

describe('parseCacheStatus', () => {
  it('parses members and known parameters', () => {
    assert.deepEqual(
      parseCacheStatus('ExampleCache; hit, etagkit; fwd=stale; fwd-status=304; ttl=-3; collapsed'),
      [
        { cache: 'ExampleCache', hit: true },
        { cache: 'etagkit', fwd: 'stale', fwdStatus: 304, ttl: -3, collapsed: true },
      ],
    );
  });
  it('ignores unknown parameters (§2)', () => {
    assert.deepEqual(parseCacheStatus('c; foo=bar; hit'), [{ cache: 'c', hit: true }]);
  });
  it('reads quoted names, keys and details', () => {
    assert.deepEqual(parseCacheStatus('"a b"; key="GET /x"; detail="x \\"y\\""'), [
      { cache: 'a b', key: 'GET /x', detail: 'x "y"' },
    ]);
  });
  it('treats ?1 as true and ?0 as false', () => {
    assert.deepEqual(parseCacheStatus('c; hit=?0; stored=?1'), [{ cache: 'c', hit: false, stored: true }]);
  });
  for (const bad of ['c;', 'c, ', ',c', 'c; hit=', 'c d', 'c; fwd="unterminated', 'c; hit=?2', '"\x01"']) {
    it(`rejects malformed ${JSON.stringify(bad)} as a whole (RFC 8941 §4.2)`, () => {
      assert.deepEqual(parseCacheStatus(bad), []);
    });
  }
  it('returns [] for a missing field', () => assert.deepEqual(parseCacheStatus(undefined), []));

  it('round-trips every formatted entry (property)', () => {
    const printable = fc.string({ unit: fc.constantFrom(...'abcXYZ09 -_./:"\\*!'.split('')), minLength: 1 });
    const entry = fc.record(
      {
        cache: printable,
        hit: fc.boolean(),
        fwd: fc.constantFrom(
          'bypass',
          'method',
          'uri-miss',
          'vary-miss',
          'miss',
          'request',
          'stale',
          'partial' as const,
        ),
        fwdStatus: fc.integer({ min: 100, max: 599 }),
        ttl: fc.integer({ min: -1e9, max: 1e9 }),
        stored: fc.boolean(),
        collapsed: fc.boolean(),
        key: printable,
        detail: printable,
      },
      { requiredKeys: ['cache'] },
    );
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 3 }), (entries) => {
        const parsed = parseCacheStatus(formatCacheStatus(entries as CacheStatusEntry[]));
        const expected = entries.map((e) => {
          const copy: Record<string, unknown> = { ...e };
          for (const flag of ['hit', 'stored', 'collapsed']) if (copy[flag] === false) delete copy[flag];
          return copy;
        });
        assert.deepEqual(parsed, expected);
      }),
    );
  });
  it('never throws on arbitrary input (property)', () => {
    fc.assert(fc.property(fc.string(), (s) => Array.isArray(parseCacheStatus(s))));
  });
});
