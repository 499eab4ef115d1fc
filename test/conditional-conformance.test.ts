/**
 * One conformance table, run over real sockets against every way of using conditional(): the Fetch wrapper
 * (served by @hono/node-server) and the node, express, fastify, koa and hono adapters. Every server implements
 * the same small users API; each row resets the data first.
 */
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify, { type FastifyRequest } from 'fastify';
import { Hono } from 'hono';
import Koa, { type Context } from 'koa';
import { conditional as expressConditional } from '../src/adapters/express.ts';
import { conditional as fastifyConditional } from '../src/adapters/fastify.ts';
import { conditional as honoConditional } from '../src/adapters/hono.ts';
import { conditional as koaConditional } from '../src/adapters/koa.ts';
import { conditional as nodeConditional } from '../src/adapters/node.ts';
import { etagFromContent, etagFromVersion, formatHttpDate } from '../src/core/index.ts';
import type { Validators } from '../src/server/index.ts';
import { checkedValidators, conditional as fetchConditional } from '../src/server/index.ts';

// ---- the API every server implements -------------------------------------------------------------------

const UPDATED = new Date('2024-01-02T03:04:05Z');
const HASHED_BODY = JSON.stringify({ hello: 'world' });

interface User {
  name: string;
  version: number;
}

class Store {
  users = new Map<string, User>();
  calls = 0;
  /** What checkedValidators() gave the last handler that ran. */
  checked: Validators | undefined;
  reset(): void {
    this.users = new Map([['1', { name: 'Ada', version: 1 }]]);
    this.calls = 0;
    this.checked = undefined;
  }
  validate(id: string): Validators {
    const u = this.users.get(id);
    return u ? { etag: etagFromVersion(u.version), lastModified: UPDATED } : { exists: false };
  }
  /** The handler of every /users/:id route: a plain status + JSON body. `arg` is what validate received. */
  handle(method: string, id: string, arg: object): { status: number; body?: unknown; cookie?: string } {
    this.calls++;
    this.checked = checkedValidators(arg);
    const u = this.users.get(id);
    switch (method) {
      case 'GET':
      case 'HEAD':
        return u
          ? { status: 200, body: { id, ...u }, cookie: 'seen=1' }
          : { status: 404, body: { error: 'no' } };
      case 'PATCH':
        if (!u) return { status: 404, body: { error: 'no' } };
        u.version++;
        u.name = 'patched';
        return { status: 200, body: { id, ...u } };
      case 'PUT':
        this.users.set(id, { name: 'put', version: (u?.version ?? 0) + 1 });
        return { status: u ? 200 : 201, body: { id, ...this.users.get(id) } };
      case 'DELETE':
        this.users.delete(id);
        return { status: 204 };
      default:
        return { status: 405 };
    }
  }
}

const ROUTE_HEADERS = { 'cache-control': 'no-cache', vary: 'Accept' };
const userOptions = <R>(store: Store, id: (r: R) => string) => ({
  validate: (r: R) => store.validate(id(r)),
  requirePreconditions: true,
  headers: ROUTE_HEADERS,
});
/** What the /boom route's `validate` does; set by the row that requests it. */
type Boom = 'throw' | 'reject' | 'invalid-date' | 'invalid-date-async' | 'text-date';
let boom: Boom = 'throw';
const boomOptions = {
  validate: (): Validators | Promise<Validators> => {
    switch (boom) {
      case 'throw':
        throw new Error('database down');
      case 'reject':
        return Promise.reject(new Error('database down'));
      case 'invalid-date':
        return { etag: '"1"', lastModified: new Date(Number.NaN) };
      case 'invalid-date-async':
        return Promise.resolve({ lastModified: new Date('not a date') });
      case 'text-date':
        return { lastModified: '2024-01-02 03:04:05' as unknown as Date };
    }
  },
};
const userId = (path: string) => path.split('/')[2] ?? '';

