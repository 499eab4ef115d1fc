/**
 * Answering from a stored response: the 304 of RFC 9110 §13.2.2 and §15.4.5, on the shortcut (If-None-Match
 * exactly the stored tag, no list parsed) and the full evaluator alike. Each row also asks the core evaluator,
 * so the shortcut can never decide otherwise than §13.2.2 does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { guardStore } from '../client/guarded-store.ts';
import type { StoredResponse } from '../client/store.ts';
import { memoryStore } from '../client/stores/memory.ts';
import { evaluatePreconditions } from '../core/index.ts';
import { fromEntry } from './answer.ts';
import { cached } from './cache.ts';
import type { ProxyContext, ProxyRequest } from './context.ts';
import { GENERATED_ETAG } from './headers.ts';
import { Metrics } from './metrics.ts';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const DATE = new Date(NOW - 5_000).toUTCString();
const LAST_MODIFIED = 'Thu, 01 Jan 2026 00:00:00 GMT';
const KEY = 'GET http://origin.test/page';

function context(): ProxyContext {
  return {
    upstream: { origin: 'http://origin.test', basePath: '' },
    guarded: guardStore(
      memoryStore(),
      () => NOW,
      () => {},
    ),
    policy: { shared: true },
    now: () => NOW,
    maxEntryBytes: 1 << 20,
    etagBufferBytes: 0,
    addEtags: false,
    leaseMs: 0,
    metrics: new Metrics(),
    flights: new Map(),
  } as unknown as ProxyContext;
}

function entry(
  headers: [string, string][],
  varyHeaders: Record<string, string> = {},
  variant = '',
): StoredResponse {
  return {
    key: KEY,
    variant,
    status: 200,
    headers: [['date', DATE], ['cache-control', 'max-age=60'], ...headers],
    varyHeaders,
    body: new TextEncoder().encode('stored body'),
    requestTime: NOW - 5_000,
    responseTime: NOW - 5_000,
  };
}

function request(headers: Record<string, string>, method = 'GET'): ProxyRequest {
  return {
    method,
    target: '/page',
    headers,
    body: null,
    signal: new AbortController().signal,
    remoteAddress: undefined,
  };
}

/** The status §13.2.2 gives, from the core evaluator alone. */
function evaluated(req: ProxyRequest, etag: string): number {
  const decision = evaluatePreconditions(
    { method: req.method, headers: req.headers },
    { etag, lastModified: Date.parse(LAST_MODIFIED), size: 11, now: NOW },
  );
  return { 'not-modified': 304, 'precondition-failed': 412, partial: 206 }[decision.action as string] ?? 200;
}

const strong = entry([
  ['etag', '"v1"'],
  ['last-modified', LAST_MODIFIED],
]);
const weak = entry([
  ['etag', 'W/"v1"'],
  ['last-modified', LAST_MODIFIED],
]);
const commas = entry([['etag', '"a,b"']]);
const EARLIER = 'Wed, 31 Dec 2025 00:00:00 GMT';
const LATER = 'Fri, 02 Jan 2026 00:00:00 GMT';

