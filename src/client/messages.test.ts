import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text as readText } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { normalizeCall, partialResponse, storedResponse } from './messages.ts';
import type { StoredResponse } from './store.ts';

const url = 'http://127.0.0.1:1/doc';
const entryOf = (body: string, headers: [string, string][] = []): StoredResponse => ({
  key: `GET ${url}`,
  variant: '',
  status: 200,
  headers: [['content-type', 'application/json; charset=utf-8'], ...headers],
  varyHeaders: {},
  body: new TextEncoder().encode(body),
  requestTime: 0,
  responseTime: 0,
});
const serve = (entry: StoredResponse, method = 'GET') =>
  storedResponse(normalizeCall(url, { method }), entry, 3.7, 'etagkit; hit');

describe('storedResponse', () => {
  it('is a Response with the stored fields, Age and Cache-Status, and the request URL', async () => {
    const res = serve(entryOf('{"a":1}', [['cache-status', 'upstream; hit']]));
    assert.ok(res instanceof Response);
    assert.equal(res.url, url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('age'), '3');
    assert.equal(res.headers.get('cache-status'), 'upstream; hit, etagkit; hit');
    assert.deepEqual(await res.json(), { a: 1 });
  });

  it('each body reader returns the stored bytes', async () => {
    const entry = entryOf('\u{feff}héllo');
    assert.equal(await serve(entry).text(), 'héllo'); // UTF-8 decode drops the BOM, as Fetch's does
    assert.deepEqual(new Uint8Array(await serve(entry).arrayBuffer()), entry.body);
    assert.deepEqual(await serve(entry).bytes(), entry.body);
    const blob = await serve(entry).blob();
    assert.equal(blob.type, 'application/json;charset=utf-8'); // the MIME type serialised, as Fetch does
    assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), entry.body);
    assert.equal(await readText(Readable.fromWeb(serve(entry).body as never)), 'héllo');
    const form = await serve({
      ...entryOf('a=1&b=2'),
      headers: [['content-type', 'application/x-www-form-urlencoded']],
    }).formData();
    assert.equal(form.get('b'), '2');
  });

  it('a body is read once: a second read rejects and bodyUsed says so', async () => {
    const res = serve(entryOf('x'));
    assert.equal(res.bodyUsed, false);
    await res.arrayBuffer();
    assert.equal(res.bodyUsed, true);
    await assert.rejects(res.text(), TypeError);
    assert.throws(() => res.clone(), TypeError);
  });

  it('reading the body stream uses the body up too', async () => {
    const res = serve(entryOf('streamed'));
    assert.equal(res.body, res.body, 'one stream per response');
    const reader = res.body!.getReader();
    assert.throws(() => res.clone(), TypeError, 'a locked body cannot be cloned');
    await assert.rejects(res.arrayBuffer(), TypeError, 'a locked body cannot be read');
    const { value } = await reader.read();
    assert.equal(new TextDecoder().decode(value), 'streamed');
    assert.equal(res.bodyUsed, true);
  });

  it('a stream taken but not read is read by arrayBuffer(), and BYOB readers work', async () => {
    const res = serve(entryOf('abc'));
    assert.ok(res.body);
    assert.equal(await res.text(), 'abc');
    assert.equal(res.bodyUsed, true);

    const byob = serve(entryOf('abcdef')).body!.getReader({ mode: 'byob' });
    const { value } = await byob.read(new Uint8Array(4));
    assert.equal(new TextDecoder().decode(value), 'abcd');
  });

  it('clones read independently', async () => {
    const res = serve(entryOf('twice'));
    const copy = res.clone();
    assert.ok(copy instanceof Response);
    assert.equal(copy.url, url);
    assert.equal(copy.headers.get('age'), '3');
    assert.equal(await res.text(), 'twice');
    assert.equal(await copy.text(), 'twice');
  });

  it('never hands out the stored bytes themselves', async () => {
    const entry = entryOf('keep');
    new Uint8Array(await serve(entry).arrayBuffer()).fill(0);
    (await serve(entry).bytes()).fill(0);
    const { value } = await serve(entry).body!.getReader().read();
    value!.fill(0);
    assert.equal(new TextDecoder().decode(entry.body), 'keep');
  });

  it('HEAD and null-body statuses have no body', async () => {
    assert.equal(serve(entryOf('x'), 'HEAD').body, null);
    assert.equal(serve({ ...entryOf(''), status: 204 }).body, null);
    assert.equal(await serve(entryOf('x'), 'HEAD').text(), '');
  });
});

describe('partialResponse', () => {
  it('serves one range of the stored bytes as a 206 that reads like any other', async () => {
    const res = partialResponse(
      normalizeCall(url),
      entryOf('0123456789'),
      { start: 2, end: 5 },
      0,
      'etagkit',
    );
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 2-5/10');
    assert.equal(res.headers.get('content-length'), '4');
    assert.equal(await res.clone().text(), '2345');
    assert.equal(await res.text(), '2345');
  });
});

describe('normalizeCall: a header value Headers refuses', () => {
  const rows: [string, HeadersInit][] = [
    ['a record', { authorization: 'Bearer s3cret\nInjected: 1' }],
    ['a list of pairs', [['cookie', 'session=s3cret\u0000']]],
  ];
  for (const [name, headers] of rows)
    it(`${name}: names the field, never shows the value`, () => {
      assert.throws(
        () => normalizeCall('http://origin.test/', { headers }),
        (error: Error) =>
          error instanceof TypeError &&
          /authorization|cookie/.test(error.message) &&
          !/s3cret/.test(error.message) &&
          !/s3cret/.test(String(error.cause ?? '')),
      );
    });
});
