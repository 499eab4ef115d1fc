/**
 * §8.8.1: a strong entity-tag names one byte sequence, so gzip and identity must not share one. Each
 * framework's usual compression middleware, in both mounting orders: the gzip response's strong tag differs
 * from the identity one, and sending it back still earns a 304.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fastifyCompress from '@fastify/compress';
import { getRequestListener } from '@hono/node-server';
import compression from 'compression';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import Koa from 'koa';
import koaCompress from 'koa-compress';
import { conditional as expressConditional } from '../src/adapters/express.ts';
import { conditional as fastifyConditional } from '../src/adapters/fastify.ts';
import { conditional as honoConditional } from '../src/adapters/hono.ts';
import { conditional as koaConditional } from '../src/adapters/koa.ts';
import { etagFromContent } from '../src/core/index.ts';

/** Big enough for every middleware's threshold (1 KB). */
const BODY = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item ${i}` })) });
const VERSION_TAG = '"v7"';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function get(url: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      })
      .on('error', reject);
  });
}

async function withServer(listener: http.RequestListener, fn: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

const GZIP = { 'accept-encoding': 'gzip' };

/** The checks every setup must pass, for a route with `validate` and a route whose body is hashed. */
async function checkEncodings(url: string, hashedPathIdentityTagOf: 'identity' | 'encoded'): Promise<void> {
  // validate route: the version tag, suffixed when gzipped.
  const plain = await get(`${url}/validated`, {});
  assert.equal(plain.headers.etag, VERSION_TAG);
  assert.equal(plain.headers['content-encoding'], undefined);
  const zipped = await get(`${url}/validated`, GZIP);
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(zipped.headers.etag, '"v7-gzip"');
  assert.equal(gunzipSync(zipped.body).toString(), BODY);
  const again = await get(`${url}/validated`, { ...GZIP, 'if-none-match': '"v7-gzip"' });
  assert.equal(again.status, 304);
  assert.equal(again.headers.etag, '"v7-gzip"', 'the 304 names the tag the client holds');
  const match = await get(`${url}/validated`, { 'if-match': '"v7-gzip"' });
  assert.equal(match.status, 200, 'If-Match with the gzip tag of the current version holds');

  // hashed route: identity and gzip tags differ; each revalidates.
  const hPlain = await get(`${url}/hashed`, {});
  assert.equal(hPlain.headers.etag, etagFromContent(BODY));
  const hZipped = await get(`${url}/hashed`, GZIP);
  assert.equal(hZipped.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(hZipped.body).toString(), BODY);
  const gzipTag = hZipped.headers.etag!;
  assert.notEqual(gzipTag, hPlain.headers.etag, 'gzip and identity must not share a strong tag');
  assert.ok(!gzipTag.startsWith('W/'), 'still strong');
  if (hashedPathIdentityTagOf === 'identity')
    assert.equal(gzipTag, `"${etagFromContent(BODY).slice(1, -1)}-gzip"`);
  const hAgain = await get(`${url}/hashed`, { ...GZIP, 'if-none-match': gzipTag });
  assert.equal(hAgain.status, 304);
  assert.equal(hAgain.headers.etag, gzipTag);
  assert.equal(hAgain.body.length, 0);
}

describe('express + compression', () => {
  function app(order: 'compression-first' | 'conditional-first') {
    const a = express();
    if (order === 'compression-first') a.use(compression());
    a.get('/validated', expressConditional({ validate: () => ({ etag: VERSION_TAG }) }));
    a.use('/hashed', expressConditional());
    if (order === 'conditional-first') a.use(compression());
    a.get(['/validated', '/hashed'], (_req, res) => res.type('application/json').send(BODY));
    return a;
  }
  test('compression() mounted first (recommended): tags name identity bytes, "-gzip" suffix', () =>
    withServer(app('compression-first'), (url) => checkEncodings(url, 'identity')));
  test('compression() mounted after: the gzip bytes are hashed, still distinct', () =>
    withServer(app('conditional-first'), (url) => checkEncodings(url, 'encoded')));
});

describe('fastify + @fastify/compress', () => {
  for (const order of ['compress-first', 'conditional-first'] as const) {
    test(`${order}`, async () => {
      const app = Fastify();
      if (order === 'compress-first') await app.register(fastifyCompress, { threshold: 1024 });
      await app.register(fastifyConditional, {});
      if (order === 'conditional-first') await app.register(fastifyCompress, { threshold: 1024 });
      app.get(
        '/validated',
        { config: { conditional: { validate: () => ({ etag: VERSION_TAG }) } } },
        (_q, reply) => reply.type('application/json').send(BODY),
      );
      app.get('/hashed', (_q, reply) => reply.type('application/json').send(BODY));
      await app.listen({ port: 0, host: '127.0.0.1' });
      try {
        await checkEncodings(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, 'identity');
      } finally {
        await app.close();
      }
    });
  }
});

describe('hono + compress', () => {
  test('conditional() registered before compress() (recommended): suffixed strong tags', async () => {
    const app = new Hono();
    app.use(
      honoConditional({ validate: (c) => (c.req.path === '/validated' ? { etag: VERSION_TAG } : undefined) }),
    );
    app.use(compress());
    app.get('/validated', (c) => c.body(BODY, 200, { 'content-type': 'application/json' }));
    app.get('/hashed', (c) => c.body(BODY, 200, { 'content-type': 'application/json' }));
    await withServer(getRequestListener(app.fetch), (url) => checkEncodings(url, 'encoded'));
  });

  test('compress() registered first: Hono weakens the tag, If-None-Match still matches', async () => {
    const app = new Hono();
    app.use(compress());
    app.use(honoConditional({ validate: () => ({ etag: VERSION_TAG }) }));
    app.get('/validated', (c) => c.body(BODY, 200, { 'content-type': 'application/json' }));
    await withServer(getRequestListener(app.fetch), async (url) => {
      const zipped = await get(`${url}/validated`, GZIP);
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.ok(zipped.headers.etag === 'W/"v7"' || zipped.headers.etag === '"v7-gzip"', zipped.headers.etag);
      const again = await get(`${url}/validated`, { ...GZIP, 'if-none-match': zipped.headers.etag! });
      assert.equal(again.status, 304);
    });
  });
});

describe('koa + koa-compress', () => {
  function app(order: 'compress-first' | 'conditional-first') {
    const a = new Koa();
    const conditional = koaConditional({
      validate: (ctx) => (ctx.path === '/validated' ? { etag: VERSION_TAG } : undefined),
    });
    const compress = koaCompress({ threshold: 1024 });
    if (order === 'compress-first') a.use(compress).use(conditional);
    else a.use(conditional).use(compress);
    a.use((ctx) => {
      ctx.type = 'application/json';
      ctx.body = BODY;
    });
    return a.callback();
  }
  test('koa-compress mounted first (recommended): tags name identity bytes, "-gzip" suffix', () =>
    withServer(app('compress-first'), (url) => checkEncodings(url, 'identity')));
  test('koa-compress mounted after: the validated tag is suffixed; a hashed body, now a gzip stream, gets none', () =>
    withServer(app('conditional-first'), async (url) => {
      const zipped = await get(`${url}/validated`, GZIP);
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.equal(zipped.headers.etag, '"v7-gzip"');
      const again = await get(`${url}/validated`, { ...GZIP, 'if-none-match': '"v7-gzip"' });
      assert.equal(again.status, 304);
      // Streams are never buffered to be hashed: no tag rather than one naming the wrong bytes.
      const hashed = await get(`${url}/hashed`, GZIP);
      assert.equal(hashed.headers['content-encoding'], 'gzip');
      assert.equal(hashed.headers.etag, undefined);
      assert.equal((await get(`${url}/hashed`, {})).headers.etag, etagFromContent(BODY));
    }));
});