describe('If-None-Match on a stored response (RFC 9110 §13.1.2, §13.2.2)', () => {
  const rows: [string, StoredResponse, string, Record<string, string>, number, string?][] = [
    ['exact strong tag (shortcut)', strong, '"v1"', { 'if-none-match': '"v1"' }, 304],
    [
      '§8.8.3.2 weak comparison: W/ form of a strong stored tag',
      strong,
      '"v1"',
      { 'if-none-match': 'W/"v1"' },
      304,
    ],
    [
      '§8.8.3.2 weak comparison: strong form of a weak stored tag',
      weak,
      'W/"v1"',
      { 'if-none-match': '"v1"' },
      304,
    ],
    ['exact weak tag', weak, 'W/"v1"', { 'if-none-match': 'W/"v1"' }, 304],
    ['another tag', strong, '"v1"', { 'if-none-match': '"v2"' }, 200],
    ['a prefix of the tag', strong, '"v1"', { 'if-none-match': '"v"' }, 200],
    ['a list holding the tag', strong, '"v1"', { 'if-none-match': '"v0", W/"v1"' }, 304],
    ['a list without it', strong, '"v1"', { 'if-none-match': '"v0", "v2"' }, 200],
    ['the tag with spaces around it (OWS)', strong, '"v1"', { 'if-none-match': ' "v1" ' }, 304],
    ['`*`: any current representation', strong, '"v1"', { 'if-none-match': '*' }, 304],
    ['a tag holding a comma, exactly', commas, '"a,b"', { 'if-none-match': '"a,b"' }, 304],
    ['a tag holding a comma, a piece of it', commas, '"a,b"', { 'if-none-match': '"a"' }, 200],
    ['step 1: If-Match fails first', strong, '"v1"', { 'if-match': '"v2"', 'if-none-match': '"v1"' }, 412],
    ['step 1: If-Match holds', strong, '"v1"', { 'if-match': '"v1"', 'if-none-match': '"v1"' }, 304],
    [
      'step 2: If-Unmodified-Since fails first',
      strong,
      '"v1"',
      { 'if-unmodified-since': EARLIER, 'if-none-match': '"v1"' },
      412,
    ],
    [
      'step 4: If-Modified-Since is not evaluated beside If-None-Match (match)',
      strong,
      '"v1"',
      { 'if-none-match': '"v1"', 'if-modified-since': EARLIER },
      304,
    ],
    [
      'step 4: If-Modified-Since is not evaluated beside If-None-Match (no match)',
      strong,
      '"v1"',
      { 'if-none-match': '"v2"', 'if-modified-since': LATER },
      200,
    ],
    [
      'step 5 comes after: Range with a matching tag',
      strong,
      '"v1"',
      { 'if-none-match': '"v1"', range: 'bytes=0-1' },
      304,
    ],
    ['HEAD', strong, '"v1"', { 'if-none-match': '"v1"' }, 304, 'HEAD'],
  ];
  for (const [name, stored, etag, headers, status, method] of rows) {
    test(`${name}: ${status}`, () => {
      const req = request(headers, method);
      const reply = fromEntry(context(), req, stored, { hit: true, ttl: 55 });
      assert.equal(reply.status, status);
      assert.equal(evaluated(req, etag), status, 'the core evaluator agrees');
    });
  }

  test("the proxy's own tag (made from the bytes) answers like an upstream one", () => {
    const stored = entry([[GENERATED_ETAG, '"g1"']]);
    const reply = fromEntry(context(), request({ 'if-none-match': '"g1"' }), stored, { hit: true, ttl: 55 });
    assert.equal(reply.status, 304);
    assert.equal(field(reply.head, 'etag'), '"g1"');
    assert.equal(field(reply.head, GENERATED_ETAG), undefined);
  });

  test('an entry whose stored tag has spaces around it: the exact value takes the full path, with the same answer', () => {
    const stored = entry([['etag', ' "v1" ']]);
    assert.equal(fromEntry(context(), request({ 'if-none-match': '"v1"' }), stored, {}).status, 304);
    assert.equal(fromEntry(context(), request({ 'if-none-match': 'W/ "v1"' }), stored, {}).status, 200);
  });
});

function field(head: readonly string[], name: string): string | undefined {
  for (let i = 0; i < head.length; i += 2) if (head[i] === name) return head[i + 1];
  return undefined;
}

function names(head: readonly string[]): string[] {
  return head.filter((_, i) => i % 2 === 0).sort();
}

