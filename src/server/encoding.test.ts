import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { getHeader, parseEntityTagList } from '../core/index.ts';
import { normalizeConditionalHeaders, tagForEncoding } from './encoding.ts';

describe('tagForEncoding (§8.8.3: a strong tag names one byte sequence)', () => {
  const rows: [string, string | undefined, string][] = [
    ['"v1"', 'gzip', '"v1-gzip"'],
    ['"v1"', 'br', '"v1-br"'],
    ['"v1"', ' GZIP ', '"v1-gzip"'],
    ['W/"v1"', 'gzip', 'W/"v1"'], // weak tags may be shared by equivalent encodings
    ['"v1"', 'identity', '"v1"'],
    ['"v1"', undefined, '"v1"'],
    ['"v1"', 'made-up', '"v1"'],
    ['"v1-gzip"', 'gzip', '"v1-gzip"'], // idempotent
    ['not a tag', 'gzip', 'not a tag'],
  ];
  for (const [etag, coding, expected] of rows) {
    test(`${etag} + ${coding} → ${expected}`, () => assert.equal(tagForEncoding(etag, coding), expected));
  }
});

describe('normalizeConditionalHeaders', () => {
  const current = { weak: false, tag: 'v1' };

  test('strips the coding suffix of the current tag and reports the coding', () => {
    const n = normalizeConditionalHeaders({ 'if-none-match': '"x", "v1-gzip"' }, current);
    assert.equal(getHeader(n.headers, 'if-none-match'), '"x", "v1"');
    assert.equal(n.coding, 'gzip');
  });

  test('rewrites If-Match too, keeps other headers', () => {
    const n = normalizeConditionalHeaders({ 'if-match': '"v1-br"', 'if-modified-since': 'x' }, current);
    assert.equal(getHeader(n.headers, 'if-match'), '"v1"');
    assert.equal(getHeader(n.headers, 'if-modified-since'), 'x');
    assert.equal(n.coding, undefined, 'the 304 echo is only for If-None-Match');
  });

  test('returns the very same headers when nothing needs rewriting', () => {
    const headers = { 'if-none-match': '"v1", "v2-gzip"' };
    assert.equal(normalizeConditionalHeaders(headers, current).headers, headers);
    assert.equal(normalizeConditionalHeaders(headers, undefined).headers, headers);
    const unknown = { 'if-none-match': '"v1-zip"' };
    assert.equal(normalizeConditionalHeaders(unknown, current).headers, unknown);
  });

  test('works on Fetch Headers', () => {
    const n = normalizeConditionalHeaders(new Headers({ 'if-none-match': 'W/"v1-deflate"' }), current);
    assert.equal(getHeader(n.headers, 'if-none-match'), 'W/"v1"');
  });

  const etagc = fc.stringMatching(/^[!#-~]{1,12}$/);
  const coding = fc.constantFrom('gzip', 'br', 'deflate', 'zstd');

  test('property: a suffixed current tag anywhere in a list becomes the bare tag, other members survive', () => {
    fc.assert(
      fc.property(etagc, coding, fc.array(etagc, { maxLength: 4 }), fc.nat(4), (tag, c, others, at) => {
        const list = others.filter((o) => o !== tag && !o.startsWith(`${tag}-`)).map((o) => `"${o}"`);
        list.splice(Math.min(at, list.length), 0, `"${tag}-${c}"`);
        const n = normalizeConditionalHeaders({ 'if-none-match': list.join(', ') }, { weak: false, tag });
        const parsed = parseEntityTagList(getHeader(n.headers, 'if-none-match'));
        assert.ok(parsed !== '*');
        assert.ok(parsed.some((t) => t.tag === tag));
        assert.equal(parsed.length, list.length);
        assert.equal(n.coding, c);
      }),
    );
  });

  test('property: headers without the current tag are never rewritten', () => {
    fc.assert(
      fc.property(etagc, fc.string({ maxLength: 40 }), (tag, value) => {
        fc.pre(!value.includes(`"${tag}-`));
        const headers = { 'if-none-match': value, 'if-match': value };
        assert.equal(normalizeConditionalHeaders(headers, { weak: false, tag }).headers, headers);
      }),
    );
  });

  test('property: tagForEncoding then normalize round-trips to the current tag', () => {
    fc.assert(
      fc.property(etagc, coding, (tag, c) => {
        const sent = tagForEncoding(`"${tag}"`, c);
        const n = normalizeConditionalHeaders({ 'if-none-match': sent }, { weak: false, tag });
        assert.equal(getHeader(n.headers, 'if-none-match'), `"${tag}"`);
      }),
    );
  });
});
