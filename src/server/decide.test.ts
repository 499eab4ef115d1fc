import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide, decideAfter, parseCurrentTag, requiredMethods, tagAfterWrite } from './decide.ts';

const NONE = new Set<string>();
const WRITES = requiredMethods(true);
const LM = new Date('2024-01-02T03:04:05Z');

describe('decide (§13.2.2 before the handler, RFC 6585 §3)', () => {
  const rows: {
    name: string;
    method: string;
    headers: Record<string, string>;
    validators?: { etag?: string; lastModified?: Date; exists?: boolean };
    required?: ReadonlySet<string>;
    expected: ReturnType<typeof decide>;
  }[] = [
    {
      name: 'no validators: proceed (the body will be hashed)',
      method: 'GET',
      headers: { 'if-none-match': '*' },
      expected: { action: 'proceed' },
    },
    {
      name: '§13.1.2 weak match on GET',
      method: 'GET',
      headers: { 'if-none-match': 'W/"a"' },
      validators: { etag: '"a"' },
      expected: { action: 'not-modified', by: 'if-none-match' },
    },
    {
      name: 'encoding suffix recognised and reported',
      method: 'HEAD',
      headers: { 'if-none-match': '"a-gzip"' },
      validators: { etag: '"a"' },
      expected: { action: 'not-modified', by: 'if-none-match', coding: 'gzip' },
    },
    {
      name: '§13.1.2 If-None-Match on a write: 412',
      method: 'put',
      headers: { 'if-none-match': '*' },
      validators: { etag: '"a"' },
      expected: { action: 'precondition-failed', by: 'if-none-match' },
    },
    {
      name: '§13.1.1 If-Match on a missing resource: 412',
      method: 'PATCH',
      headers: { 'if-match': '"a"' },
      validators: { exists: false },
      expected: { action: 'precondition-failed', by: 'if-match' },
    },
    {
      name: '§13.1.4 If-Unmodified-Since',
      method: 'DELETE',
      headers: { 'if-unmodified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' },
      validators: { lastModified: LM },
      expected: { action: 'precondition-failed', by: 'if-unmodified-since' },
    },
    {
      name: '§13.2.1 GET of a missing resource ignores preconditions',
      method: 'GET',
      headers: { 'if-match': '"a"' },
      validators: { exists: false },
      expected: { action: 'proceed' },
    },
    {
      name: 'Range is not conditional()’s business: proceed',
      method: 'GET',
      headers: { range: 'bytes=0-1', 'if-range': '"b"' },
      validators: { etag: '"a"' },
      expected: { action: 'proceed' },
    },
    {
      name: 'RFC 6585 §3: a required write without precondition → 428, even before validators',
      method: 'PATCH',
      headers: {},
      required: WRITES,
      expected: { action: 'precondition-required', by: 'require-preconditions' },
    },
    {
      name: 'If-None-Match: * satisfies the requirement (create-only PUT)',
      method: 'PUT',
      headers: { 'if-none-match': '*' },
      validators: { exists: false },
      required: WRITES,
      expected: { action: 'proceed' },
    },
    {
      name: 'RFC 6585 §3 + §13.1.4: If-Unmodified-Since alone does not satisfy the requirement (one-second dates)',
      method: 'DELETE',
      headers: { 'if-unmodified-since': 'Tue, 02 Jan 2024 03:04:05 GMT' },
      validators: { lastModified: LM },
      required: WRITES,
      expected: { action: 'precondition-required', by: 'if-unmodified-since' },
    },
    {
      name: 'RFC 6585 §3: a date-only guard is refused even on a resource last modified long ago',
      method: 'PUT',
      headers: { 'if-unmodified-since': 'Tue, 02 Jan 2024 03:04:05 GMT' },
      validators: { etag: '"a"', lastModified: LM },
      required: WRITES,
      expected: { action: 'precondition-required', by: 'if-unmodified-since' },
    },
    {
      name: '§13.2.2 If-Match beside If-Unmodified-Since satisfies it (the date is then ignored)',
      method: 'PATCH',
      headers: { 'if-match': '"a"', 'if-unmodified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' },
      validators: { etag: '"a"', lastModified: LM },
      required: WRITES,
      expected: { action: 'proceed' },
    },
    {
      name: '§13.1.4 without requirePreconditions, If-Unmodified-Since is evaluated: proceeds',
      method: 'DELETE',
      headers: { 'if-unmodified-since': 'Tue, 02 Jan 2024 03:04:05 GMT' },
      validators: { lastModified: LM },
      expected: { action: 'proceed' },
    },
    {
      name: '§13.1.4 without requirePreconditions, If-Unmodified-Since is evaluated: 412',
      method: 'DELETE',
      headers: { 'if-unmodified-since': 'Tue, 02 Jan 2024 03:04:04 GMT' },
      validators: { lastModified: LM },
      expected: { action: 'precondition-failed', by: 'if-unmodified-since' },
    },
    {
      name: 'POST is not required by `true`',
      method: 'POST',
      headers: {},
      required: WRITES,
      expected: { action: 'proceed' },
    },
  ];
  for (const row of rows) {
    test(row.name, () =>
      assert.deepEqual(decide(row.method, row.headers, row.validators, row.required ?? NONE), row.expected),
    );
  }

  test('a malformed ETag from validate throws an actionable TypeError', () => {
    assert.throws(() => decide('GET', {}, { etag: 'v1' }, NONE), /"v1".*not an entity-tag.*etagFromVersion/);
  });

  test('a lastModified no HTTP-date can carry throws an actionable TypeError, request conditional or not', () => {
    const rows: [value: unknown, shown: RegExp][] = [
      [new Date(Number.NaN), /Invalid Date/],
      [Number.NaN, /NaN/],
      [Number.POSITIVE_INFINITY, /Infinity/],
      ['2024-01-02 03:04:05', /"2024-01-02 03:04:05".*new Date\(value\)/],
      [new Date(Date.UTC(10000, 0, 1)), /\+010000-01-01/],
    ];
    for (const [value, shown] of rows) {
      const validators = { etag: '"a"', lastModified: value as Date };
      assert.throws(() => decide('GET', {}, validators, NONE), TypeError);
      assert.throws(() => decide('GET', { 'if-modified-since': 'x' }, validators, NONE), shown);
    }
    assert.deepEqual(decide('GET', {}, { lastModified: Date.UTC(9999, 11, 31, 23, 59, 59) }, NONE), {
      action: 'proceed',
    });
    assert.deepEqual(decide('GET', {}, { lastModified: new Date(-62_167_219_200_000) }, NONE), {
      action: 'proceed',
    });
  });

  test('tagAfterWrite: the new tag, or nothing when it is gone, absent or malformed', () => {
    assert.equal(tagAfterWrite({ etag: '"v2"' }), '"v2"');
    assert.equal(tagAfterWrite({ etag: '"v2"', exists: false }), undefined);
    assert.equal(tagAfterWrite({}), undefined);
    assert.equal(tagAfterWrite(undefined), undefined);
    assert.equal(tagAfterWrite({ etag: 'v2' }), undefined);
    assert.equal(tagAfterWrite({ etag: '"v2"\r\nx-injected: 1' }), undefined);
  });

  test('requiredMethods: true, list (case-insensitive), false', () => {
    assert.deepEqual([...requiredMethods(true)], ['PUT', 'PATCH', 'DELETE']);
    assert.deepEqual([...requiredMethods(['post', 'Put'])], ['POST', 'PUT']);
    assert.equal(requiredMethods(false).size, 0);
    assert.equal(requiredMethods(undefined).size, 0);
  });
});

