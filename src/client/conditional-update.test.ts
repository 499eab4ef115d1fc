import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  backoffDelay,
  ConditionalUpdateError,
  conditionalUpdate,
  writePrecondition,
} from './conditional-update.ts';

interface Seen {
  method: string;
  headers: Headers;
  body: string | undefined;
  cache: RequestCache | undefined;
}

/** A fake fetch answering from a script of responses, recording each request. */
function scripted(...responses: (() => Response)[]) {
  const seen: Seen[] = [];
  const fetch = async (_url: string | URL | Request, init: RequestInit = {}) => {
    seen.push({
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? init.body : undefined,
      cache: init.cache,
    });
    const next = responses.shift();
    assert.ok(next, 'more requests than scripted responses');
    return next();
  };
  return { fetch, seen };
}

const json =
  (value: unknown, headers: Record<string, string> = {}, status = 200) =>
  () =>
    new Response(JSON.stringify(value), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });
const status = (code: number) => () => new Response(code === 204 ? null : `status ${code}`, { status: code });
const noSleep = async () => {};
const URL_ = 'http://api.test/counter';

describe('writePrecondition (RFC 9110 §13.1.1, §13.1.4)', () => {
  const cases: [string, Record<string, string>, string | undefined, string | RegExp][] = [
    ['strong ETag → If-Match', { etag: '"v1"' }, 'if-match', '"v1"'],
    [
      'strong ETag wins over Last-Modified',
      { etag: '"v1"', 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      'if-match',
      '"v1"',
    ],
    [
      'weak ETag + Last-Modified → If-Unmodified-Since',
      { etag: 'W/"v1"', 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      'if-unmodified-since',
      'Sun, 06 Nov 1994 08:49:37 GMT',
    ],
    [
      'Last-Modified alone → If-Unmodified-Since',
      { 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      'if-unmodified-since',
      'Sun, 06 Nov 1994 08:49:37 GMT',
    ],
    ['weak ETag alone → none', { etag: 'W/"v1"' }, undefined, /only a weak ETag W\/"v1"/],
    [
      'invalid ETag, invalid date → none',
      { etag: 'v1', 'last-modified': 'yesterday' },
      undefined,
      /an invalid ETag v1/,
    ],
    ['nothing → none', {}, undefined, /no ETag/],
  ];
  for (const [name, headers, header, expected] of cases) {
    test(name, () => {
      const p = writePrecondition(new Headers(headers));
      assert.equal(p.header, header);
      if (p.header === undefined) assert.match(p.problem, expected as RegExp);
      else assert.equal(p.value, expected);
    });
  }
});

describe('backoffDelay (full jitter)', () => {
  test('grows exponentially up to maxDelayMs', () => {
    const top = () => 0.999999;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 50, 1000, top)),
      [49, 99, 199, 399, 799, 999, 999],
    );
    assert.equal(
      backoffDelay(3, 50, 1000, () => 0),
      0,
    );
  });

  test('property: always within [0, min(max, base·2^(n-1)))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, max, r) => {
          const d = backoffDelay(attempt, base, max, () => r);
          assert.ok(
            Number.isInteger(d) && d >= 0 && d < Math.max(1, Math.min(max, base * 2 ** (attempt - 1))),
          );
        },
      ),
    );
  });
});

