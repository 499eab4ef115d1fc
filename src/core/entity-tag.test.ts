import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type EntityTag,
  type EntityTagList,
  formatEntityTag,
  parseEntityTag,
  parseEntityTagList,
  strongCompare,
  weakCompare,
} from './entity-tag.ts';

const strong = (tag: string): EntityTag => ({ weak: false, tag });
const weak = (tag: string): EntityTag => ({ weak: true, tag });

describe('parseEntityTag', () => {
  const rows: [rule: string, input: string | null | undefined, expected: EntityTag | undefined][] = [
    ['§8.8.3 opaque-tag', '"xyzzy"', strong('xyzzy')],
    ['§8.8.3 weak = %s"W/"', 'W/"xyzzy"', weak('xyzzy')],
    ['§8.8.3 empty opaque-tag', '""', strong('')],
    ['§8.8.3 W/ with empty tag', 'W/""', weak('')],
    ['§8.8.3 etagc includes the comma', '"a,b"', strong('a,b')],
    ['§8.8.3 etagc includes %x21 "!"', '"!"', strong('!')],
    ['§8.8.3 etagc includes *', '"*"', strong('*')],
    ['§8.8.3 etagc includes obs-text %x80-FF', '"caf\u00e9\u00ff\u0080"', strong('caf\u00e9\u00ff\u0080')],
    ['§5.6.3 OWS around a field value is not part of it', ' \t"a"\t ', strong('a')],
    ['§8.8.3 weak is case-sensitive (%s): w/ is not W/', 'w/"a"', undefined],
    ['§8.8.3 no space between W/ and the quote', 'W/ "a"', undefined],
    ['§8.8.3 unquoted tag is invalid', 'xyzzy', undefined],
    ['§8.8.3 missing closing quote', '"abc', undefined],
    ['§8.8.3 missing opening quote', 'abc"', undefined],
    ['§8.8.3 a DQUOTE cannot appear inside', '"a"b"', undefined],
    ['§8.8.3 SP is not etagc', '"a b"', undefined],
    ['§8.8.3 HTAB is not etagc', '"a\tb"', undefined],
    ['§8.8.3 DEL %x7F is not etagc', '"a\u007fb"', undefined],
    ['§8.8.3 control characters are not etagc', '"a\u0000b"', undefined],
    ['§8.8.3 characters above %xFF are not etagc', '"\u0100"', undefined],
    ['§8.8.3 one tag only: a list is not an entity-tag', '"a", "b"', undefined],
    ['§8.8.3 trailing garbage', '"a"x', undefined],
    ['§8.8.3 `*` is not an entity-tag', '*', undefined],
    ['§8.8.3 empty string', '', undefined],
    ['§8.8.3 only OWS', '  ', undefined],
    ['§8.8.3 only W/', 'W/', undefined],
    ['absent header: null', null, undefined],
    ['absent header: undefined', undefined, undefined],
  ];
  for (const [rule, input, expected] of rows) {
    it(`${rule}: ${JSON.stringify(input)}`, () => {
      assert.deepEqual(parseEntityTag(input), expected);
    });
  }
});

describe('formatEntityTag', () => {
  const rows: [rule: string, input: EntityTag | string, options: { weak?: boolean }, expected: string][] = [
    ['§8.8.3 strong tag is quoted', 'abc', {}, '"abc"'],
    ['§8.8.3 weak option adds W/', 'abc', { weak: true }, 'W/"abc"'],
    ['§8.8.3 EntityTag object, strong', strong('abc'), {}, '"abc"'],
    ['§8.8.3 EntityTag object, weak', weak('abc'), {}, 'W/"abc"'],
    ['§8.8.3 EntityTag object keeps its own strength', strong('abc'), { weak: true }, '"abc"'],
    ['§8.8.3 empty tag', '', {}, '""'],
    ['§8.8.3 comma is etagc', 'a,b', {}, '"a,b"'],
    ['§8.8.3 obs-text is etagc', 'caf\u00e9', {}, '"caf\u00e9"'],
  ];
  for (const [rule, input, options, expected] of rows) {
    it(`${rule}: ${JSON.stringify(input)}`, () => {
      assert.equal(formatEntityTag(input, options), expected);
    });
  }

  const invalid: [rule: string, tag: string][] = [
    ['§8.8.3 DQUOTE is not etagc', 'a"b'],
    ['§8.8.3 SP is not etagc', 'a b'],
    ['§8.8.3 CR/LF are not etagc (no header injection)', 'a\r\nSet-Cookie: x'],
    ['§8.8.3 characters above %xFF are not etagc', '\u20ac'],
  ];
  for (const [rule, tag] of invalid) {
    it(`${rule}: throws a TypeError naming the character`, () => {
      assert.throws(
        () => formatEntityTag(tag),
        (err: unknown) => {
          assert.ok(err instanceof TypeError);
          assert.match(err.message, /§8\.8\.3/);
          assert.match(err.message, /at \d+/);
          return true;
        },
      );
    });
  }
});

