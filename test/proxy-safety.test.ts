/**
 * What the proxy must never do, end to end: give one user's response to another (RFC 9111 §3.5, §5.2.2.7),
 * pass hop-by-hop fields on (RFC 9110 §7.6.1), let a smuggled request through (RFC 9112 §6.3), hang on a slow
 * upstream, relay a malformed one, buffer a body without bound, or fail a request because the store failed.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { CacheStore } from '../src/client/store.ts';
import { createProxy } from '../src/proxy/index.ts';
import { request } from './support/http.ts';
import { type Bench, listenLocal, startBench } from './support/proxy.ts';

let bench: Bench;
before(async () => {
  bench = await startBench((_req, res) => res.end(), { timeoutMs: 500, maxEntryBytes: 64 * 1024 });
});
after(() => bench.close());

let n = 0;
const fresh = () => `/s${++n}`;
const upstreamHits = (path: string) => bench.received.filter((r) => r.url === path).length;

/** An origin that answers each user with their own name. */
function personal(headers: Record<string, string>): void {
  bench.handle((req, res) => {
    const user = req.headers.authorization ?? req.headers.cookie ?? 'anonymous';
    res.writeHead(200, headers);
    res.end(`for ${user}`);
  });
}

describe("one user's response never reaches another", () => {
  for (const [rule, headers, credential] of [
    ['§5.2.2.7 private', { 'cache-control': 'private, max-age=60' }, { cookie: 'session=alice' }],
    [
      '§3.5 Authorization without public/s-maxage',
      { 'cache-control': 'max-age=60' },
      { authorization: 'Bearer alice' },
    ],
    [
      'Set-Cookie without public/s-maxage',
      { 'cache-control': 'max-age=60', 'set-cookie': 'session=alice' },
      {},
    ],
    ['no freshness at all (collapsed requests are not shared)', {}, { cookie: 'session=alice' }],
  ] as const) {
    it(`${rule}: the next user gets their own`, async () => {
      personal(headers);
      const path = fresh();
      const alice = await request(bench.base, path, { headers: credential });
      const bob = await request(bench.base, path, { headers: { cookie: 'session=bob' } });
      assert.doesNotMatch(bob.body.toString(), /alice/);
      assert.equal(upstreamHits(path), 2);
      assert.ok(alice.body.toString().length > 0);
    });
  }

  it('concurrent users asking for a response without freshness each get their own (no collapsing)', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    bench.handle(async (req, res) => {
      await gate;
      res.writeHead(200).end(`for ${req.headers.cookie}`);
    });
    const path = fresh();
    const users = ['alice', 'bob', 'carol'];
    const all = Promise.all(users.map((u) => request(bench.base, path, { headers: { cookie: u } })));
    while (upstreamHits(path) < 1) await new Promise((resolve) => setImmediate(resolve));
    release();
    const bodies = (await all).map((r) => r.body.toString());
    assert.deepEqual(
      bodies,
      users.map((u) => `for ${u}`),
    );
  });

  it('§3.5: Authorization with s-maxage may be shared, as the origin said', async () => {
    personal({ 'cache-control': 's-maxage=60' });
    const path = fresh();
    await request(bench.base, path, { headers: { authorization: 'Bearer alice' } });
    const second = await request(bench.base, path, { headers: { authorization: 'Bearer bob' } });
    assert.match(String(second.headers['cache-status']), /hit/);
  });
});

describe('hop-by-hop fields (RFC 9110 §7.6.1)', () => {
  it('are removed in both directions, with those Connection names; Via is added upstream', async () => {
    bench.handle((_req, res) => {
      res.writeHead(200, {
        connection: 'x-hop',
        'x-hop': 'secret',
        'keep-alive': 'timeout=9',
        'x-end': 'kept',
      });
      res.end('ok');
    });
    const path = fresh();
    const res = await request(bench.base, path, {
      headers: {
        connection: 'x-client-hop',
        'x-client-hop': '1',
        te: 'trailers',
        'proxy-authorization': 'Basic eA==',
      },
    });
    const seen = bench.received.at(-1)!.headers;
    assert.equal(seen['x-client-hop'], undefined);
    assert.equal(seen['proxy-authorization'], undefined);
    assert.equal(seen.te, undefined);
    assert.equal(seen.via, '1.1 etagkit');
    assert.equal(res.headers['x-hop'], undefined);
    assert.equal(res.headers['x-end'], 'kept');
  });
});

