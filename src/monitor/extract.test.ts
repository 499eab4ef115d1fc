import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { classify, ExtractionError, extract, normalizeText, resolvePointer } from './extract.ts';

const watch = { ignore: [], whitespace: 'collapse' as const };
const bytes = (s: string) => new TextEncoder().encode(s);

test('classify: by media type, and binary when NUL bytes appear', () => {
  const rows: [string | undefined, string, string][] = [
    ['text/html; charset=utf-8', '<p>', 'html'],
    ['application/xhtml+xml', '<p>', 'html'],
    ['application/json', '{}', 'json'],
    ['application/problem+json', '{}', 'json'],
    ['text/plain', 'x', 'text'],
    ['application/atom+xml', '<feed/>', 'text'],
    [undefined, 'x', 'text'],
    ['image/png', 'x', 'binary'],
    ['text/plain', 'a\0b', 'binary'],
    ['application/octet-stream', 'x', 'binary'],
  ];
  for (const [type, body, kind] of rows) assert.equal(classify(type, bytes(body)), kind, `${type} ${body}`);
});

test('HTML: visible text by blocks; scripts and styles dropped; entities decoded; selector picks elements', () => {
  const html =
    '<html><head><title>T</title><style>p{}</style></head><body><h1>Title</h1><p>a &amp; b</p><script>x()</script><ul><li>one</li><li class="x">two</li></ul></body></html>';
  assert.equal(extract(bytes(html), 'text/html', watch).text, 'Title\na & b\none\ntwo');
  assert.equal(extract(bytes(html), 'text/html', { ...watch, selector: 'li.x, h1' }).text, 'Title\ntwo');
  assert.equal(extract(bytes(html), 'text/html', { ...watch, selector: '.missing' }).text, '');
});

test('HTML nested 100,000 deep costs no stack', () => {
  const html = `${'<div>'.repeat(100_000)}deep${'</div>'.repeat(100_000)}`;
  assert.equal(extract(bytes(html), 'text/html', watch).text, 'deep');
});

test('JSON: sorted keys, pointer, ignore on string values only, depth bounded', () => {
  const doc = '{"b":{"t":"at 10:00","n":1},"a":[1,2]}';
  assert.equal(
    extract(bytes(doc), 'application/json', watch).text,
    '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {\n    "n": 1,\n    "t": "at 10:00"\n  }\n}',
  );
  assert.equal(extract(bytes(doc), 'application/json', { ...watch, pointer: '/a/1' }).text, '2');
  assert.equal(extract(bytes(doc), 'application/json', { ...watch, pointer: '/nope' }).text, '');
  assert.equal(
    extract(bytes(doc), 'application/json', { ...watch, pointer: '/b', ignore: ['\\d\\d:\\d\\d'] }).text,
    '{\n  "n": 1,\n  "t": "at "\n}',
  );
  assert.throws(() => extract(bytes('nope'), 'text/plain', { ...watch, pointer: '/a' }), ExtractionError);
  assert.throws(
    () => extract(bytes(`${'['.repeat(600)}${']'.repeat(600)}`), 'application/json', watch),
    /nested deeper/,
  );
  assert.equal(
    extract(bytes('{oops'), 'application/json', watch).kind,
    'text',
    'labelled JSON that is not: text',
  );
});

test('resolvePointer: RFC 6901 §5 on the RFC document', () => {
  const doc = {
    foo: ['bar', 'baz'],
    '': 0,
    'a/b': 1,
    'c%d': 2,
    'e^f': 3,
    'g|h': 4,
    'i\\j': 5,
    'k"l': 6,
    ' ': 7,
    'm~n': 8,
  };
  assert.equal(resolvePointer(doc, []), doc);
  assert.deepEqual(resolvePointer(doc, ['foo']), ['bar', 'baz']);
  assert.equal(resolvePointer(doc, ['foo', '0']), 'bar');
  assert.equal(resolvePointer(doc, ['foo', '01']), undefined, 'leading zeros are not indexes');
  assert.equal(resolvePointer(doc, ['foo', '-']), undefined);
  assert.equal(resolvePointer(doc, ['a/b']), 1);
  assert.equal(resolvePointer(doc, ['m~n']), 8);
  assert.equal(resolvePointer(doc, ['constructor']), undefined, 'own properties only');
});

test('normalizeText: whitespace folding is idempotent and ignore removes every match (property)', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      const once = normalizeText(text, watch);
      assert.equal(normalizeText(once, watch), once);
      assert.doesNotMatch(normalizeText(text, { ignore: ['\\d'], whitespace: 'keep' }), /\d/);
    }),
  );
});

test('charset from Content-Type; an unknown label reads as UTF-8', () => {
  const latin1 = Uint8Array.from([0x63, 0x61, 0x66, 0xe9]);
  assert.equal(extract(latin1, 'text/plain; charset=iso-8859-1', watch).text, 'café');
  assert.equal(extract(bytes('café'), 'text/plain; charset=nonsense', watch).text, 'café');
});
