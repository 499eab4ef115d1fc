import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { etagFromContent } from '../core/index.ts';
import { conditional } from './conditional.ts';
import { checkedValidators } from './options.ts';
import type { DecisionTrace } from './trace.ts';

const req = (headers: Record<string, string> = {}, method = 'GET') =>
  new Request('http://example.test/r', { method, headers });

describe('conditional() for Fetch handlers', () => {
  test('validate: 304 before the handler, with the route headers a 304 may carry', async () => {
    let calls = 0;
    const handler = conditional(
      () => {
        calls++;
        return Response.json({ a: 1 });
      },
      { validate: () => ({ etag: '"v1"' }), headers: { 'cache-control': 'no-cache', 'x-other': '1' } },
    );
    const r = await handler(req({ 'if-none-match': '"v1"' }));
    assert.equal(r.status, 304);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.equal(r.headers.get('x-other'), null);
    assert.equal(calls, 0);
    const ok = await handler(req());
    assert.equal(ok.headers.get('etag'), '"v1"');
    assert.equal(ok.headers.get('x-other'), '1', 'route headers on the 200');
  });

  test('async validate and a Date lastModified', async () => {
    const handler = conditional(() => new Response('x'), {
      validate: async () => ({ lastModified: new Date('2024-01-02T03:04:05Z') }),
    });
    const ok = await handler(req());
    assert.equal(ok.headers.get('last-modified'), 'Tue, 02 Jan 2024 03:04:05 GMT');
    assert.equal((await handler(req({ 'if-modified-since': 'Tue, 02 Jan 2024 03:04:05 GMT' }))).status, 304);
  });

  test('validate returning undefined falls back to hashing', async () => {
    const handler = conditional(() => new Response('body'), { validate: () => undefined });
    assert.equal((await handler(req())).headers.get('etag'), etagFromContent('body'));
  });

  test('weak: hashed tags are weak and still match If-None-Match', async () => {
    const handler = conditional(() => new Response('body'), { weak: true });
    const tag = (await handler(req())).headers.get('etag')!;
    assert.equal(tag, `W/${etagFromContent('body')}`);
    assert.equal((await handler(req({ 'if-none-match': tag }))).status, 304);
  });

  test('hashLimit: a body declared larger is passed untouched', async () => {
    const handler = conditional(() => new Response('0123456789', { headers: { 'content-length': '10' } }), {
      hashLimit: 4,
    });
    const r = await handler(req());
    assert.equal(r.headers.get('etag'), null);
    assert.equal(await r.text(), '0123456789');
  });

  test('hashLimit must be a whole number', () => {
    assert.throws(() => conditional(() => new Response(), { hashLimit: -1 }), /hashLimit/);
  });

  test('immutable response headers (a proxied fetch() response) are copied, not thrown on', async () => {
    const server = createServer((_q, res) => res.end('upstream'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const probe = await fetch(url);
      assert.throws(() => probe.headers.set('x', '1'), 'fetch() responses have immutable headers');
      await probe.text();
      const handler = conditional(() => fetch(url), { validate: () => ({ etag: '"v9"' }) });
      const r = await handler(req());
      assert.equal(r.headers.get('etag'), '"v9"');
      assert.equal(await r.text(), 'upstream');
    } finally {
      server.close();
    }
  });

  test('HEAD without validate runs the handler as GET and sends the same tag, no body', async () => {
    const seen: string[] = [];
    const handler = conditional((r) => {
      seen.push(r.method);
      return new Response(r.method === 'GET' ? 'full body' : null);
    });
    const head = await handler(req({}, 'HEAD'));
    assert.deepEqual(seen, ['GET']);
    assert.equal(head.headers.get('etag'), etagFromContent('full body'));
    assert.equal(head.body, null);
  });

  test('writes: 2xx gets the new ETag from validate; a failing re-validate leaves the write alone', async () => {
    let version = 1;
    const handler = conditional(
      () => {
        version++;
        return new Response(null, { status: 204 });
      },
      { validate: () => ({ etag: `"${version}"` }) },
    );
    const r = await handler(req({ 'if-match': '"1"' }, 'PUT'));
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('etag'), '"2"');
    let fail = false;
    const flaky = conditional(() => new Response(null, { status: 204 }), {
      validate: () => {
        if (fail) throw new Error('gone');
        fail = true;
        return { etag: '"1"' };
      },
    });
    const w = await flaky(req({}, 'DELETE'));
    assert.equal(w.status, 204);
    assert.equal(w.headers.get('etag'), null);
  });

  test('a write whose re-validate gives a malformed tag keeps its answer, without an ETag', async () => {
    let calls = 0;
    const handler = conditional(() => new Response(null, { status: 204 }), {
      validate: async () => ({ etag: calls++ === 0 ? '"v1"' : '"v2"\r\nx-injected: 1' }),
    });
    const r = await handler(req({}, 'PUT'));
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('etag'), null);
  });

  test('a hashed 200 keeps its status text, every header and every Set-Cookie', async () => {
    const headers = new Headers({ 'content-type': 'text/plain', 'x-a': '1' });
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    const handler = conditional(() => new Response('body', { status: 200, statusText: 'Fine', headers }));
    const r = await handler(req());
    assert.equal(r.statusText, 'Fine');
    assert.equal(r.headers.get('x-a'), '1');
    assert.deepEqual(r.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(r.headers.get('etag'), etagFromContent('body'));
    assert.equal(await r.text(), 'body');
  });

  test('checkedValidators: what validate returned, for the request the handler got; else undefined', async () => {
    const seen: unknown[] = [];
    const validated = conditional(
      (request) => {
        seen.push(checkedValidators(request));
        return new Response('x');
      },
      { validate: () => ({ etag: '"v7"', lastModified: 7000 }) },
    );
    await validated(req({ 'if-match': '"v7"' }, 'PUT'));
    await validated(req()); // a plain GET is not recorded (it costs a WeakMap entry per request)
    const hashed = conditional((request) => {
      seen.push(checkedValidators(request));
      return new Response('x');
    });
    await hashed(req());
    assert.deepEqual(seen, [{ etag: '"v7"', lastModified: 7000 }, undefined, undefined]);
    assert.equal(checkedValidators(req()), undefined, 'a request conditional() never saw');
  });

  test('non-2xx handler responses are left alone (§13.2.1)', async () => {
    const handler = conditional(() => new Response('gone', { status: 410 }));
    const r = await handler(req({ 'if-none-match': '*' }));
    assert.equal(r.status, 410);
    assert.equal(r.headers.get('etag'), null);
  });

  test('onDecision reports after-handler decisions for hashed bodies and validate errors', async () => {
    const traces: DecisionTrace[] = [];
    const hashed = conditional(() => new Response('b'), { onDecision: (t) => traces.push(t) });
    await hashed(req({ 'if-none-match': etagFromContent('b') }));
    const broken = conditional(() => new Response('b'), {
      validate: () => {
        throw new Error('db');
      },
      onDecision: (t) => traces.push(t),
    });
    assert.equal((await broken(req())).status, 500);
    assert.deepEqual(
      traces.map((t) => [t.phase, t.action, t.by]),
      [
        ['before-handler', 'proceed', undefined],
        ['after-handler', 'not-modified', 'if-none-match'],
        ['before-handler', 'validate-error', undefined],
      ],
    );
    assert.equal((traces[2]!.error as Error).message, 'db');
  });
});