interface Running {
  url: string;
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<Running> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

// ---- one server per adapter ---------------------------------------------------------------------------

function fetchApp(store: Store): (request: Request) => Promise<Response> {
  const toResponse = (r: ReturnType<Store['handle']>) => {
    const headers: Record<string, string> = r.cookie ? { 'set-cookie': r.cookie } : {};
    return r.body === undefined
      ? new Response(null, { status: r.status, headers })
      : Response.json(r.body, { status: r.status, headers });
  };
  const users = fetchConditional(
    (req) => toResponse(store.handle(req.method, userId(new URL(req.url).pathname), req)),
    userOptions<Request>(store, (req) => userId(new URL(req.url).pathname)),
  );
  const hashed = fetchConditional(() => {
    store.calls++;
    return new Response(HASHED_BODY, {
      headers: { 'content-type': 'application/json', 'cache-control': 'max-age=60', 'set-cookie': 'h=1' },
    });
  });
  const boom = fetchConditional(() => {
    store.calls++;
    return new Response('ran');
  }, boomOptions);
  return async (req) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith('/users/')) return users(req);
    if (path === '/hashed') return hashed(req);
    return boom(req);
  };
}

async function startFetch(store: Store): Promise<Running> {
  return listen(serve({ fetch: fetchApp(store), port: 0, hostname: '127.0.0.1' }) as http.Server);
}

function nodeSend(res: ServerResponse, r: ReturnType<Store['handle']>): void {
  if (r.cookie) res.setHeader('set-cookie', r.cookie);
  res.statusCode = r.status;
  if (r.body === undefined) return void res.end();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(r.body));
}

async function startNode(store: Store): Promise<Running> {
  const users = nodeConditional(
    (req, res) => nodeSend(res, store.handle(req.method!, userId(req.url!), req)),
    userOptions<IncomingMessage>(store, (req) => userId(req.url!)),
  );
  const hashed = nodeConditional((_req, res) => {
    store.calls++;
    res.setHeader('content-type', 'application/json');
    res.setHeader('cache-control', 'max-age=60');
    res.setHeader('set-cookie', 'h=1');
    res.end(HASHED_BODY);
  });
  const boom = nodeConditional((_req, res) => {
    store.calls++;
    res.end('ran');
  }, boomOptions);
  return listen(
    http.createServer((req, res) => {
      if (req.url!.startsWith('/users/')) users(req, res);
      else if (req.url === '/hashed') hashed(req, res);
      else boom(req, res);
    }),
  );
}

async function startExpress(store: Store): Promise<Running> {
  const app = express();
  const send = (res: express.Response, r: ReturnType<Store['handle']>) => {
    if (r.cookie) res.setHeader('set-cookie', r.cookie);
    res.status(r.status);
    if (r.body === undefined) res.end();
    else res.json(r.body);
  };
  app.all(
    '/users/:id',
    expressConditional(userOptions<express.Request>(store, (req) => String(req.params.id))),
    (req, res) => send(res, store.handle(req.method, String(req.params.id), req)),
  );
  app.get('/hashed', expressConditional(), (_req, res) => {
    store.calls++;
    res.set({ 'cache-control': 'max-age=60', 'set-cookie': 'h=1' });
    res.type('application/json').send(HASHED_BODY);
  });
  app.get('/boom', expressConditional(boomOptions), (_req, res) => {
    store.calls++;
    res.send('ran');
  });
  app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).end();
  });
  return listen(http.createServer(app));
}

