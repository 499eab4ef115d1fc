import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type ByteRange,
  type ContentRange,
  formatContentRange,
  formatUnsatisfiedRange,
  MAX_RANGES,
  parseContentRange,
  parseRange,
  type RangeSpec,
  resolveRanges,
} from './range.ts';

describe('parseRange', () => {
  const rows: [rule: string, input: string, expected: RangeSpec[]][] = [
    ['§14.1.2 int-range', 'bytes=0-499', [{ first: 0, last: 499 }]],
    ['§14.1.2 single byte', 'bytes=0-0', [{ first: 0, last: 0 }]],
    ['§14.1.2 open-ended int-range', 'bytes=9500-', [{ first: 9500 }]],
    ['§14.1.2 suffix-range', 'bytes=-500', [{ suffix: 500 }]],
    ['§14.1.2 suffix-range of zero parses (and is unsatisfiable)', 'bytes=-0', [{ suffix: 0 }]],
    ['§14.1.2 several ranges', 'bytes=0-0,-1', [{ first: 0, last: 0 }, { suffix: 1 }]],
    [
      '§14.1.2 several ranges with OWS',
      'bytes=500-600 ,\t601-999',
      [
        { first: 500, last: 600 },
        { first: 601, last: 999 },
      ],
    ],
    [
      '§5.6.1 empty list elements',
      'bytes=0-1,,  ,5-6,',
      [
        { first: 0, last: 1 },
        { first: 5, last: 6 },
      ],
    ],
    ['§14.1 range units are case-insensitive', 'Bytes=0-1', [{ first: 0, last: 1 }]],
    ['§14.1.2 leading zeros', 'bytes=007-010', [{ first: 7, last: 10 }]],
    ['§14.1.1 last-pos equal to first-pos with leading zeros', 'bytes=5-0005', [{ first: 5, last: 5 }]],
  ];
  for (const [rule, input, expected] of rows) {
    it(`${rule}: ${input}`, () => {
      assert.deepEqual(parseRange(input), expected);
    });
  }

  const ignored: [rule: string, input: string | null | undefined][] = [
    ['§14.1.1 last-pos < first-pos is invalid', 'bytes=500-499'],
    ['§14.1.1 last-pos < first-pos past 2^53', 'bytes=9007199254740993-9007199254740992'],
    ['§14.1.1 one invalid spec makes the ranges-specifier invalid', 'bytes=0-1,5-4'],
    ['§14.1.2 "-" alone is no range-spec', 'bytes=-'],
    ['§14.1.2 garbage spec', 'bytes=0-1,x'],
    ['§14.1.2 three parts', 'bytes=1-2-3'],
    ['§14.1.2 negative suffix', 'bytes=--1'],
    ['§14.1.2 fractions', 'bytes=1.5-2'],
    ['§14.1.2 signs', 'bytes=+1-2'],
    ['§14.1.2 OWS inside a spec', 'bytes=0 -1'],
    ['§14.1.2 no range-spec at all', 'bytes='],
    ['§14.1.2 only separators', 'bytes= , '],
    ['§14.2 another range unit is ignored', 'items=0-1'],
    ['§14.1 no range unit', '0-499'],
    ['§14.1 Content-Range syntax is not Range syntax', 'bytes 0-499/1234'],
    [
      `§14.2 more than MAX_RANGES (${MAX_RANGES}) ranges are ignored`,
      `bytes=${'0-0,'.repeat(MAX_RANGES + 1)}`,
    ],
    ['absent (null)', null],
    ['absent (undefined)', undefined],
  ];
  for (const [rule, input] of ignored) {
    it(`${rule}: ${JSON.stringify(input?.slice(0, 50))}`, () => {
      assert.equal(parseRange(input), undefined);
    });
  }

  it(`§14.2 exactly MAX_RANGES (${MAX_RANGES}) ranges are accepted`, () => {
    assert.equal(parseRange(`bytes=${'0-0,'.repeat(MAX_RANGES)}`)?.length, MAX_RANGES);
  });
});

