/**
 * Adapter-specific behaviour beyond the conformance table: idioms (res.conditional, route config, opt-out),
 * middleware order, async validate failures, and the decision trace (onDecision, diagnostics_channel).
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { conditional as expressConditional } from '../src/adapters/express.ts';
import { conditional as fastifyConditional } from '../src/adapters/fastify.ts';
import { conditional as honoConditional } from '../src/adapters/hono.ts';
import { conditional as koaConditional } from '../src/adapters/koa.ts';
import { conditional as nodeConditional } from '../src/adapters/node.ts';
import { etagFromContent } from '../src/core/index.ts';
import { DECISION_CHANNEL, type DecisionTrace } from '../src/server/index.ts';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
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

const rejecting = async () => {
  throw new Error('database down');
};

describe('etagkit/express', () => {
  test('res.conditional({ etag }) in a handler: 304 when it matches, ETag on the 200 otherwise', async () => {
    const app = express();
    app.use(expressConditional());
    let rendered = 0;
    app.get('/users/:id', (req, res) => {
      const decision = res.conditional({ etag: `"u${req.params.id}"` });
      if (decision.action !== 'proceed') return;
      rendered++;
      res.json({ id: req.params.id });
    });
    await withServer(app, async (url) => {
      const first = await request(`${url}/users/3`);
      assert.equal(first.headers.etag, '"u3"', 'the helper tag, not a hash of the body');
      const again = await request(`${url}/users/3`, { 'if-none-match': '"u3"' });
      assert.equal(again.status, 304);
      assert.equal(rendered, 1, 'the 304 did not render');
    });
  });

  test('a handler that sets its own ETag keeps it; preconditions are evaluated against it', async () => {
    const app = express();
    app.use(expressConditional());
    app.get('/', (_req, res) => {
      res.set('etag', '"mine"').send('body');
    });
    await withServer(app, async (url) => {
      assert.equal((await request(url)).headers.etag, '"mine"');
      assert.equal((await request(url, { 'if-none-match': '"mine"' })).status, 304);
    });
  });

  test('async validate rejecting: next(err), 500 from the error handler, handler not run', async () => {
    const app = express();
    let ran = false;
    app.get('/', expressConditional({ validate: rejecting }), (_req, res) => {
      ran = true;
      res.send('x');
    });
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).send(err.message);
    });
    await withServer(app, async (url) => {
      const r = await request(url, { 'if-none-match': '*' });
      assert.equal(r.status, 500);
      assert.equal(r.body, 'database down');
      assert.equal(ran, false);
    });
  });

  test('res.conditional with an invalid lastModified: the error handler answers 500', async () => {
    const app = express();
    app.use(expressConditional());
    app.get('/', (_req, res) => {
      if (res.conditional({ lastModified: new Date('soon') }).action !== 'proceed') return;
      res.send('x');
    });
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).send(err.name);
    });
    await withServer(app, async (url) => {
      const r = await request(url);
      assert.equal(r.status, 500);
      assert.equal(r.body, 'TypeError');
    });
  });

  test('routes without etagkit keep Express defaults', async () => {
    const app = express();
    app.get('/plain', (_req, res) => res.send('hello'));
    app.get('/kit', expressConditional(), (_req, res) => res.send('hello'));
    await withServer(app, async (url) => {
      assert.match((await request(`${url}/plain`)).headers.etag!, /^W\//, 'Express weak tag');
      assert.doesNotMatch((await request(`${url}/kit`)).headers.etag!, /^W\//, 'etagkit strong tag');
    });
  });
});

describe('etagkit/fastify', () => {
  test('route config overrides the plugin options; `conditional: false` opts a route out', async () => {
    const app = Fastify();
    await app.register(fastifyConditional, { headers: { 'cache-control': 'no-cache' } });
    app.get('/on', () => 'hashed');
    app.get('/off', { config: { conditional: false } }, () => 'untouched');
    app.get('/versioned', { config: { conditional: { validate: () => ({ etag: '"v1"' }) } } }, () => 'v1');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const on = await request(`${url}/on`);
      assert.ok(on.headers.etag);
      assert.equal(on.headers['cache-control'], 'no-cache');
      const off = await request(`${url}/off`);
      assert.equal(off.headers.etag, undefined);
      assert.equal(off.headers['cache-control'], undefined);
      const v = await request(`${url}/versioned`, { 'if-none-match': '"v1"' });
      assert.equal(v.status, 304);
      assert.equal(v.headers['cache-control'], 'no-cache', 'plugin headers merged into the route options');
      assert.equal((await request(`${url}/versioned`, {}, 'HEAD')).headers.etag, '"v1"', 'HEAD route too');
    } finally {
      await app.close();
    }
  });

  test('async validate rejecting: 500, handler not run', async () => {
    const app = Fastify();
    let ran = false;
    await app.register(fastifyConditional, { validate: rejecting });
    app.get('/', () => {
      ran = true;
      return 'x';
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await request(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`);
      assert.equal(r.status, 500);
      assert.equal(ran, false);
    } finally {
      await app.close();
    }
  });
});

describe('etagkit/koa', () => {
  test('headers set by outer middleware survive; a 304 drops the representation headers', async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      ctx.set('x-request-id', 'r1');
      await next();
    });
    app.use(koaConditional({ validate: () => ({ etag: '"k1"' }) }));
    app.use((ctx) => {
      ctx.set('content-language', 'en');
      ctx.body = { hello: 'koa' };
    });
    await withServer(app.callback(), async (url) => {
      const ok = await request(url);
      assert.equal(ok.headers.etag, '"k1"');
      assert.equal(ok.headers['content-language'], 'en');
      const nm = await request(url, { 'if-none-match': '"k1"' });
      assert.equal(nm.status, 304);
      assert.equal(nm.headers['content-language'], undefined, 'answered before the handler ran');
    });
  });

  test('a JSON body is serialised once: the hashed ETag describes the bytes on the wire (§8.8.3)', async () => {
    const app = new Koa();
    let seenByOuter: unknown;
    app.use(async (ctx, next) => {
      await next();
      seenByOuter = ctx.body;
    });
    app.use(koaConditional());
    let serialised = 0;
    app.use((ctx) => {
      // own properties differ from what toJSON() gives, and each call gives other bytes (a clock, a counter)
      ctx.body = { secret: 'not sent', toJSON: () => ({ served: ++serialised }) };
    });
    await withServer(app.callback(), async (url) => {
      const ok = await request(url);
      assert.equal(ok.body, '{"served":1}');
      assert.equal(ok.headers.etag, etagFromContent(ok.body), 'the ETag is the hash of the bytes sent');
      assert.equal(ok.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(ok.headers['content-length'], String(Buffer.byteLength(ok.body)));
      assert.equal(serialised, 1, 'serialised once, not again by Koa');
      assert.ok(Buffer.isBuffer(seenByOuter), 'outer middleware sees the Buffer that is sent');
      const head = await request(url, {}, 'HEAD');
      assert.equal(head.headers['content-length'], String(Buffer.byteLength('{"served":2}')));
      assert.equal(head.headers.etag, etagFromContent('{"served":2}'));
    });
  });

  test('a JSON body keeps a Content-Type the handler chose', async () => {
    const app = new Koa();
    app.use(koaConditional());
    app.use((ctx) => {
      ctx.type = 'application/vnd.api+json';
      ctx.body = { data: [] };
    });
    await withServer(app.callback(), async (url) => {
      const ok = await request(url);
      assert.equal(ok.headers['content-type'], 'application/vnd.api+json');
      assert.equal(ok.headers.etag, etagFromContent('{"data":[]}'));
      const nm = await request(url, { 'if-none-match': ok.headers.etag! });
      assert.equal(nm.status, 304);
    });
  });

  test('async validate rejecting: 500, handler not run', async () => {
    const app = new Koa();
    app.silent = true;
    let ran = false;
    app.use(koaConditional({ validate: rejecting }));
    app.use((ctx) => {
      ran = true;
      ctx.body = 'x';
    });
    await withServer(app.callback(), async (url) => {
      assert.equal((await request(url)).status, 500);
      assert.equal(ran, false);
    });
  });
});

describe('etagkit/hono', () => {
  test('async validate rejecting: Hono onError gets the error, handler not run', async () => {
    const app = new Hono();
    let ran = false;
    app.onError((err, c) => c.text(err.message, 500));
    app.get('/', honoConditional({ validate: rejecting }), (c) => {
      ran = true;
      return c.text('x');
    });
    await withServer(getRequestListener(app.fetch), async (url) => {
      const r = await request(url);
      assert.equal(r.status, 500);
      assert.equal(r.body, 'database down');
      assert.equal(ran, false);
    });
  });
});

describe('etagkit/node', () => {
  test('async validate rejecting: 500 problem+json, handler not run', async () => {
    let ran = false;
    const handler = nodeConditional(
      (_req, res) => {
        ran = true;
        res.end();
      },
      { validate: rejecting },
    );
    await withServer(handler, async (url) => {
      const r = await request(url, { 'if-match': '"x"' });
      assert.equal(r.status, 500, 'not 412: no precondition is applied');
      assert.match(String(r.headers['content-type']), /problem\+json/);
      assert.equal(ran, false);
    });
  });
});

describe('a write whose re-validate returns a malformed ETag keeps its 2xx, without the tag', () => {
  // The tag would be refused by setHeader; thrown inside a promise callback it would end the process.
  let calls = 0; // the first call, before the write, gives a good tag; the one after it a malformed one
  const validate = async () => ({ etag: calls++ % 2 === 0 ? '"v1"' : '"v2"\r\nx-injected: 1' });
  const check = async (url: string) => {
    calls = 0;
    const r = await request(url, { 'if-match': '*' }, 'PUT');
    assert.equal(r.status, 204);
    assert.equal(r.headers.etag, undefined);
    assert.equal(r.headers['x-injected'], undefined);
  };
  test('node', () =>
    withServer(
      nodeConditional(
        (_req, res) => {
          res.statusCode = 204;
          res.end();
        },
        { validate },
      ),
      check,
    ));
  test('express', () => {
    const app = express();
    app.put('/', expressConditional({ validate }), (_req, res) => void res.status(204).end());
    return withServer(app, check);
  });
  test('koa', () => {
    const app = new Koa();
    app.use(koaConditional({ validate }));
    app.use((ctx) => {
      ctx.status = 204;
    });
    return withServer(app.callback(), check);
  });
  test('fastify', async () => {
    const app = Fastify();
    await app.register(fastifyConditional, { validate });
    app.put('/', (_req, reply) => reply.code(204).send());
    await app.ready();
    await withServer((req, res) => app.routing(req, res), check);
  });
  test('hono', () => {
    const app = new Hono();
    app.put('/', honoConditional({ validate }), (c) => c.body(null, 204));
    return withServer(getRequestListener(app.fetch), check);
  });
});

describe('decision trace', () => {
  test('onDecision and the etagkit:server:decision channel name the deciding header', async () => {
    const seen: DecisionTrace[] = [];
    const published: DecisionTrace[] = [];
    const onMessage = (m: unknown) => published.push(m as DecisionTrace);
    diagnostics.subscribe(DECISION_CHANNEL, onMessage);
    try {
      const handler = nodeConditional((_req, res) => res.end('x'), {
        validate: () => ({ etag: '"t1"' }),
        requirePreconditions: true,
        onDecision: (t) => seen.push(t),
      });
      await withServer(handler, async (url) => {
        await request(url, { 'if-none-match': 'W/"t1"' });
        await request(`${url}/write`, {}, 'PUT');
        await request(url, { 'if-match': '"t0"' });
      });
    } finally {
      diagnostics.unsubscribe(DECISION_CHANNEL, onMessage);
    }
    assert.deepEqual(
      seen.map((t) => [t.method, t.action, t.by, t.value]),
      [
        ['GET', 'not-modified', 'if-none-match', 'W/"t1"'],
        ['PUT', 'precondition-required', 'require-preconditions', undefined],
        ['GET', 'precondition-failed', 'if-match', '"t0"'],
      ],
    );
    assert.equal(seen[0]!.etag, '"t1"');
    assert.equal(seen[0]!.phase, 'before-handler');
    assert.equal(published.length, 3, 'the channel saw the same decisions');
  });
});