describe('the 304 carries what §15.4.5 asks for, and nothing else', () => {
  const full = entry([
    ['etag', '"v1"'],
    ['last-modified', LAST_MODIFIED],
    ['content-type', 'text/plain'],
    ['content-length', '11'],
    ['content-language', 'en'],
    ['content-location', '/page.en'],
    ['expires', 'Sat, 10 Jan 2026 12:01:00 GMT'],
    ['vary', 'accept-language'],
    ['set-cookie', 'session=1'],
    ['x-custom', 'yes'],
  ]);
  const expected = [
    'age',
    'cache-control',
    'cache-status',
    'content-location',
    'date',
    'etag',
    'expires',
    'vary',
  ];

  for (const [name, inm] of [
    ['shortcut', '"v1"'],
    ['list', '"v0", "v1"'],
    ['*', '*'],
  ] as const) {
    test(`${name}: Cache-Control, Content-Location, Date, ETag, Expires, Vary (+ Age, Cache-Status)`, () => {
      const reply = fromEntry(context(), request({ 'if-none-match': inm }), full, { hit: true, ttl: 55 });
      assert.equal(reply.status, 304);
      assert.equal(reply.body, null);
      assert.deepEqual(names(reply.head), expected);
      assert.equal(field(reply.head, 'etag'), '"v1"');
      assert.equal(field(reply.head, 'date'), DATE);
      assert.equal(field(reply.head, 'age'), '5');
      assert.equal(field(reply.head, 'vary'), 'accept-language');
    });
  }

  test('the shortcut and the full path give the same 304, Age and Cache-Status included', () => {
    const member = { hit: true, ttl: 55 };
    const shortcut = fromEntry(context(), request({ 'if-none-match': '"v1"' }), full, member);
    const listed = fromEntry(context(), request({ 'if-none-match': '"x", "v1"' }), full, member);
    assert.deepEqual(shortcut, listed);
  });

  test('each 304 counts once in the metrics', () => {
    const ctx = context();
    fromEntry(ctx, request({ 'if-none-match': '"v1"' }), full, {});
    fromEntry(ctx, request({ 'if-none-match': '"v0", "v1"' }), full, {});
    assert.equal(ctx.metrics.stats.notModifiedServed, 2);
  });
});

describe('Vary selects the stored response the tag is compared with (RFC 9111 §4.1)', () => {
  async function stored(): Promise<ProxyContext> {
    const ctx = context();
    const vary: [string, string][] = [['vary', 'Accept-Encoding']];
    await ctx.guarded.put(
      entry(
        [...vary, ['etag', '"gz"'], ['content-encoding', 'gzip']],
        { 'accept-encoding': 'gzip' },
        'accept-encoding=gzip',
      ),
    );
    await ctx.guarded.put(
      entry([...vary, ['etag', '"id"']], { 'accept-encoding': 'identity' }, 'accept-encoding=identity'),
    );
    return ctx;
  }

  test("a tag of the request's own variant: 304 with Vary, from the store", async () => {
    const ctx = await stored();
    const reply = await cached(ctx, request({ 'accept-encoding': 'gzip', 'if-none-match': '"gz"' }));
    assert.equal(reply.status, 304);
    assert.equal(field(reply.head, 'vary'), 'Accept-Encoding');
    assert.equal(field(reply.head, 'etag'), '"gz"');
    assert.equal(field(reply.head, 'cache-status'), 'etagkit; hit; ttl=55');
  });

  test("another variant's tag: that variant is not the one the request selects, so 200", async () => {
    const ctx = await stored();
    const reply = await cached(ctx, request({ 'accept-encoding': 'gzip', 'if-none-match': '"id"' }));
    assert.equal(reply.status, 200);
    assert.equal(field(reply.head, 'etag'), '"gz"');
    const other = await cached(ctx, request({ 'accept-encoding': 'identity', 'if-none-match': '"gz"' }));
    assert.equal(other.status, 200);
    assert.equal(field(other.head, 'etag'), '"id"');
  });

  test('the same request again (the entry prepared once) answers the same', async () => {
    const ctx = await stored();
    const req = () => request({ 'accept-encoding': 'identity', 'if-none-match': 'W/"id"' });
    const first = await cached(ctx, req());
    const second = await cached(ctx, req());
    assert.equal(first.status, 304);
    assert.deepEqual(second, first);
  });
});