describe('parseEntityTagList', () => {
  const rows: [rule: string, input: string | null | undefined, expected: EntityTagList][] = [
    ['§13.1.1 "*" alone', '*', '*'],
    ['§13.1.1 "*" alone with OWS', '  *\t', '*'],
    ['§13.1.1 "*" inside a list is not the wildcard (invalid member skipped)', '"a", *', [strong('a')]],
    ['§13.1.1 "*" before a list is not the wildcard', '*, "a"', [strong('a')]],
    ['§13.1.1 "**" is not the wildcard', '**', []],
    ['§13.1.1 a quoted "*" is an ordinary tag', '"*"', [strong('*')]],
    ['§5.6.1 single member', '"a"', [strong('a')]],
    ['§5.6.1 several members with OWS', '"a" ,\t"b",  W/"c"', [strong('a'), strong('b'), weak('c')]],
    ['§5.6.1 no OWS at all', '"a","b"', [strong('a'), strong('b')]],
    ['§5.6.1 empty list elements are ignored', ', ,"a",,  ,"b",', [strong('a'), strong('b')]],
    ['§8.8.3 commas inside a tag do not split it', '"a,b", "c"', [strong('a,b'), strong('c')]],
    ['§8.8.3 a tag made only of commas', '",,,", "x"', [strong(',,,'), strong('x')]],
    ['§8.8.3 weak tag with comma', 'W/"1,2"', [weak('1,2')]],
    ['§8.8.3 W/ is case-sensitive: w/ member skipped', 'w/"a", "b"', [strong('b')]],
    ['§5.6.1 unquoted member skipped', 'abc, "b"', [strong('b')]],
    ['§5.6.1 member with trailing garbage skipped', '"a"x, "b"', [strong('b')]],
    ['§5.6.1 two tags without a comma are one invalid member', '"a" "b", "c"', [strong('c')]],
    ['§5.6.1 garbage with a quoted comma is skipped as one member', 'x"a,b", "c"', [strong('c')]],
    ['§8.8.3 obs-text member', '"\u00e9"', [strong('\u00e9')]],
    ['§8.8.3 unterminated tag at the end is skipped', '"a", "b', [strong('a')]],
    ['§5.6.1 empty field value', '', []],
    ['§5.6.1 only separators', ' , , ', []],
    ['absent header', undefined, []],
    ['absent header (null)', null, []],
  ];
  for (const [rule, input, expected] of rows) {
    it(`${rule}: ${JSON.stringify(input)}`, () => {
      assert.deepEqual(parseEntityTagList(input), expected);
    });
  }
});

