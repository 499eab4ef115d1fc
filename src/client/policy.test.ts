import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ageValue,
  currentAge,
  evaluateReuse,
  freshnessLifetime,
  HEURISTIC_MAX_SECONDS,
  type HeaderLines,
  invalidationTargets,
  isStorable,
  matchesVary,
  mergeNotModified,
  normalizeFieldValue,
  notModifiedMatches,
  requestDirectives,
  revalidationHeaders,
  storableHeaders,
  storedFacts,
  varyFieldNames,
  varyKey,
} from './policy.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const DATE = new Date(T0).toUTCString();
const PRIVATE = { shared: false };
const SHARED = { shared: true };
const h = (init: Record<string, string> = {}) => new Headers(init);
const stored = (headers: HeaderLines, status = 200) => ({
  status,
  headers,
  requestTime: T0,
  responseTime: T0,
});

describe('isStorable (RFC 9111 §3)', () => {
  const rows: [string, string, Record<string, string>, number, HeaderLines, boolean, string, string?][] = [
    ['§3 max-age', 'GET', {}, 200, [['cache-control', 'max-age=60']], false, 'ok'],
    ['§3 only GET is stored here', 'POST', {}, 200, [['cache-control', 'max-age=60']], false, 'method'],
    ['§3 206 is not stored', 'GET', {}, 206, [['cache-control', 'max-age=60']], false, 'status'],
    ['§3 a status past 599 is not HTTP', 'GET', {}, 999, [['cache-control', 'max-age=60']], false, 'status'],
    ['§5.2.2.5 no-store', 'GET', {}, 200, [['cache-control', 'max-age=60, No-Store']], false, 'no-store'],
    [
      '§5.2.1.5 request no-store',
      'GET',
      { 'cache-control': 'no-store' },
      200,
      [['cache-control', 'max-age=60']],
      false,
      'no-store',
    ],
    [
      '§5.2.2.7 private is fine for a private cache',
      'GET',
      {},
      200,
      [['cache-control', 'private']],
      false,
      'ok',
    ],
    [
      '§5.2.2.7 private is not for a shared cache',
      'GET',
      {},
      200,
      [['cache-control', 'private, max-age=60']],
      true,
      'private',
    ],
    [
      '§3.5 Authorization in a shared cache',
      'GET',
      { authorization: 'x' },
      200,
      [['cache-control', 'max-age=60']],
      true,
      'authorization',
    ],
    [
      '§3.5 Authorization with public',
      'GET',
      { authorization: 'x' },
      200,
      [['cache-control', 'public, max-age=60']],
      true,
      'ok',
    ],
    [
      '§3.5 Authorization in a private cache',
      'GET',
      { authorization: 'x' },
      200,
      [['cache-control', 'max-age=60']],
      false,
      'ok',
    ],
    [
      '§3 heuristically cacheable status, no explicit freshness',
      'GET',
      {},
      200,
      [['etag', '"a"']],
      false,
      'ok',
    ],
    [
      '§3 201 without explicit freshness',
      'GET',
      {},
      201,
      [['last-modified', DATE]],
      false,
      'no-freshness-information',
    ],
    ['§3 201 with Expires', 'GET', {}, 201, [['expires', DATE]], false, 'ok'],
    [
      '§5.2.2.3 must-understand, unknown status',
      'GET',
      {},
      599,
      [['cache-control', 'max-age=60, must-understand, no-store']],
      false,
      'must-understand',
    ],
    [
      '§5.2.2.3 must-understand overrides no-store',
      'GET',
      {},
      200,
      [['cache-control', 'max-age=60, must-understand, no-store']],
      false,
      'ok',
    ],
    [
      '§4.1 Vary: * never matches',
      'GET',
      {},
      200,
      [
        ['cache-control', 'max-age=60'],
        ['vary', 'Foo, *'],
      ],
      false,
      'vary-star',
    ],
  ];
  for (const [name, method, req, status, headers, shared, expected] of rows) {
    it(name, () => {
      const d = isStorable(method, h(req), status, headers, { shared });
      assert.equal(d.storable ? 'ok' : d.reason, expected);
    });
  }
});

