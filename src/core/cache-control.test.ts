import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CacheDirectives,
  DELTA_SECONDS_MAX,
  deltaSeconds,
  directiveFieldNames,
  formatCacheControl,
  parseCacheControl,
} from './cache-control.ts';

/** A null-prototype record, as parseCacheControl returns. */
function directives(entries: Record<string, string | true>): CacheDirectives {
  return Object.assign(Object.create(null) as CacheDirectives, entries);
}

describe('parseCacheControl', () => {
  const rows: [rule: string, input: string | null | undefined, expected: Record<string, string | true>][] = [
    ['RFC 9111 §5.2 directive with a token argument', 'max-age=60', { 'max-age': '60' }],
    ['RFC 9111 §5.2 directive without an argument', 'no-store', { 'no-store': true }],
    [
      'RFC 9111 §5.2 several directives with OWS',
      'public,  max-age=60 ,\tmust-revalidate',
      {
        public: true,
        'max-age': '60',
        'must-revalidate': true,
      },
    ],
    [
      'RFC 9111 §5.2 names are case-insensitive (lower-cased)',
      'Max-Age=60, NO-STORE',
      { 'max-age': '60', 'no-store': true },
    ],
    ['RFC 9111 §5.2 arguments keep their case', 'private="Set-Cookie"', { private: 'Set-Cookie' }],
    ['RFC 9111 §5.2 quoted-string argument', 'community="UCI"', { community: 'UCI' }],
    [
      'RFC 9110 §5.6.4 a quoted-string may contain commas',
      'private="set-cookie, x-a", max-age=5',
      {
        private: 'set-cookie, x-a',
        'max-age': '5',
      },
    ],
    [
      'RFC 9110 §5.6.4 quoted-pair unescapes a quote',
      'ext="a\\"b,c", max-age=5',
      { ext: 'a"b,c', 'max-age': '5' },
    ],
    ['RFC 9110 §5.6.4 quoted-pair unescapes a backslash', 'ext="a\\\\"', { ext: 'a\\' }],
    ['RFC 9110 §5.6.4 empty quoted-string', 'ext=""', { ext: '' }],
    ['RFC 9110 §5.6.4 obs-text in a quoted-string', 'ext="caf\u00e9"', { ext: 'caf\u00e9' }],
    ['RFC 9111 §5.2 the quoted form of max-age is accepted', 'max-age="60"', { 'max-age': '60' }],
    ['RFC 9111 §4.2.1 duplicates: the first occurrence wins', 'max-age=5, max-age=10', { 'max-age': '5' }],
    [
      'RFC 9111 §4.2.1 duplicates differing in case: the first wins',
      'max-age=5, MAX-AGE=10',
      { 'max-age': '5' },
    ],
    [
      'RFC 9111 §4.2.1 a malformed first occurrence does not count',
      'max-age=, max-age=10',
      { 'max-age': '10' },
    ],
    ['RFC 9110 §5.6.1 empty list elements', ', ,no-cache,, ', { 'no-cache': true }],
    ['RFC 9111 §5.2 malformed: two tokens in an argument', 'max-age=5 6, no-store', { 'no-store': true }],
    ['RFC 9111 §5.2 malformed: no name', '=5, public', { public: true }],
    ['RFC 9111 §5.2 malformed: empty argument', 'max-age=, public', { public: true }],
    ['RFC 9111 §5.2 malformed: not a tchar', ';max-age=5, public', { public: true }],
    ['RFC 9111 §5.2 malformed: a space inside a name', 'no store, public', { public: true }],
    ['RFC 9111 §5.2 malformed: garbage after a quoted-string', 'ext="a"b, public', { public: true }],
    [
      'RFC 9111 §5.2 malformed garbage containing a quoted comma is one member',
      'x y="a,b", public',
      { public: true },
    ],
    ['RFC 9110 §5.6.4 unterminated quoted-string swallows the rest', 'ext="a, public', {}],
    ['RFC 9110 §5.6.4 CTL inside a quoted-string', 'ext="a\u0001b", public', { public: true }],
    ['RFC 9110 §5.6.4 DEL inside a quoted-string', 'ext="a\u007fb", public', { public: true }],
    [
      'RFC 9110 §5.6.2 names that are Object.prototype keys are ordinary',
      '__proto__=1, constructor',
      // JSON.parse makes __proto__ an own key, as the parser must
      JSON.parse('{"__proto__": "1", "constructor": true}'),
    ],
    ['empty', '', {}],
    ['absent (null)', null, {}],
    ['absent (undefined)', undefined, {}],
  ];
  for (const [rule, input, expected] of rows) {
    it(`${rule}: ${JSON.stringify(input)}`, () => {
      const parsed = parseCacheControl(input);
      assert.equal(Object.getPrototypeOf(parsed), null);
      assert.deepEqual(parsed, directives(expected));
    });
  }
});