describe('strongCompare and weakCompare (§8.8.3.2 table)', () => {
  // ETag 1, ETag 2, Strong Comparison, Weak Comparison — the table of RFC 9110 §8.8.3.2, row for row.
  const table: [a: string, b: string, strongResult: boolean, weakResult: boolean][] = [
    ['W/"1"', 'W/"1"', false, true],
    ['W/"1"', 'W/"2"', false, false],
    ['W/"1"', '"1"', false, true],
    ['"1"', '"1"', true, true],
  ];
  for (const [a, b, strongResult, weakResult] of table) {
    it(`§8.8.3.2 ${a} vs ${b}: strong ${strongResult}, weak ${weakResult}`, () => {
      assert.equal(strongCompare(a, b), strongResult);
      assert.equal(strongCompare(b, a), strongResult);
      assert.equal(weakCompare(a, b), weakResult);
      assert.equal(weakCompare(b, a), weakResult);
    });
  }

  it('§8.8.3.2 parsed EntityTag objects compare like header strings', () => {
    assert.equal(strongCompare(strong('1'), '"1"'), true);
    assert.equal(weakCompare(weak('1'), strong('1')), true);
    assert.equal(strongCompare(weak('1'), strong('1')), false);
  });

  it('§8.8.3.2 comparison is character for character (case-sensitive)', () => {
    assert.equal(strongCompare('"abc"', '"ABC"'), false);
    assert.equal(weakCompare('"abc"', '"ABC"'), false);
  });

  it('§8.8.3 an unparsable string never matches, not even itself', () => {
    assert.equal(strongCompare('abc', 'abc'), false);
    assert.equal(weakCompare('abc', 'abc'), false);
    assert.equal(weakCompare('*', '*'), false);
  });
});

// ── Properties ────────────────────────────────────────────────────────────────────────────────────────────

/** etagc = %x21 / %x23-7E / obs-text */
const etagc = fc.oneof(
  fc.constant('!'),
  fc.integer({ min: 0x23, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
);
const opaque = fc.string({ unit: etagc, maxLength: 40 });
const entityTag = fc.tuple(fc.boolean(), opaque).map(([weak, tag]): EntityTag => ({ weak, tag }));
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('"', ',', 'W', '/', ' ', '\t', '*', 'a', '\\') }),
);

describe('entity-tag properties', () => {
  it('parseEntityTag and parseEntityTagList never throw on arbitrary strings (fullUnicode)', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        parseEntityTag(s);
        const list = parseEntityTagList(s);
        assert.ok(list === '*' || Array.isArray(list));
      }),
      { numRuns: 2000 },
    );
  });

  it('§8.8.3 formatEntityTag / parseEntityTag round-trip', () => {
    fc.assert(
      fc.property(entityTag, (etag) => {
        assert.deepEqual(parseEntityTag(formatEntityTag(etag)), etag);
      }),
    );
  });

  it('§13.1.1 a formatted list with OWS and empty elements scans back to the same tags', () => {
    const ows = fc.constantFrom('', ' ', '\t', '  ');
    fc.assert(
      fc.property(fc.array(fc.tuple(entityTag, ows, ows, fc.boolean()), { maxLength: 10 }), (members) => {
        const value = members
          .map(([etag, before, after, emptyElement]) => {
            const member = `${before}${formatEntityTag(etag)}${after}`;
            return emptyElement ? `${member}, ` : member;
          })
          .join(',');
        assert.deepEqual(
          parseEntityTagList(value),
          members.map(([etag]) => etag),
        );
      }),
    );
  });

  it('§5.6.1 an invalid member never hides the valid members after it', () => {
    const garbage = fc.string({ unit: fc.constantFrom('a', ' ', '/', 'W', '*', 'x'), minLength: 1 });
    fc.assert(
      fc.property(garbage, entityTag, (junk, etag) => {
        const list = parseEntityTagList(`${junk}, ${formatEntityTag(etag)}`);
        assert.ok(Array.isArray(list));
        assert.deepEqual(list.at(-1), etag);
      }),
    );
  });

  it('finishes on 100 KB adversarial inputs (no quadratic scanning)', () => {
    const n = 100 * 1024;
    const inputs = [
      '"'.repeat(n),
      ','.repeat(n),
      'W/'.repeat(n / 2),
      `"${'a,'.repeat(n / 2)}`,
      'W/"a,'.repeat(n / 5),
      '"a" '.repeat(n / 4),
      '*'.repeat(n),
      `${'"a", '.repeat(n / 5)}*`,
      'x"'.repeat(n / 2),
      '\u00ff'.repeat(n),
      `"${'\u{1F600}'.repeat(n / 2)}"`,
    ];
    for (const input of inputs) {
      parseEntityTag(input);
      const list = parseEntityTagList(input);
      assert.ok(list === '*' || Array.isArray(list));
    }
    assert.equal((parseEntityTagList('"a", '.repeat(n / 5)) as EntityTag[]).length, n / 5);
  });
});
