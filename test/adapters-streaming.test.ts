/**
 * Bodies are hashed only while small: a body past `hashLimit` passes through untouched (never fully buffered),
 * and Server-Sent Events are never held back. "Not held back" is proven without timers: the server sends its
 * first event and waits until the client has received it before ending the stream. If the event were held
 * back, the test would deadlock and fail on its timeout.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import express from 'express';
import { conditional as expressConditional } from '../src/adapters/express.ts';
import { conditional as nodeConditional } from '../src/adapters/node.ts';
import { etagFromContent } from '../src/core/index.ts';
import { conditional } from '../src/server/index.ts';

const LIMIT = 16 * 1024;
const CHUNK = 'x'.repeat(8 * 1024);

async function withServer(listener: http.RequestListener, fn: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

/** A signal the client gives the server once it has seen the first chunk. */
function handshake(): { seen: Promise<void>; see(): void } {
  let see!: () => void;
  const seen = new Promise<void>((resolve) => {
    see = resolve;
  });
  return { seen, see };
}

/** GETs `url`; calls `onFirstChunk` as soon as the first body bytes arrive; resolves with everything. */
function get(url: string, onFirstChunk: () => void = () => {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      http
        .get(url, { agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            if (body === '') onFirstChunk();
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        })
        .on('error', reject);
    },
  );
}

describe('etagkit/node', () => {
  test('a streamed body past hashLimit passes through with no ETag, its first bytes before its end', {
    timeout: 5000,
  }, async () => {
    const h = handshake();
    const handler = nodeConditional(
      async (_req, res) => {
        res.setHeader('content-type', 'text/plain');
        for (let i = 0; i < 3; i++) res.write(CHUNK); // 24 KB > 16 KB: released
        await h.seen;
        res.end(CHUNK);
      },
      { hashLimit: LIMIT },
    );
    await withServer(handler, async (url) => {
      const r = await get(url, h.see);
      assert.equal(r.status, 200);
      assert.equal(r.headers.etag, undefined);
      assert.equal(r.body, CHUNK.repeat(4));
    });
  });

  test('a body within hashLimit written in pieces gets the tag of all of it', async () => {
    const handler = nodeConditional((_req, res) => {
      res.write('a');
      res.write(Buffer.from('b'));
      res.end('c');
    });
    await withServer(handler, async (url) => {
      const r = await get(url);
      assert.equal(r.body, 'abc');
      assert.equal(r.headers.etag, etagFromContent('abc'));
    });
  });

  test('a long string given whole to end() goes out as the same bytes, tagged, in any encoding', async () => {
    const utf8 = 'é€'.repeat(4000); // 20,000 bytes: sent as the bytes encoded for hashing
    const latin1 = 'ÿ'.repeat(6000);
    const handler = nodeConditional((req, res) => {
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      if (req.url === '/latin1') res.end(latin1, 'latin1');
      else res.end(utf8);
    });
    await withServer(handler, async (url) => {
      const r = await get(url);
      assert.equal(r.status, 200);
      assert.equal(r.body, utf8);
      assert.equal(r.headers['content-length'], String(Buffer.byteLength(utf8)));
      assert.equal(r.headers.etag, etagFromContent(utf8));
      const bytes = await new Promise<{ etag?: string; body: Buffer }>((resolve, reject) => {
        http
          .get(`${url}latin1`, { agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ etag: res.headers.etag, body: Buffer.concat(chunks) }));
          })
          .on('error', reject);
      });
      assert.deepEqual(bytes.body, Buffer.from(latin1, 'latin1'));
      assert.equal(bytes.etag, etagFromContent(Buffer.from(latin1, 'latin1')));
      const head = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.request(url, { method: 'HEAD', agent: false }, resolve).on('error', reject).end();
      });
      head.resume();
      assert.equal(head.headers.etag, etagFromContent(utf8));
      assert.equal(head.headers['content-length'], String(Buffer.byteLength(utf8)));
    });
  });

  test('HEAD gets the ETag and Content-Length that GET gets (§9.3.2)', async () => {
    const handler = nodeConditional((_req, res) => res.end('four'));
    await withServer(handler, async (url) => {
      const head = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.request(url, { method: 'HEAD', agent: false }, resolve).on('error', reject).end();
      });
      head.resume();
      assert.equal(head.headers.etag, etagFromContent('four'));
      assert.equal(head.headers['content-length'], '4');
    });
  });

  test('Server-Sent Events are not held back', { timeout: 5000 }, async () => {
    const h = handshake();
    const handler = nodeConditional(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      await h.seen;
      res.end('data: two\n\n');
    });
    await withServer(handler, async (url) => {
      const r = await get(url, h.see);
      assert.equal(r.body, 'data: one\n\ndata: two\n\n');
      assert.equal(r.headers.etag, undefined);
    });
  });

  test('flushHeaders() releases the response', { timeout: 5000 }, async () => {
    const h = handshake();
    const handler = nodeConditional(async (_req, res) => {
      res.flushHeaders();
      res.write('tick\n');
      await h.seen;
      res.end('tock\n');
    });
    await withServer(handler, async (url) => {
      const r = await get(url, h.see);
      assert.equal(r.body, 'tick\ntock\n');
    });
  });
});

describe('etagkit/express', () => {
  test('res.write past hashLimit streams through; a small res.json is tagged', {
    timeout: 5000,
  }, async () => {
    const h = handshake();
    const app = express();
    app.use(expressConditional({ hashLimit: LIMIT }));
    app.get('/', async (_req, res) => {
      res.type('text/plain');
      for (let i = 0; i < 3; i++) res.write(CHUNK);
      await h.seen;
      res.end();
    });
    app.get('/small', (_req, res) => res.json({ ok: true }));
    await withServer(app, async (url) => {
      const big = await get(url, h.see);
      assert.equal(big.body, CHUNK.repeat(3));
      assert.equal(big.headers.etag, undefined);
      const small = await get(`${url}small`);
      assert.match(small.headers.etag!, /^"[0-9a-z]+-[0-9a-f]{16}"$/, 'etagkit tag, not Express W/ tag');
    });
  });
});

describe('conditional() for Fetch', () => {
  test('a stream past hashLimit passes through, first bytes before its end', { timeout: 5000 }, async () => {
    const h = handshake();
    const encoder = new TextEncoder();
    const handler = conditional(
      () =>
        new Response(
          new ReadableStream({
            async start(controller) {
              for (let i = 0; i < 3; i++) controller.enqueue(encoder.encode(CHUNK));
              await h.seen;
              controller.enqueue(encoder.encode(CHUNK));
              controller.close();
            },
          }),
        ),
      { hashLimit: LIMIT },
    );
    await withServer(getRequestListener(handler), async (url) => {
      const r = await get(url, h.see);
      assert.equal(r.body, CHUNK.repeat(4));
      assert.equal(r.headers.etag, undefined);
    });
  });

  test('Server-Sent Events are not held back', { timeout: 5000 }, async () => {
    const h = handshake();
    const encoder = new TextEncoder();
    const handler = conditional(
      () =>
        new Response(
          new ReadableStream({
            async start(controller) {
              controller.enqueue(encoder.encode('data: one\n\n'));
              await h.seen;
              controller.enqueue(encoder.encode('data: two\n\n'));
              controller.close();
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
    );
    await withServer(getRequestListener(handler), async (url) => {
      const r = await get(url, h.see);
      assert.equal(r.body, 'data: one\n\ndata: two\n\n');
    });
  });
});