describe('deltaSeconds (RFC 9111 §1.2.2)', () => {
  const rows: [rule: string, header: string, expected: number | undefined][] = [
    ['§1.2.2 a non-negative integer', 'max-age=60', 60],
    ['§1.2.2 zero', 'max-age=0', 0],
    ['§1.2.2 leading zeros', 'max-age=007', 7],
    ['§1.2.2 just below 2^31', 'max-age=2147483647', 2147483647],
    ['§1.2.2 2^31', 'max-age=2147483648', DELTA_SECONDS_MAX],
    ['§1.2.2 overflow becomes 2^31', 'max-age=99999999999999999999', DELTA_SECONDS_MAX],
    ['§1.2.2 overflow beyond a double becomes 2^31', `max-age=${'9'.repeat(400)}`, DELTA_SECONDS_MAX],
    ['§5.2 quoted form is accepted', 'max-age="60"', 60],
    ['§1.2.2 negative is not delta-seconds', 'max-age=-1', undefined],
    ['§1.2.2 a fraction is not delta-seconds', 'max-age=1.5', undefined],
    ['§1.2.2 hex is not delta-seconds', 'max-age=0x10', undefined],
    ['§1.2.2 exponent is not delta-seconds', 'max-age=1e3', undefined],
    ['§5.2.2.1 no argument', 'max-age', undefined],
    ['§5.2 absent', 'no-store', undefined],
  ];
  for (const [rule, header, expected] of rows) {
    it(`${rule}: ${header.slice(0, 40)}`, () => {
      assert.equal(deltaSeconds(parseCacheControl(header), 'max-age'), expected);
    });
  }
});

describe('directiveFieldNames (RFC 9111 §5.2.2.4, §5.2.2.7)', () => {
  const rows: [rule: string, header: string, name: string, expected: string[] | undefined][] = [
    ['§5.2.2.4 unqualified no-cache', 'no-cache', 'no-cache', undefined],
    ['§5.2.2.4 qualified no-cache', 'no-cache="Set-Cookie"', 'no-cache', ['set-cookie']],
    [
      '§5.2.2.7 qualified private with a list',
      'private="Set-Cookie, , X-A ,Authorization"',
      'private',
      ['set-cookie', 'x-a', 'authorization'],
    ],
    ['§5.2.2.7 token form is read too', 'private=set-cookie', 'private', ['set-cookie']],
    ['§5.2.2.7 unqualified private', 'private', 'private', undefined],
    ['§5.2.2.7 absent', 'public', 'private', undefined],
  ];
  for (const [rule, header, name, expected] of rows) {
    it(`${rule}: ${header}`, () => {
      assert.deepEqual(directiveFieldNames(parseCacheControl(header), name), expected);
    });
  }
});