describe('storableHeaders (§3.1)', () => {
  it('drops hop-by-hop fields and those named by Connection', () => {
    const lines: HeaderLines = [
      ['connection', 'a, B'],
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
      ['keep-alive', 'timeout=5'],
      ['transfer-encoding', 'chunked'],
      ['proxy-authenticate', 'x'],
      ['set-cookie', 'a=1'],
    ];
    assert.deepEqual(storableHeaders(lines), [
      ['c', '3'],
      ['set-cookie', 'a=1'],
    ]);
  });
});

describe('freshnessLifetime (§4.2.1, §4.2.2)', () => {
  const rows: [string, HeaderLines, number, boolean, number, string][] = [
    ['max-age', [['cache-control', 'max-age=60']], 200, false, 60, 'max-age'],
    [
      's-maxage wins in a shared cache',
      [['cache-control', 'max-age=60, s-maxage=5']],
      200,
      true,
      5,
      's-maxage',
    ],
    [
      's-maxage is ignored by a private cache',
      [['cache-control', 'max-age=60, s-maxage=5']],
      200,
      false,
      60,
      'max-age',
    ],
    [
      'max-age beats Expires',
      [
        ['cache-control', 'max-age=1'],
        ['expires', new Date(T0 + 3600e3).toUTCString()],
        ['date', DATE],
      ],
      200,
      false,
      1,
      'max-age',
    ],
    [
      'invalid max-age is 0, not a fallback',
      [
        ['cache-control', 'max-age=-1'],
        ['expires', new Date(T0 + 3600e3).toUTCString()],
      ],
      200,
      false,
      0,
      'max-age',
    ],
    [
      'Expires − Date',
      [
        ['expires', new Date(T0 + 100e3).toUTCString()],
        ['date', DATE],
      ],
      200,
      false,
      100,
      'expires',
    ],
    [
      '§5.3 invalid Expires is already expired',
      [
        ['expires', '0'],
        ['date', DATE],
      ],
      200,
      false,
      0,
      'expires',
    ],
    [
      'Expires before Date',
      [
        ['expires', new Date(T0 - 100e3).toUTCString()],
        ['date', DATE],
      ],
      200,
      false,
      0,
      'expires',
    ],
    [
      '§4.2.2 heuristic: 10% of Date − Last-Modified',
      [
        ['date', DATE],
        ['last-modified', new Date(T0 - 1000e3).toUTCString()],
      ],
      200,
      false,
      100,
      'heuristic',
    ],
    [
      '§4.2.2 heuristic is capped',
      [
        ['date', DATE],
        ['last-modified', new Date(T0 - 1e10).toUTCString()],
      ],
      200,
      false,
      HEURISTIC_MAX_SECONDS,
      'heuristic',
    ],
    [
      '§4.2.2 no heuristic for 403',
      [
        ['date', DATE],
        ['last-modified', new Date(T0 - 1000e3).toUTCString()],
      ],
      403,
      false,
      0,
      'none',
    ],
    [
      '§4.2.2 public allows heuristic for any status',
      [
        ['cache-control', 'public'],
        ['date', DATE],
        ['last-modified', new Date(T0 - 1000e3).toUTCString()],
      ],
      403,
      false,
      100,
      'heuristic',
    ],
  ];
  for (const [name, headers, status, shared, seconds, source] of rows) {
    it(name, () => assert.deepEqual(freshnessLifetime(status, headers, T0, { shared }), { seconds, source }));
  }
});

describe('Age (§5.1, §4.2.3)', () => {
  const rows: [string, number][] = [
    ['10', 10],
    ['0, 7200', 0],
    ['7200,0', 7200],
    ['abc', 0],
    ['-7200', 0],
    ['7200.0', 0],
    ['7200;foo=bar', 0],
  ];
  for (const [value, expected] of rows) {
    it(`§5.1 Age: ${value} → ${expected} (first member; invalid ignored)`, () =>
      assert.equal(ageValue([['age', value]]), expected));
  }
  it('§4.2.3 current_age = corrected_initial_age + resident_time', () => {
    // Date 2 s before receipt, Age 5, response took 1 s, resident 10 s: max(2, 5 + 1) + 10 = 16.
    const meta = {
      status: 200,
      headers: [
        ['date', new Date(T0 - 2000).toUTCString()],
        ['age', '5'],
      ] as HeaderLines,
      requestTime: T0 - 1000,
      responseTime: T0,
    };
    assert.equal(currentAge(meta, T0 + 10_000), 16);
  });
  it('§4.2.3 apparent age wins when the Date is old', () => {
    const meta = stored([['date', new Date(T0 - 30_000).toUTCString()]]);
    assert.equal(currentAge(meta, T0), 30);
  });
  it('ageValue never throws and is a non-negative integer (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const v = ageValue([['age', s]]);
        return Number.isInteger(v) && v >= 0;
      }),
    );
  });
});