describe('decideAfter (validators from the handler’s response)', () => {
  test('hashed tag matches', () =>
    assert.equal(decideAfter('GET', { 'if-none-match': '"h"' }, '"h"', undefined).action, 'not-modified'));
  test('Last-Modified header parsed for If-Modified-Since', () => {
    const d = decideAfter(
      'GET',
      { 'if-modified-since': 'Wed, 03 Jan 2024 00:00:00 GMT' },
      undefined,
      LM.toUTCString(),
    );
    assert.deepEqual(d, { action: 'not-modified', by: 'if-modified-since' });
  });
  test('a handler ETag that is not an entity-tag is no validator', () =>
    assert.equal(decideAfter('GET', { 'if-none-match': '*' }, 'garbage', undefined).action, 'proceed'));
  test('nothing to compare: proceed', () =>
    assert.equal(decideAfter('GET', { 'if-none-match': '*' }, undefined, undefined).action, 'proceed'));
});

describe('parseCurrentTag (parsed once per distinct value)', () => {
  test('the same tag again gives the same result; another tag, or a malformed one, is parsed anew', () => {
    assert.deepEqual(parseCurrentTag({ etag: '"a"' }), { weak: false, tag: 'a' });
    assert.deepEqual(parseCurrentTag({ etag: '"a"' }), { weak: false, tag: 'a' });
    assert.deepEqual(parseCurrentTag({ etag: 'W/"b"' }), { weak: true, tag: 'b' });
    assert.throws(() => parseCurrentTag({ etag: 'a' }), /not an entity-tag/);
    assert.throws(() => parseCurrentTag({ etag: 'a' }), /not an entity-tag/);
    assert.deepEqual(parseCurrentTag({ etag: 'W/"b"' }), { weak: true, tag: 'b' });
    assert.equal(parseCurrentTag({}), undefined);
    assert.equal(parseCurrentTag(undefined), undefined);
  });

  test('once the current tag changes, requests are compared with the new one', () => {
    const none: ReadonlySet<string> = new Set();
    assert.equal(decide('GET', { 'if-none-match': '"v1"' }, { etag: '"v1"' }, none).action, 'not-modified');
    assert.equal(decide('GET', { 'if-none-match': '"v1"' }, { etag: '"v2"' }, none).action, 'proceed');
    assert.equal(decide('GET', { 'if-none-match': '"v2"' }, { etag: '"v2"' }, none).action, 'not-modified');
  });
});