describe('conditionalUpdate', () => {
  test('GET (cache: no-cache) → mutate → PUT with If-Match and a JSON body', async () => {
    const { fetch, seen } = scripted(json({ n: 1 }, { etag: '"v1"' }), status(204));
    const result = await conditionalUpdate(URL_, (c: { n: number }) => ({ n: c.n + 1 }), { fetch });
    assert.deepEqual(result.value, { n: 2 });
    assert.equal(result.attempts, 1);
    assert.equal(result.response.status, 204);
    assert.equal(seen[0]?.method, 'GET');
    assert.equal(seen[0]?.cache, 'no-cache');
    assert.equal(seen[1]?.method, 'PUT');
    assert.equal(seen[1]?.headers.get('if-match'), '"v1"');
    assert.equal(seen[1]?.headers.get('content-type'), 'application/json');
    assert.equal(seen[1]?.body, '{"n":2}');
  });

  test('a header value Headers refuses is named, never shown (it may be a credential)', async () => {
    const { fetch } = scripted(json({ n: 1 }, { etag: '"v1"' }), status(204));
    await assert.rejects(
      conditionalUpdate(URL_, (c) => c, {
        fetch,
        headers: { authorization: 'Bearer s3cret\r\nInjected: 1' },
      }),
      (error: Error) =>
        error instanceof TypeError && /authorization/.test(error.message) && !/s3cret/.test(error.message),
    );
  });

  test('PATCH, custom parse/serialize and extra headers on both requests', async () => {
    const { fetch, seen } = scripted(() => new Response('41', { headers: { etag: '"a"' } }), status(200));
    const result = await conditionalUpdate(URL_, (n: number) => n + 1, {
      fetch,
      method: 'PATCH',
      headers: { authorization: 'Bearer t', 'content-type': 'text/plain' },
      parse: async (r) => Number(await r.text()),
      serialize: (n) => String(n),
    });
    assert.equal(result.value, 42);
    assert.equal(seen[1]?.method, 'PATCH');
    assert.equal(seen[1]?.body, '42');
    assert.equal(seen[1]?.headers.get('content-type'), 'text/plain');
    for (const s of seen) assert.equal(s.headers.get('authorization'), 'Bearer t');
  });

  test('falls back to If-Unmodified-Since when the ETag is weak', async () => {
    const lm = 'Sun, 06 Nov 1994 08:49:37 GMT';
    const { fetch, seen } = scripted(json({}, { etag: 'W/"w"', 'last-modified': lm }), status(204));
    await conditionalUpdate(URL_, (c) => c, { fetch });
    assert.equal(seen[1]?.headers.get('if-unmodified-since'), lm);
    assert.equal(seen[1]?.headers.has('if-match'), false);
  });

  test('no usable validator: a clear error, and nothing is written', async () => {
    const { fetch, seen } = scripted(json({}, { etag: 'W/"w"' }));
    await assert.rejects(
      conditionalUpdate(URL_, (c) => c, { fetch }),
      (e: ConditionalUpdateError) => e.reason === 'no-validator' && /weak ETag/.test(e.message),
    );
    assert.equal(seen.length, 1);
  });

  test('on 412: re-reads, re-applies to the new value, backs off with jitter between attempts', async () => {
    const { fetch, seen } = scripted(
      json({ n: 1 }, { etag: '"v1"' }),
      status(412),
      json({ n: 5 }, { etag: '"v5"' }),
      status(412),
      json({ n: 9 }, { etag: '"v9"' }),
      status(204),
    );
    const slept: number[] = [];
    const attempts: number[] = [];
    const result = await conditionalUpdate(
      URL_,
      (c: { n: number }, ctx) => {
        attempts.push(ctx.attempt);
        return { n: c.n + 1 };
      },
      {
        fetch,
        sleep: async (ms) => void slept.push(ms),
        random: () => 0.5,
        baseDelayMs: 100,
        maxDelayMs: 150,
      },
    );
    assert.deepEqual(result.value, { n: 10 });
    assert.equal(result.attempts, 3);
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(slept, [50, 75]); // 0.5 × min(150, 100·2^(n-1))
    assert.deepEqual(
      seen.filter((s) => s.method === 'PUT').map((s) => s.headers.get('if-match')),
      ['"v1"', '"v5"', '"v9"'],
    );
  });

  test('gives up after maxAttempts with an error naming the attempts', async () => {
    const { fetch } = scripted(
      json({}, { etag: '"a"' }),
      status(412),
      json({}, { etag: '"b"' }),
      status(412),
    );
    await assert.rejects(
      conditionalUpdate(URL_, (c) => c, { fetch, maxAttempts: 2, sleep: noSleep }),
      (e) => {
        assert.ok(e instanceof ConditionalUpdateError);
        assert.equal(e.reason, 'conflict');
        assert.equal(e.attempts, 2);
        assert.equal(e.response?.status, 412);
        assert.match(e.message, /still conflicting \(412\) after 2 attempts/);
        return true;
      },
    );
  });

  test('conflictStatuses: 409 retries only when configured; otherwise it is a write failure', async () => {
    const retried = scripted(json({}, { etag: '"a"' }), status(409), json({}, { etag: '"b"' }), status(200));
    const ok = await conditionalUpdate(URL_, (c) => c, {
      fetch: retried.fetch,
      conflictStatuses: [409, 412],
      sleep: noSleep,
    });
    assert.equal(ok.attempts, 2);
    const plain = scripted(json({}, { etag: '"a"' }), status(409));
    await assert.rejects(
      conditionalUpdate(URL_, (c) => c, { fetch: plain.fetch, sleep: noSleep }),
      (e: ConditionalUpdateError) => e.reason === 'write-failed' && e.response?.status === 409,
    );
  });

  test('a failed GET is a read failure with its status', async () => {
    const { fetch } = scripted(status(404));
    await assert.rejects(
      conditionalUpdate(URL_, (c) => c, { fetch }),
      (e: ConditionalUpdateError) => e.reason === 'read-failed' && /GET answered 404/.test(e.message),
    );
  });

  test('mutate may be async and may throw: the error propagates, nothing is written', async () => {
    const { fetch, seen } = scripted(json({}, { etag: '"a"' }));
    await assert.rejects(
      conditionalUpdate(
        URL_,
        async () => {
          throw new Error('refused by mutate');
        },
        { fetch },
      ),
      /refused by mutate/,
    );
    assert.equal(seen.length, 1);
  });

  test('abort during the backoff rejects with the signal reason', async () => {
    const controller = new AbortController();
    const { fetch } = scripted(json({}, { etag: '"a"' }), () => {
      setImmediate(() => controller.abort(new Error('stop now')));
      return new Response(null, { status: 412 });
    });
    await assert.rejects(
      conditionalUpdate(URL_, (c) => c, {
        fetch,
        signal: controller.signal,
        baseDelayMs: 60_000,
        random: () => 0.99,
      }),
      /stop now/,
    );
  });

  test('maxAttempts must be a positive integer', async () => {
    await assert.rejects(
      conditionalUpdate(URL_, (c) => c, { maxAttempts: 0 }),
      /maxAttempts must be an integer >= 1, got 0/,
    );
  });
});
