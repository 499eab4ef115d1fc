import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  keptOnNotModified,
  notModified,
  preconditionFailed,
  preconditionRequired,
} from './early-response.ts';

const LM = new Date('2024-01-02T03:04:05Z');

describe('early responses', () => {
  test('§15.4.5 304: only the allowed route headers, ETag, no body', () => {
    const r = notModified(
      { etag: '"a"', lastModified: LM },
      {
        'Cache-Control': 'no-cache',
        vary: 'Accept',
        'content-type': 'application/json',
        'x-custom': '1',
      },
    );
    assert.deepEqual(r, {
      status: 304,
      headers: { 'cache-control': 'no-cache', vary: 'Accept', etag: '"a"' },
      body: undefined,
    });
  });
  test('304 without ETag carries Last-Modified', () =>
    assert.deepEqual(notModified({ lastModified: LM }, undefined).headers, {
      'last-modified': 'Tue, 02 Jan 2024 03:04:05 GMT',
    }));
  test('304 echoes the suffixed tag the client holds', () =>
    assert.equal(notModified({ etag: '"a"' }, undefined, 'br').headers.etag, '"a-br"'));

  test('412 problem+json names the precondition and carries the current ETag', () => {
    const r = preconditionFailed('if-match', { etag: '"a"' });
    assert.equal(r.status, 412);
    assert.equal(r.headers['content-type'], 'application/problem+json');
    assert.equal(r.headers.etag, '"a"');
    const body = JSON.parse(new TextDecoder().decode(r.body));
    assert.equal(body.status, 412);
    assert.equal(body.precondition, 'if-match');
    assert.match(body.detail, /If-Match/);
  });
  test('412 for a missing resource has no ETag header', () =>
    assert.equal(preconditionFailed('if-match', { exists: false }).headers.etag, undefined));
  test('428 says what to send', () => {
    const r = preconditionRequired('patch');
    assert.equal(r.status, 428);
    assert.match(JSON.parse(new TextDecoder().decode(r.body)).detail, /^PATCH requires If-Match/);
  });

  test('428 for a date-only guard says why the date is not enough and to use If-Match', () => {
    const r = preconditionRequired('put', 'if-unmodified-since');
    const body = JSON.parse(new TextDecoder().decode(r.body));
    assert.equal(r.status, 428);
    assert.equal(body.precondition, 'if-match');
    assert.match(body.detail, /^If-Unmodified-Since cannot guard this PUT: .*one-second.*If-Match/);
  });

  test('keptOnNotModified: §15.4.5 list, Set-Cookie, Last-Modified only without ETag', () => {
    for (const name of ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'set-cookie'])
      assert.ok(keptOnNotModified(name, true), name);
    for (const name of ['content-type', 'content-length', 'content-encoding', 'x-custom'])
      assert.ok(!keptOnNotModified(name, true), name);
    assert.ok(keptOnNotModified('last-modified', false));
    assert.ok(!keptOnNotModified('last-modified', true));
  });
});