describe('evaluateReuse (§4.2, §5.2, RFC 5861, RFC 8246)', () => {
  const at = (seconds: number) => T0 + seconds * 1000;
  const decide = (res: HeaderLines, seconds: number, req: Record<string, string> = {}, options = PRIVATE) =>
    evaluateReuse(h(req), stored([['date', DATE], ...res]), at(seconds), options);
  const rows: [string, HeaderLines, number, Record<string, string>, string][] = [
    ['fresh within max-age', [['cache-control', 'max-age=60']], 30, {}, 'fresh'],
    ['stale after max-age', [['cache-control', 'max-age=60']], 61, {}, 'revalidate:stale'],
    [
      '§5.2.2.4 no-cache always revalidates',
      [['cache-control', 'max-age=60, no-cache']],
      1,
      {},
      'revalidate:no-cache',
    ],
    [
      '§5.2.1.4 request no-cache',
      [['cache-control', 'max-age=60']],
      1,
      { 'cache-control': 'no-cache' },
      'revalidate:request-no-cache',
    ],
    [
      '§5.4 Pragma: no-cache without Cache-Control',
      [['cache-control', 'max-age=60']],
      1,
      { pragma: 'no-cache' },
      'revalidate:request-no-cache',
    ],
    [
      '§5.4 Pragma ignored with Cache-Control',
      [['cache-control', 'max-age=60']],
      1,
      { pragma: 'no-cache', 'cache-control': 'max-stale' },
      'fresh',
    ],
    [
      '§5.2.1.1 request max-age',
      [['cache-control', 'max-age=60']],
      30,
      { 'cache-control': 'max-age=10' },
      'revalidate:request-max-age',
    ],
    [
      'RFC 8246 immutable ignores request max-age=0 while fresh',
      [['cache-control', 'max-age=60, immutable']],
      30,
      { 'cache-control': 'max-age=0' },
      'fresh',
    ],
    [
      'RFC 8246 immutable revalidates once stale',
      [['cache-control', 'max-age=60, immutable']],
      61,
      {},
      'revalidate:stale',
    ],
    [
      '§5.2.1.3 min-fresh',
      [['cache-control', 'max-age=60']],
      30,
      { 'cache-control': 'min-fresh=40' },
      'revalidate:request-min-fresh',
    ],
    [
      '§5.2.1.2 max-stale with a value',
      [['cache-control', 'max-age=60']],
      70,
      { 'cache-control': 'max-stale=20' },
      'stale-allowed',
    ],
    [
      '§5.2.1.2 max-stale exceeded',
      [['cache-control', 'max-age=60']],
      90,
      { 'cache-control': 'max-stale=20' },
      'revalidate:stale',
    ],
    [
      '§5.2.1.2 bare max-stale',
      [['cache-control', 'max-age=60']],
      9999,
      { 'cache-control': 'max-stale' },
      'stale-allowed',
    ],
    [
      '§5.2.2.2 must-revalidate beats max-stale',
      [['cache-control', 'max-age=60, must-revalidate']],
      70,
      { 'cache-control': 'max-stale' },
      'revalidate:must-revalidate',
    ],
    [
      'RFC 5861 §3 stale-while-revalidate',
      [['cache-control', 'max-age=60, stale-while-revalidate=30']],
      80,
      {},
      'stale-while-revalidate',
    ],
    [
      'RFC 5861 §3 past the swr window',
      [['cache-control', 'max-age=60, stale-while-revalidate=30']],
      100,
      {},
      'revalidate:stale',
    ],
    [
      '§4.2.3 Age counts against freshness',
      [
        ['cache-control', 'max-age=60'],
        ['age', '50'],
      ],
      20,
      {},
      'revalidate:stale',
    ],
  ];
  for (const [name, res, seconds, req, expected] of rows) {
    it(name, () => {
      const d = decide(res, seconds, req);
      assert.equal(d.action === 'revalidate' ? `revalidate:${d.reason}` : d.action, expected);
    });
  }
  it('§5.2.2.8 proxy-revalidate binds shared caches only', () => {
    const res: HeaderLines = [['cache-control', 'max-age=1, proxy-revalidate']];
    assert.equal(decide(res, 5, { 'cache-control': 'max-stale' }, PRIVATE).action, 'stale-allowed');
    assert.equal(decide(res, 5, { 'cache-control': 'max-stale' }, SHARED).action, 'revalidate');
  });
  it('RFC 5861 §4 stale-if-error window', () => {
    const res: HeaderLines = [['cache-control', 'max-age=60, stale-if-error=100']];
    assert.equal(decide(res, 100, {}).staleIfError, true);
    assert.equal(decide(res, 200, {}).staleIfError, false);
    assert.equal(
      decide([['cache-control', 'max-age=60, stale-if-error=100, must-revalidate']], 100).staleIfError,
      false,
    );
    assert.equal(
      decide([['cache-control', 'max-age=60']], 100, { 'cache-control': 'stale-if-error=50' }).staleIfError,
      true,
    );
  });
  it('reports ttl = lifetime − age', () => {
    const d = decide([['cache-control', 'max-age=60']], 45);
    assert.equal(d.ttl, 15);
    assert.equal(d.age, 45);
  });
});