describe('resolveRanges', () => {
  const rows: [rule: string, specs: RangeSpec[], length: number, expected: ByteRange[]][] = [
    ['§14.1.2 int-range', [{ first: 0, last: 499 }], 10000, [{ start: 0, end: 499 }]],
    [
      '§14.1.2 last-pos past the end is clipped',
      [{ first: 9500, last: 20000 }],
      10000,
      [{ start: 9500, end: 9999 }],
    ],
    ['§14.1.2 open-ended', [{ first: 9500 }], 10000, [{ start: 9500, end: 9999 }]],
    ['§14.1.2 suffix', [{ suffix: 500 }], 10000, [{ start: 9500, end: 9999 }]],
    [
      '§14.1.2 suffix longer than the representation: all of it',
      [{ suffix: 20000 }],
      10000,
      [{ start: 0, end: 9999 }],
    ],
    ['§14.1.1 first-pos at the length is unsatisfiable', [{ first: 10000 }], 10000, []],
    ['§14.1.1 suffix of zero is unsatisfiable', [{ suffix: 0 }], 10000, []],
    ['§14.1.1 nothing is satisfiable in an empty representation', [{ first: 0 }, { suffix: 5 }], 0, []],
    [
      '§14.1.1 unsatisfiable specs are dropped, the others kept',
      [{ first: 0, last: 9 }, { first: 20000 }],
      10000,
      [{ start: 0, end: 9 }],
    ],
    [
      '§14.2 disjoint ranges keep the order asked for',
      [
        { first: 500, last: 599 },
        { first: 0, last: 99 },
      ],
      10000,
      [
        { start: 500, end: 599 },
        { start: 0, end: 99 },
      ],
    ],
    [
      '§14.2 overlapping ranges are coalesced',
      [
        { first: 0, last: 499 },
        { first: 400, last: 999 },
      ],
      10000,
      [{ start: 0, end: 999 }],
    ],
    [
      '§14.2 adjacent ranges are coalesced',
      [
        { first: 5, last: 9 },
        { first: 0, last: 4 },
      ],
      10000,
      [{ start: 0, end: 9 }],
    ],
    [
      '§14.2 coalescing sorts ascending',
      [{ first: 9000 }, { first: 0, last: 1 }, { first: 1, last: 2 }],
      10000,
      [
        { start: 0, end: 2 },
        { start: 9000, end: 9999 },
      ],
    ],
    [
      '§14.2 a suffix overlapping an int-range',
      [{ first: 9000, last: 9600 }, { suffix: 500 }],
      10000,
      [{ start: 9000, end: 9999 }],
    ],
    [
      '§14.2 the same range many times is sent once',
      Array.from({ length: MAX_RANGES }, () => ({ first: 0 })),
      100,
      [{ start: 0, end: 99 }],
    ],
  ];
  for (const [rule, specs, length, expected] of rows) {
    it(`${rule}`, () => {
      assert.deepEqual(resolveRanges(specs, length), expected);
    });
  }
});