describe('faults', () => {
  it('an upstream that does not answer in time → 504 within the timeout', async () => {
    bench.handle(() => {}); // never answers
    const started = performance.now();
    const res = await request(bench.base, fresh());
    assert.equal(res.status, 504);
    assert.ok(performance.now() - started < 5_000);
    assert.match(String(res.headers['cache-status']), /detail=upstream-timeout/);
    assert.equal(res.headers['content-type'], 'application/problem+json');
  });

  it('an upstream that is down → 502', async () => {
    const tcp = createTcpServer();
    const dead = await listenLocal(tcp as never);
    tcp.close();
    const proxy = createProxy({ upstream: dead });
    const res = await proxy.fetch(new Request('http://proxy/x'));
    assert.equal(res.status, 502);
    assert.match(String(res.headers.get('cache-status')), /detail=upstream-unreachable/);
    await proxy.close();
  });

  it('a malformed upstream response → 502, and the proxy keeps working', async () => {
    const raw = createTcpServer((socket) => {
      socket.once('data', () =>
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello'),
      );
    });
    const base = await listenLocal(raw as never);
    const proxy = createProxy({ upstream: base, timeoutMs: 1000 });
    const res = await proxy.fetch(new Request('http://proxy/x'));
    assert.equal(res.status, 502);
    assert.match(String(res.headers.get('cache-status')), /detail=upstream-malformed/);
    await proxy.close();
    raw.close();
  });

  it('RFC 9112 §6.3: a request with both Content-Length and Transfer-Encoding is refused and never forwarded', async () => {
    const before = bench.received.length;
    const { port } = new URL(bench.base);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(
      'POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    let reply = '';
    socket.on('data', (c) => (reply += c));
    await once(socket, 'close');
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.match(reply, /cache-status: etagkit; detail=bad-request/);
    assert.equal(bench.received.length, before);
  });

  it('a request head over the size bound is refused with 431, and Cache-Status', async () => {
    const { port } = new URL(bench.base);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`);
    let reply = '';
    socket.on('data', (c) => (reply += c));
    await once(socket, 'close');
    assert.match(reply, /^HTTP\/1\.1 431/);
    assert.match(reply, /cache-status: etagkit/);
  });

  it('a store that fails: the upstream answers and Cache-Status says so', async () => {
    const broken: CacheStore = {
      get: () => Promise.reject(new Error('down')),
      put: () => Promise.reject(new Error('down')),
      delete: () => Promise.reject(new Error('down')),
      lease: () => Promise.reject(new Error('down')),
      release: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const other = await startBench(
      (_req, res) => res.writeHead(200, { 'cache-control': 'max-age=60' }).end('ok'),
      {
        store: broken,
      },
    );
    const first = await request(other.base, '/x');
    const second = await request(other.base, '/x');
    assert.equal(first.status, 200);
    assert.match(String(first.headers['cache-status']), /fwd=miss; fwd-status=200; detail=store-error/);
    assert.match(String(second.headers['cache-status']), /detail=store-down/);
    assert.equal(other.proxy.stats().storeErrors, 1);
    await other.close();
  });
});

describe('streams', () => {
  it('a miss reaches the client while it is still arriving, and is stored once complete', async () => {
    let finish: () => void = () => {};
    bench.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"s"' });
      res.write('first ');
      finish = () => res.end('last');
    });
    const path = fresh();
    const { port } = new URL(bench.base);
    const firstChunk = await new Promise<string>((resolve) => {
      httpRequest({ host: '127.0.0.1', port, path }, (res) => {
        res.once('data', (c: Buffer) => {
          resolve(c.toString());
          finish();
        });
      }).end();
    });
    assert.equal(firstChunk, 'first ');
    let hit = await request(bench.base, path);
    for (let i = 0; i < 50 && !/hit/.test(String(hit.headers['cache-status'])); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      hit = await request(bench.base, path);
    }
    assert.equal(hit.body.toString(), 'first last');
    assert.match(String(hit.headers['cache-status']), /hit/);
  });

  it('a body over the entry limit passes through whole and is not stored', async () => {
    const big = Buffer.alloc(200 * 1024, 'b');
    bench.handle((_req, res) =>
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"big"' }).end(big),
    );
    const path = fresh();
    const first = await request(bench.base, path);
    const second = await request(bench.base, path);
    assert.equal(first.body.byteLength, big.byteLength);
    assert.equal(second.body.byteLength, big.byteLength);
    assert.equal(upstreamHits(path), 2);
  });

  it('a client that goes away aborts the upstream request', async () => {
    let closed: () => void = () => {};
    const upstreamClosed = new Promise<void>((resolve) => (closed = resolve));
    bench.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"e"' });
      const timer = setInterval(() => res.write(Buffer.alloc(16 * 1024, 'e')), 5);
      res.on('close', () => {
        clearInterval(timer);
        closed();
      });
    });
    const { port } = new URL(bench.base);
    const req = httpRequest({ host: '127.0.0.1', port, path: fresh() }, (res) => {
      res.once('data', () => req.destroy());
    });
    req.on('error', () => {});
    req.end();
    await upstreamClosed; // resolves only if the proxy aborted its upstream request
  });

  it('a client that goes away does not abort the upstream request others wait for', async () => {
    let finish: () => void = () => {};
    bench.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"w"' });
      res.write('part one, ');
      finish = () => res.end('part two');
    });
    const path = fresh();
    const { port } = new URL(bench.base);
    let leaving!: ReturnType<typeof httpRequest>;
    const firstChunk = new Promise<void>((resolve) => {
      leaving = httpRequest({ host: '127.0.0.1', port, path }, (res) => res.once('data', () => resolve()));
    });
    leaving.on('error', () => {});
    leaving.end();
    await firstChunk;
    const waiting = request(bench.base, path); // joins the trip in flight
    await new Promise((resolve) => setTimeout(resolve, 50));
    leaving.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the proxy sees the first client go
    finish();
    const res = await waiting;
    assert.equal(res.body.toString(), 'part one, part two');
    assert.equal(upstreamHits(path), 1);
    assert.match(String(res.headers['cache-status']), /collapsed/);
  });
});

describe('damaged store entries', () => {
  it('a stored field node cannot send is a 502, not a crash', async () => {
    const { memoryStore } = await import('../src/client/stores/memory.ts');
    const store = memoryStore();
    const other = await startBench((_req, res) => res.end(), { store });
    await store.put({
      key: `GET ${other.origin}/bad`,
      variant: '',
      status: 200,
      headers: [
        ['cache-control', 'max-age=600'],
        ['x-bad', 'a\r\nb'],
      ],
      varyHeaders: {},
      body: new Uint8Array(1),
      requestTime: Date.now(),
      responseTime: Date.now(),
    });
    const res = await request(other.base, '/bad');
    assert.ok(res.status === 502 || res.status === 200, `status ${res.status}`);
    assert.equal(res.headers['x-bad'], undefined);
    const next = await request(other.base, '/_etagkit/metrics');
    assert.equal(next.status, 200);
    await other.close();
  });
});