describe('revalidation (§4.3)', () => {
  it('§4.3.1 sends the stored ETag and Last-Modified', () => {
    const lm = new Date(T0 - 5000).toUTCString();
    assert.deepEqual(
      revalidationHeaders({
        headers: [
          ['etag', 'W/"x"'],
          ['last-modified', lm],
        ],
      }),
      {
        'if-none-match': 'W/"x"',
        'if-modified-since': lm,
      },
    );
  });
  it('§4.3.1 ignores invalid validators', () => {
    assert.equal(
      revalidationHeaders({
        headers: [
          ['etag', 'x'],
          ['last-modified', 'yesterday'],
        ],
      }),
      undefined,
    );
  });
  const rows: [string, HeaderLines, HeaderLines, boolean][] = [
    ['§4.3.4 same strong ETag', [['etag', '"a"']], [['etag', '"a"']], true],
    ['§4.3.4 different strong ETag', [['etag', '"a"']], [['etag', '"b"']], false],
    ['§4.3.4 strong 304 tag does not match a weak stored one', [['etag', 'W/"a"']], [['etag', '"a"']], false],
    ['§4.3.4 weak 304 tag matches weakly', [['etag', '"a"']], [['etag', 'W/"a"']], true],
    ['§4.3.4 Last-Modified equal', [['last-modified', DATE]], [['last-modified', DATE]], true],
    [
      '§4.3.4 Last-Modified different',
      [['last-modified', DATE]],
      [['last-modified', new Date(T0 + 1000).toUTCString()]],
      false,
    ],
    [
      '§4.3.4 304 without validators updates what it validated',
      [['etag', '"a"']],
      [['cache-control', 'max-age=5']],
      true,
    ],
  ];
  for (const [name, old, fresh, expected] of rows)
    it(name, () => assert.equal(notModifiedMatches(old, fresh), expected));

  it('§3.2 a 304 replaces fields but not Content-Length, Content-Encoding or hop-by-hop ones', () => {
    const merged = mergeNotModified(
      [
        ['content-type', 'text/plain'],
        ['content-length', '5'],
        ['content-encoding', 'gzip'],
        ['x-a', '1'],
        ['cache-control', 'max-age=1'],
        ['etag', '"a"'],
      ],
      [
        ['cache-control', 'max-age=60'],
        ['content-length', '0'],
        ['content-encoding', 'br'],
        ['x-a', '2'],
        ['x-b', '3'],
        ['connection', 'keep-alive'],
        ['etag', '"a"'],
      ],
    );
    assert.deepEqual(merged, [
      ['content-type', 'text/plain'],
      ['content-length', '5'],
      ['content-encoding', 'gzip'],
      ['etag', '"a"'],
      ['cache-control', 'max-age=60'],
      ['x-a', '2'],
      ['x-b', '3'],
    ]);
  });
  it('RFC 9530 §2, §3.2: fields that describe the stored content keep their stored values', () => {
    const stored: [string, string][] = [
      ['content-digest', 'sha-256=:stored:'],
      ['repr-digest', 'sha-256=:repr:'],
      ['content-range', 'bytes 0-4/5'],
      ['etag', '"a"'],
    ];
    const merged = mergeNotModified(stored, [
      ['content-digest', 'sha-256=:empty:'],
      ['repr-digest', 'sha-256=:other:'],
      ['content-range', 'bytes */9'],
      ['etag', '"a"'],
      ['x-a', '2'],
    ]);
    assert.deepEqual(merged, [...stored, ['x-a', '2']]);
  });
});