describe('Content-Range', () => {
  const rows: [rule: string, input: string, expected: ContentRange][] = [
    ['§14.4 range-resp', 'bytes 0-499/1234', { unsatisfied: false, start: 0, end: 499, length: 1234 }],
    ['§14.4 last byte', 'bytes 1233-1233/1234', { unsatisfied: false, start: 1233, end: 1233, length: 1234 }],
    ['§14.4 unknown complete-length', 'bytes 0-499/*', { unsatisfied: false, start: 0, end: 499 }],
    ['§14.4 unsatisfied-range', 'bytes */1234', { unsatisfied: true, length: 1234 }],
    ['§14.4 unsatisfied-range of an empty representation', 'bytes */0', { unsatisfied: true, length: 0 }],
    [
      '§14.1 range unit is case-insensitive',
      'Bytes 0-1/2',
      { unsatisfied: false, start: 0, end: 1, length: 2 },
    ],
    [
      '§5.6.3 OWS around the field value',
      ' bytes 0-1/2\t',
      { unsatisfied: false, start: 0, end: 1, length: 2 },
    ],
  ];
  for (const [rule, input, expected] of rows) {
    it(`parses ${rule}: ${JSON.stringify(input)}`, () => {
      assert.deepEqual(parseContentRange(input), expected);
    });
  }

  const invalid: [rule: string, input: string | null | undefined][] = [
    ['§14.4 last-pos < first-pos', 'bytes 500-499/1234'],
    ['§14.4 last-pos >= complete-length', 'bytes 0-1234/1234'],
    ['§14.4 complete-length is required', 'bytes 0-499'],
    ['§14.4 Range syntax is not Content-Range syntax', 'bytes=0-499/1234'],
    ['§14.4 unsatisfied-range needs a length', 'bytes */*'],
    ['§14.4 another unit', 'items 0-1/2'],
    ['§14.4 trailing garbage', 'bytes 0-1/2 x'],
    ['§14.4 negative', 'bytes -1-2/3'],
    ['§14.4 two spaces', 'bytes  0-1/2'],
    ['empty', ''],
    ['absent (null)', null],
    ['absent (undefined)', undefined],
    ['a length past 2^53 is not held exactly', 'bytes 0-1/4270000000000000000000000'],
    ['a position past 2^53', 'bytes 9007199254740993-9007199254740994/*'],
    ['an unsatisfied length past 2^53', 'bytes */9007199254740993'],
  ];
  for (const [rule, input] of invalid) {
    it(`rejects ${rule}: ${JSON.stringify(input)}`, () => {
      assert.equal(parseContentRange(input), undefined);
    });
  }

  it('§14.4 formats a part', () => {
    assert.equal(formatContentRange({ start: 0, end: 499 }, 1234), 'bytes 0-499/1234');
  });

  it('§15.5.17 formats the unsatisfied-range of a 416', () => {
    assert.equal(formatUnsatisfiedRange(1234), 'bytes */1234');
  });

  it('§14.4 formats the largest exact length', () => {
    const max = Number.MAX_SAFE_INTEGER;
    assert.equal(formatContentRange({ start: 0, end: max - 1 }, max), `bytes 0-${max - 1}/${max}`);
  });

  const unformattable: [rule: string, range: { start: number; end: number }, length: number][] = [
    ['a length past 2^53 (would be written 4.27e+24)', { start: 0, end: 1 }, 4.27e24],
    ['a negative start', { start: -1, end: 1 }, 10],
    ['a fractional end', { start: 0, end: 1.5 }, 10],
    ['NaN', { start: 0, end: 1 }, Number.NaN],
    ['last-pos < first-pos', { start: 5, end: 4 }, 10],
    ['last-pos >= complete-length', { start: 0, end: 10 }, 10],
  ];
  for (const [rule, range, length] of unformattable) {
    it(`§14.4 refuses to format ${rule}`, () => {
      assert.throws(() => formatContentRange(range, length), RangeError);
    });
  }

  it('§15.5.17 refuses to format an unsatisfied length past 2^53', () => {
    assert.throws(() => formatUnsatisfiedRange(4.27e24), RangeError);
    assert.throws(() => formatUnsatisfiedRange(-1), RangeError);
  });
});

// ── Properties ────────────────────────────────────────────────────────────────────────────────────────────

const pos = fc.oneof(fc.nat(1000), fc.maxSafeNat());
const spec: fc.Arbitrary<RangeSpec> = fc.oneof(
  fc.tuple(pos, fc.nat()).map(([first, extra]): RangeSpec => ({ first, last: first + extra })),
  pos.map((first): RangeSpec => ({ first })),
  pos.map((suffix): RangeSpec => ({ suffix })),
);
const formatSpec = (s: RangeSpec) =>
  'suffix' in s ? `-${s.suffix}` : `${s.first}-${s.last === undefined ? '' : s.last}`;