async function startFastify(store: Store): Promise<Running> {
  const app = Fastify();
  await app.register(fastifyConditional, {});
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;
  app.route({
    method: ['GET', 'PATCH', 'PUT', 'DELETE'],
    url: '/users/:id',
    config: { conditional: userOptions<FastifyRequest>(store, id) },
    handler: (req, reply) => {
      const r = store.handle(req.method, id(req), req);
      if (r.cookie) reply.header('set-cookie', r.cookie);
      reply.code(r.status);
      return r.body === undefined ? reply.send() : reply.send(r.body);
    },
  });
  app.get('/hashed', (_req, reply) => {
    store.calls++;
    reply.headers({ 'content-type': 'application/json', 'cache-control': 'max-age=60', 'set-cookie': 'h=1' });
    return reply.send(HASHED_BODY);
  });
  app.get('/boom', { config: { conditional: boomOptions } }, () => {
    store.calls++;
    return 'ran';
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

async function startKoa(store: Store): Promise<Running> {
  const app = new Koa();
  const users = koaConditional(userOptions<Context>(store, (ctx) => userId(ctx.path)));
  const hashed = koaConditional();
  const boom = koaConditional(boomOptions);
  app.use(async (ctx, next) => {
    if (ctx.path.startsWith('/users/')) return users(ctx, next);
    if (ctx.path === '/hashed') return hashed(ctx, next);
    return boom(ctx, next);
  });
  app.use((ctx) => {
    if (ctx.path.startsWith('/users/')) {
      const r = store.handle(ctx.method, userId(ctx.path), ctx);
      if (r.cookie) ctx.set('set-cookie', r.cookie);
      ctx.status = r.status;
      if (r.body !== undefined) ctx.body = r.body;
    } else if (ctx.path === '/hashed') {
      store.calls++;
      ctx.set({ 'cache-control': 'max-age=60', 'set-cookie': 'h=1' });
      ctx.type = 'application/json';
      ctx.body = HASHED_BODY;
    } else {
      store.calls++;
      ctx.body = 'ran';
    }
  });
  app.silent = true;
  return listen(http.createServer(app.callback()));
}

async function startHono(store: Store): Promise<Running> {
  const app = new Hono();
  app.onError((_err, c) => c.text('validate failed', 500)); // the default handler logs to stderr
  app.on(
    ['GET', 'PATCH', 'PUT', 'DELETE'],
    '/users/:id',
    honoConditional(userOptions(store, (c) => c.req.param('id') ?? '')),
    (c) => {
      const r = store.handle(c.req.method, c.req.param('id'), c);
      if (r.cookie) c.header('set-cookie', r.cookie);
      return r.body === undefined ? c.body(null, r.status as 204) : c.json(r.body, r.status as 200);
    },
  );
  app.get('/hashed', honoConditional(), (c) => {
    store.calls++;
    c.header('cache-control', 'max-age=60');
    c.header('set-cookie', 'h=1');
    return c.body(HASHED_BODY, 200, { 'content-type': 'application/json' });
  });
  app.get('/boom', honoConditional(boomOptions), (c) => {
    store.calls++;
    return c.text('ran');
  });
  return listen(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server);
}

// ---- the table -------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const HASHED_TAG = etagFromContent(HASHED_BODY);
const LATER = formatHttpDate(UPDATED.getTime() + 60_000);
const EARLIER = formatHttpDate(UPDATED.getTime() - 60_000);

interface Row {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  status: number;
  etag?: string | null;
  precondition?: string;
  /** Whether the handler ran. */
  ran?: boolean;
  /** What /boom's `validate` does (default: throw). */
  boom?: Boom;
  /** The ETag checkedValidators() gave the handler (the version the preconditions held against). */
  checked?: string;
  check?: (r: Reply) => void;
}

function isEmpty304(r: Reply): void {
  assert.equal(r.body, '');
  assert.equal(r.headers['content-type'], undefined, 'a 304 has no Content-Type (§15.4.5)');
  assert.equal(r.headers['content-length'], undefined, 'a 304 has no Content-Length');
}

const ROWS: Row[] = [
  {
    name: 'plain GET: 200 with ETag, Last-Modified and the route headers',
    status: 200,
    etag: '"1"',
    ran: true,
    check: (r) => {
      assert.equal(r.headers['last-modified'], formatHttpDate(UPDATED));
      assert.equal(r.headers['cache-control'], 'no-cache');
      assert.match(r.body, /"Ada"/);
    },
  },
  {
    name: '§13.1.2 If-None-Match matching: 304 before the handler, §15.4.5 headers only',
    headers: { 'if-none-match': '"1"' },
    status: 304,
    etag: '"1"',
    ran: false,
    check: (r) => {
      isEmpty304(r);
      assert.equal(r.headers['cache-control'], 'no-cache');
      assert.equal(r.headers.vary, 'Accept');
      assert.ok(r.headers.date, 'Date');
      assert.equal(r.headers['set-cookie'], undefined, 'no Set-Cookie: the handler did not run');
      assert.equal(r.headers['last-modified'], undefined, 'Last-Modified only without an ETag');
    },
  },
  { name: '§13.1.2 weak comparison: W/"1" matches "1"', headers: { 'if-none-match': 'W/"1"' }, status: 304 },
  {
    name: '§13.1.2 a list whose first tag holds a comma',
    headers: { 'if-none-match': '"a,b", "1"' },
    status: 304,
  },
  {
    name: '§13.1.2 If-None-Match: * on an existing resource',
    headers: { 'if-none-match': '*' },
    status: 304,
  },
  { name: '§13.1.2 no match: 200', headers: { 'if-none-match': '"0", "2"' }, status: 200, ran: true },
  {
    name: '§8.8.3 encoding suffix: "1-gzip" matches "1" and is echoed',
    headers: { 'if-none-match': '"1-gzip"' },
    status: 304,
    etag: '"1-gzip"',
  },
  {
    name: '§13.1.3 If-Modified-Since at or after Last-Modified: 304',
    headers: { 'if-modified-since': LATER },
    status: 304,
    ran: false,
  },
  { name: '§13.1.3 If-Modified-Since before: 200', headers: { 'if-modified-since': EARLIER }, status: 200 },
  {
    name: '§13.2.2 If-Modified-Since is ignored when If-None-Match is present',
    headers: { 'if-none-match': '"0"', 'if-modified-since': LATER },
    status: 200,
  },
  { name: '§5.6.7 an invalid date is ignored', headers: { 'if-modified-since': 'yesterday' }, status: 200 },
  {
    name: '§13.1.1 If-Match not matching on GET: 412 problem+json',
    headers: { 'if-match': '"0"' },
    status: 412,
    precondition: 'if-match',
    ran: false,
  },
  {
    name: '§13.1.1 If-Match matching on GET: 200, checkedValidators() gives the version',
    headers: { 'if-match': '"1"' },
    status: 200,
    checked: '"1"',
  },
  {
    name: '§13.1.1 If-Match uses strong comparison: W/"1" fails',
    headers: { 'if-match': 'W/"1"' },
    status: 412,
    precondition: 'if-match',
  },
  {
    name: '§13.1.4 If-Unmodified-Since before Last-Modified: 412',
    headers: { 'if-unmodified-since': EARLIER },
    status: 412,
    precondition: 'if-unmodified-since',
  },
  {
    name: '§13.2.1 a 404 ignores preconditions (If-None-Match: *)',
    path: '/users/9',
    headers: { 'if-none-match': '*' },
    status: 404,
    ran: true,
  },
  { name: '§13.2.1 a 404 ignores If-Match', path: '/users/9', headers: { 'if-match': '"1"' }, status: 404 },
  {
    name: '§9.3.2 HEAD takes the GET path: 304',
    method: 'HEAD',
    headers: { 'if-none-match': '"1"' },
    status: 304,
    etag: '"1"',
  },
  { name: '§9.3.2 HEAD: 200 with the ETag and no body', method: 'HEAD', status: 200, etag: '"1"' },
  {
    name: 'RFC 6585 §3 PATCH without a precondition: 428',
    method: 'PATCH',
    status: 428,
    precondition: 'required',
    ran: false,
  },
  {
    name: '§13.1.1 PATCH with a stale If-Match: 412, handler not run',
    method: 'PATCH',
    headers: { 'if-match': '"0"' },
    status: 412,
    precondition: 'if-match',
    ran: false,
  },
  {
    name: '§13.1.1 PATCH with the current If-Match: 200 and the new ETag; the handler knows the version checked',
    method: 'PATCH',
    headers: { 'if-match': '"1"' },
    status: 200,
    etag: '"2"',
    ran: true,
    checked: '"1"',
  },
  {
    name: 'RFC 6585 §3 + §13.1.4 PATCH guarded only by If-Unmodified-Since: 428 naming If-Match',
    method: 'PATCH',
    headers: { 'if-unmodified-since': LATER },
    status: 428,
    precondition: 'if-match',
    ran: false,
    check: (r) => assert.match(JSON.parse(r.body).detail, /one-second.*If-Match/),
  },
  {
    name: '§13.2.2 PATCH with If-Match and If-Unmodified-Since: If-Match decides, proceeds',
    method: 'PATCH',
    headers: { 'if-match': '"1"', 'if-unmodified-since': EARLIER },
    status: 200,
    etag: '"2"',
  },
  {
    name: '§13.1.2 PUT If-None-Match: * creates',
    method: 'PUT',
    path: '/users/2',
    headers: { 'if-none-match': '*' },
    status: 201,
    etag: '"1"',
  },
  {
    name: '§13.1.2 PUT If-None-Match: * on an existing resource: 412',
    method: 'PUT',
    headers: { 'if-none-match': '*' },
    status: 412,
    precondition: 'if-none-match',
    ran: false,
  },
  {
    name: '§13.1.1 PATCH If-Match on a missing resource: 412',
    method: 'PATCH',
    path: '/users/9',
    headers: { 'if-match': '"1"' },
    status: 412,
    precondition: 'if-match',
  },
  {
    name: '§13.1.1 DELETE with the current If-Match: 204',
    method: 'DELETE',
    headers: { 'if-match': '"1"' },
    status: 204,
    etag: null,
    ran: true,
  },
  {
    name: 'hashed body: 200 with the strong content tag',
    path: '/hashed',
    status: 200,
    etag: HASHED_TAG,
    check: (r) => assert.equal(r.body, HASHED_BODY),
  },
  {
    name: 'hashed body, If-None-Match matching: 304 keeping Cache-Control and Set-Cookie (the handler ran)',
    path: '/hashed',
    headers: { 'if-none-match': HASHED_TAG },
    status: 304,
    etag: HASHED_TAG,
    ran: true,
    check: (r) => {
      isEmpty304(r);
      assert.equal(r.headers['cache-control'], 'max-age=60');
      assert.deepEqual(r.headers['set-cookie'], ['h=1']);
    },
  },
  {
    name: 'hashed body, HEAD: the same tag as GET',
    method: 'HEAD',
    path: '/hashed',
    status: 200,
    etag: HASHED_TAG,
  },
  {
    name: 'hashed body, If-Match not matching: 412',
    path: '/hashed',
    headers: { 'if-match': '"nope"' },
    status: 412,
    precondition: 'if-match',
  },
  {
    name: 'validate throws: 500, no precondition applied, handler not run',
    path: '/boom',
    headers: { 'if-none-match': '*' },
    status: 500,
    ran: false,
  },
  { name: 'validate rejects: 500, handler not run', path: '/boom', boom: 'reject', status: 500, ran: false },
  // Issue 8: an invalid Date from validate crashed the node adapter while writing the 200's head.
  {
    name: 'validate returns an invalid Date: 500, the process survives',
    path: '/boom',
    boom: 'invalid-date',
    status: 500,
    ran: false,
  },
  {
    name: 'validate resolves to an invalid Date, with If-Modified-Since: 500, not a 304',
    path: '/boom',
    boom: 'invalid-date-async',
    headers: { 'if-modified-since': LATER },
    status: 500,
    ran: false,
  },
  {
    name: 'validate returns a text date (a driver column): 500',
    path: '/boom',
    boom: 'text-date',
    status: 500,
    ran: false,
  },
];

const ADAPTERS: [string, (store: Store) => Promise<Running>][] = [
  ['fetch', startFetch],
  ['node', startNode],
  ['express', startExpress],
  ['fastify', startFastify],
  ['koa', startKoa],
  ['hono', startHono],
];

for (const [adapter, start] of ADAPTERS) {
  describe(`conformance: ${adapter}`, () => {
    const store = new Store();
    let server: Running;
    before(async () => {
      server = await start(store);
    });
    after(() => server.close());
    for (const row of ROWS) {
      test(row.name, async () => {
        store.reset();
        boom = row.boom ?? 'throw';
        const r = await send(server.url, row.method ?? 'GET', row.path ?? '/users/1', row.headers);
        assert.equal(r.status, row.status, `status; body: ${r.body}`);
        if (row.etag !== undefined) assert.equal(r.headers.etag ?? null, row.etag);
        if (row.ran !== undefined) assert.equal(store.calls > 0, row.ran, 'whether the handler ran');
        if (row.checked !== undefined) assert.equal(store.checked?.etag, row.checked, 'checkedValidators()');
        if (row.precondition !== undefined) {
          assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
          assert.equal(JSON.parse(r.body).precondition, row.precondition);
        }
        if ((row.method ?? 'GET') === 'HEAD') assert.equal(r.body, '');
        row.check?.(r);
      });
    }
  });
}