describe('invalidationTargets (§4.4)', () => {
  const url = 'http://a.example/x/y?q';
  it('invalidates the target, Location and Content-Location of the same origin', () => {
    assert.deepEqual(
      invalidationTargets('POST', url, 201, [
        ['location', '/new'],
        ['content-location', 'http://b.example/other'],
      ]),
      [url, 'http://a.example/new'],
    );
  });
  it('not after an error response', () => assert.deepEqual(invalidationTargets('PUT', url, 500, []), []));
  it('not for safe methods', () => assert.deepEqual(invalidationTargets('GET', url, 200, []), []));
  it('any unknown method is unsafe', () =>
    assert.deepEqual(invalidationTargets('M-SEARCH', url, 200, []), [url]));
});

describe('Vary (§4.1)', () => {
  it('lists field names sorted, lower-cased, deduplicated, across lines', () => {
    assert.deepEqual(
      varyFieldNames([
        ['vary', 'Accept-Encoding, foo'],
        ['vary', ', FOO,'],
      ]),
      ['accept-encoding', 'foo'],
    );
  });
  it('* anywhere means never', () => {
    assert.equal(
      varyFieldNames([
        ['vary', 'foo'],
        ['vary', '*'],
      ]),
      '*',
    );
  });
  it('matches normalised values and tells absent from empty', () => {
    const headers: HeaderLines = [['vary', 'Accept-Language, X-Foo']];
    const key = varyKey(['accept-language', 'x-foo'], h({ 'accept-language': 'en,  fr' }));
    assert.deepEqual(key.varyHeaders, { 'accept-language': 'en, fr' });
    const entry = { headers, varyHeaders: key.varyHeaders };
    assert.equal(matchesVary(entry, h({ 'accept-language': ' en , fr ' })), true);
    assert.equal(matchesVary(entry, h({ 'accept-language': 'en, fr', 'x-foo': '' })), false);
    assert.equal(matchesVary(entry, h({ 'accept-language': 'de' })), false);
    assert.equal(matchesVary(entry, h()), false);
  });
  it('content-negotiation values match case-insensitively, others do not', () => {
    const names = ['accept-language', 'x-token'];
    const key = varyKey(names, h({ 'accept-language': 'en, De', 'x-token': 'Abc' }));
    const entry = {
      headers: [['vary', 'Accept-Language, X-Token']] as HeaderLines,
      varyHeaders: key.varyHeaders,
    };
    assert.equal(matchesVary(entry, h({ 'accept-language': 'EN,de', 'x-token': 'Abc' })), true);
    assert.equal(matchesVary(entry, h({ 'accept-language': 'en, de', 'x-token': 'abc' })), false);
  });

  it('equal normalised requests share a variant key (property)', () => {
    const token = fc.string({ unit: fc.constantFrom(...'abcXY-09'.split('')), minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 4 }), fc.nat(3), fc.nat(3), (items, a, b) => {
        const pad = (n: number) => ' '.repeat(n);
        const v1 = items.join(`${pad(a)},${pad(b)}`);
        const v2 = `${pad(b)}${items.join(', ')}${pad(a)}`;
        assert.equal(normalizeFieldValue(v1), normalizeFieldValue(v2));
        assert.equal(varyKey(['x'], h({ x: v1 })).variant, varyKey(['x'], h({ x: v2 })).variant);
      }),
    );
  });

  it('normalizeFieldValue folds exactly as the (quadratic) regexes it replaced (property)', () => {
    const reference = (v: string) =>
      v
        .trim()
        .replace(/[ \t]*,[ \t]*/g, ', ')
        .replace(/[ \t]+/g, ' ');
    const text = fc.string({
      unit: fc.constantFrom(' ', '\t', ',', 'a', 'B', ';', '"', '\n'),
      maxLength: 30,
    });
    fc.assert(
      fc.property(text, (v) => {
        assert.equal(normalizeFieldValue(v), reference(v));
        assert.equal(normalizeFieldValue(v, 'accept'), reference(v).toLowerCase());
      }),
      { numRuns: 2000 },
    );
  });
});