describe('range properties', () => {
  it('parseRange and parseContentRange never throw on arbitrary strings (fullUnicode)', () => {
    const pieces = fc.constantFrom('bytes', '=', ' ', '-', ',', '/', '*', '0', '9', '\u0660', '\u{1F600}');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.array(pieces).map((p) => p.join('')),
        ),
        (s) => {
          parseRange(s);
          parseContentRange(s);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('§14.1.2 a formatted list of range-specs parses back to the same specs', () => {
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: MAX_RANGES }), (specs) => {
        assert.deepEqual(parseRange(`bytes=${specs.map(formatSpec).join(', ')}`), specs);
      }),
    );
  });

  it('§14.2 resolved ranges lie inside the representation, never overlap, and cover what was asked', () => {
    const small: fc.Arbitrary<RangeSpec> = fc.oneof(
      fc.tuple(fc.nat(120), fc.nat(60)).map(([first, extra]): RangeSpec => ({ first, last: first + extra })),
      fc.nat(120).map((first): RangeSpec => ({ first })),
      fc.nat(120).map((suffix): RangeSpec => ({ suffix })),
    );
    fc.assert(
      fc.property(fc.array(small, { maxLength: 20 }), fc.nat(100), (specs, length) => {
        const ranges = resolveRanges(specs, length);
        const asked = new Set<number>();
        for (const s of specs) {
          const [from, to] =
            'suffix' in s
              ? [s.suffix === 0 ? length : Math.max(0, length - s.suffix), length - 1]
              : [s.first, Math.min(s.last ?? length - 1, length - 1)];
          for (let b = from; b <= to; b++) asked.add(b);
        }
        const sent: number[] = [];
        for (const r of ranges) {
          assert.ok(0 <= r.start && r.start <= r.end && r.end < length);
          for (let b = r.start; b <= r.end; b++) sent.push(b);
        }
        assert.equal(new Set(sent).size, sent.length, 'no byte is sent twice');
        assert.deepEqual(new Set(sent), asked);
      }),
    );
  });

  it('§14.4 formatContentRange / parseContentRange round-trip', () => {
    const part = fc
      .tuple(fc.maxSafeNat(), fc.maxSafeNat(), fc.maxSafeNat())
      .map(([a, b, c]) => [a, b, c].sort((x, y) => x - y) as [number, number, number])
      .filter(([, end, length]) => end < length);
    fc.assert(
      fc.property(part, ([start, end, length]) => {
        assert.deepEqual(parseContentRange(formatContentRange({ start, end }, length)), {
          unsatisfied: false,
          start,
          end,
          length,
        });
      }),
    );
    fc.assert(
      fc.property(fc.maxSafeNat(), (length) => {
        assert.deepEqual(parseContentRange(formatUnsatisfiedRange(length)), { unsatisfied: true, length });
      }),
    );
  });

  it('returns on 100 KB inputs', () => {
    const n = 100 * 1024;
    const inputs = [
      `bytes=${'0-1,'.repeat(n / 4)}`,
      `bytes=${'1'.repeat(n)}-`,
      `bytes=${'0'.repeat(n)}-${'0'.repeat(n)}`,
      `bytes=${'-'.repeat(n)}`,
      `bytes=${','.repeat(n)}`,
      `bytes=${' '.repeat(n)}0-1`,
      '='.repeat(n),
    ];
    const parsed = inputs.map((s) => parseRange(s));
    assert.deepEqual(parsed.slice(2, 4), [[{ first: 0, last: 0 }], undefined]);
    const contentRanges = [
      `bytes ${'1'.repeat(n)}`,
      `bytes ${'1'.repeat(n)}-${'1'.repeat(n)}/*`,
      `bytes */${'9'.repeat(n)}`,
      `bytes ${'0-'.repeat(n / 2)}`,
      ' '.repeat(n),
    ];
    for (const s of contentRanges) parseContentRange(s);
    assert.equal(parseContentRange(`bytes ${'0-'.repeat(n / 2)}`), undefined);
  });
});