describe('formatCacheControl', () => {
  const rows: [rule: string, input: Record<string, string | true>, expected: string][] = [
    [
      'RFC 9111 §5.2 token arguments are not quoted',
      { 'max-age': '60', 'no-store': true },
      'max-age=60, no-store',
    ],
    [
      'RFC 9111 §5.2.2.4 no-cache field names always use the quoted form',
      { 'no-cache': 'set-cookie' },
      'no-cache="set-cookie"',
    ],
    ['RFC 9111 §5.2.2.7 private field names always use the quoted form', { private: 'x-a' }, 'private="x-a"'],
    ['RFC 9110 §5.6.4 non-token arguments are quoted', { private: 'a, b' }, 'private="a, b"'],
    ['RFC 9110 §5.6.4 quotes and backslashes are escaped', { ext: 'a"b\\c' }, 'ext="a\\"b\\\\c"'],
    ['RFC 9110 §5.6.4 an empty argument is an empty quoted-string', { ext: '' }, 'ext=""'],
    ['no directives', {}, ''],
  ];
  for (const [rule, input, expected] of rows) {
    it(`${rule}`, () => {
      assert.equal(formatCacheControl(directives(input)), expected);
      assert.deepEqual(parseCacheControl(expected), directives(input));
    });
  }

  const invalid: [rule: string, input: Record<string, string | true>][] = [
    ['RFC 9110 §5.6.2 a name must be a token', { 'max age': '1' }],
    ['RFC 9110 §5.6.2 an empty name', { '': true }],
    ['RFC 9110 §5.6.4 CR LF cannot be carried', { ext: 'a\r\nSet-Cookie: x' }],
    ['RFC 9110 §5.6.4 characters above %xFF cannot be carried', { ext: '\u20ac' }],
  ];
  for (const [rule, input] of invalid) {
    it(`${rule}: throws a TypeError`, () => {
      assert.throws(() => formatCacheControl(directives(input)), TypeError);
    });
  }
});

// ── Properties ────────────────────────────────────────────────────────────────────────────────────────────

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz";
const name = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });
/** HTAB / SP / VCHAR / obs-text: everything a quoted-string can carry. */
const quotable = fc.oneof(
  fc.constantFrom('\t', ' ', '"', '\\', ','),
  fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
);
const argument = fc.oneof(fc.constant(true as const), fc.string({ unit: quotable, maxLength: 20 }));
const directiveRecord = fc
  .uniqueArray(fc.tuple(name, argument), { selector: ([n]) => n, maxLength: 8 })
  .map((entries) => directives(Object.fromEntries(entries)));

describe('cache-control properties', () => {
  it('parseCacheControl never throws on arbitrary strings (fullUnicode)', () => {
    const pieces = fc.constantFrom('max-age', '=', '"', '\\', ',', ' ', 'a', '5', ';', '\u00e9', '\u{1F600}');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.array(pieces).map((p) => p.join('')),
        ),
        (s) => {
          const parsed = parseCacheControl(s);
          assert.equal(Object.getPrototypeOf(parsed), null);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('RFC 9111 §5.2 formatCacheControl / parseCacheControl round-trip', () => {
    fc.assert(
      fc.property(directiveRecord, (d) => {
        assert.deepEqual(parseCacheControl(formatCacheControl(d)), d);
      }),
    );
  });

  it('RFC 9111 §5.2 whatever parses formats and parses back to the same directives', () => {
    const pieces = fc.constantFrom(
      'no-cache',
      'Max-Age',
      '=',
      '"',
      '\\',
      ',',
      ' ',
      'a',
      '5',
      '\u00e9',
      '\u0100',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(pieces).map((p) => p.join('')),
        ),
        (s) => {
          const parsed = parseCacheControl(s);
          assert.deepEqual(parseCacheControl(formatCacheControl(parsed)), parsed);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('returns on 100 KB inputs', () => {
    const n = 100 * 1024;
    const inputs = [
      '"'.repeat(n),
      ','.repeat(n),
      'a='.repeat(n / 2),
      `a="${'\\"'.repeat(n / 2)}`,
      'a="x,'.repeat(n / 5),
      'max-age=1,'.repeat(n / 10),
      `max-age=${'9'.repeat(n)}`,
      'x y '.repeat(n / 4),
      '\u{1F600}'.repeat(n / 2),
    ];
    for (const input of inputs) assert.equal(Object.getPrototypeOf(parseCacheControl(input)), null);
    assert.equal(deltaSeconds(parseCacheControl(`max-age=${'9'.repeat(n)}`), 'max-age'), DELTA_SECONDS_MAX);
  });
});