describe('requestDirectives', () => {
  it('parses Cache-Control case-insensitively', () => {
    assert.deepEqual(
      { ...requestDirectives(h({ 'cache-control': 'Max-Age=5, NO-CACHE' })) },
      { 'max-age': '5', 'no-cache': true },
    );
  });
});

describe('storedFacts: the per-entry part of evaluateReuse and matchesVary, worked out once', () => {
  const directive = fc.constantFrom(
    'max-age=60',
    'max-age=0',
    's-maxage=30',
    'no-cache',
    'must-revalidate',
    'proxy-revalidate',
    'immutable',
    'public',
    'stale-while-revalidate=30',
    'stale-if-error=60',
  );
  const responseLines = fc.record({
    cc: fc.array(directive, { maxLength: 3 }),
    date: fc.option(fc.integer({ min: -100, max: 100 })),
    age: fc.option(fc.constantFrom('0', '10', '3, 5', 'x')),
    expires: fc.option(fc.integer({ min: -100, max: 100 })),
    lastModified: fc.option(fc.integer({ min: 0, max: 1_000_000 })),
    vary: fc.option(fc.constantFrom('accept', 'Accept, accept-language', '*', '')),
  });
  const requestHeaders = fc.record({
    cc: fc.option(fc.constantFrom('max-age=5', 'min-fresh=20', 'max-stale', 'max-stale=10', 'no-cache')),
    accept: fc.option(fc.constantFrom('text/html', 'TEXT/HTML')),
  });

  it('gives the same decisions as reading the header lines on each call (property)', () => {
    fc.assert(
      fc.property(
        responseLines,
        requestHeaders,
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        (r, q, later, delay, shared) => {
          const lines: [string, string][] = [];
          if (r.cc.length) lines.push(['cache-control', r.cc.join(', ')]);
          if (r.date !== null) lines.push(['date', new Date(T0 + r.date * 1000).toUTCString()]);
          if (r.age !== null) lines.push(['age', r.age]);
          if (r.expires !== null) lines.push(['expires', new Date(T0 + r.expires * 1000).toUTCString()]);
          if (r.lastModified !== null)
            lines.push(['last-modified', new Date(T0 - r.lastModified * 1000).toUTCString()]);
          if (r.vary !== null) lines.push(['vary', r.vary]);
          const entry = {
            status: 200,
            headers: lines,
            requestTime: T0 - delay * 1000,
            responseTime: T0,
            varyHeaders: { accept: 'text/html' },
          };
          const req = h({
            ...(q.cc === null ? {} : { 'cache-control': q.cc }),
            ...(q.accept === null ? {} : { accept: q.accept }),
          });
          const options = { shared };
          const facts = storedFacts(entry, options);
          const now = T0 + later * 1000;
          assert.deepEqual(
            evaluateReuse(req, entry, now, options, facts),
            evaluateReuse(req, entry, now, options),
          );
          assert.equal(matchesVary(entry, req, facts.varyNames), matchesVary(entry, req));
          assert.equal(facts.initialAge + later, currentAge(entry, now));
        },
      ),
    );
  });
});
