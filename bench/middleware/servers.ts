/**
 * The servers of `bench middleware`, one per process: `node bench/middleware/servers.ts <name>` listens on a free
 * port and prints `listening on http://127.0.0.1:PORT`.
 *
 * The endpoint is a typical API's: a list of 500 users held in memory, serialised to ~78 KB of JSON on every
 * request by the framework's own JSON response (`res.json`, `reply.send`, `c.json`, `ctx.body =`), or by
 * `JSON.stringify` in plain node:http. Per framework there are four ways to get validators:
 *
 * - `<fw>`: the framework's standard ETag plugin: renders, hashes the body, then answers 304 or 200;
 * - `<fw>-hand`: a hand-written version check before rendering (`res.set('ETag')` + `req.fresh` in Express,
 *   `ctx.fresh` in Koa, jshttp's `fresh` in Fastify, Hono and node:http), as a careful developer would write;
 * - `etagkit-<fw>`: etagkit's adapter with `validate: () => ({ etag: etagFromVersion(version) })`;
 * - `etagkit-<fw>-hashed`: etagkit's adapter without `validate`, hashing the body;
 * - `etagkit-fetch` and `etagkit-fetch-hashed`: the same two with etagkit/server's Fetch-API `conditional()`
 *   around `() => Response.json(users)`, on @hono/node-server (its peer is Hono + hono/etag).
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import fresh from 'fresh';
import { etagFromVersion } from '../../src/core/index.ts';
import { listenOnFreePort } from '../support/listen.ts';

const VERSION = 42;
/** What the hand-written checks send: the same tag etagkit's `validate` gives. */
const ETAG = etagFromVersion(VERSION);
const validate = () => ({ etag: etagFromVersion(VERSION) });

/** 500 users, as an API holds them after a database query; serialised anew for every response. */
export const USERS = Array.from({ length: 500 }, (_, i) => ({
  id: i,
  name: `User ${i}`,
  email: `user${i}@example.com`,
  role: i % 3 ? 'member' : 'admin',
  active: i % 2 === 0,
  createdAt: new Date(1700000000000 + i * 1000).toISOString(),
  tags: ['alpha', 'beta'],
  v: i % 7,
}));

type Listen = () => Promise<void>;
/** How a framework's server gets its validators (see the list at the top). */
type Kind = 'plugin' | 'hand' | 'etagkit' | 'etagkit-hashed';

function nodeJson(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(USERS));
}

function tiny(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.setHeader('content-type', 'application/json');
  res.end('{"ok":true}');
}

function listenNode(handler: http.RequestListener): Listen {
  return () => listenOnFreePort(http.createServer(handler));
}

async function express(kind: Kind): Promise<Listen> {
  const { default: express } = await import('express');
  const { conditional } = await import('../../src/adapters/express.ts');
  const app = express(); // default settings: weak ETag of the body (SHA-1) + `fresh`
  if (kind === 'hand') {
    app.get('/', (req, res) => {
      res.set('ETag', ETAG);
      if (req.fresh) return void res.status(304).end();
      res.json(USERS);
    });
  } else {
    const middleware = kind === 'plugin' ? [] : [conditional(kind === 'etagkit' ? { validate } : {})];
    app.get('/', ...middleware, (_req, res) => void res.json(USERS));
  }
  return listenNode(app);
}

async function fastify(kind: Kind): Promise<Listen> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  if (kind === 'plugin') await app.register((await import('@fastify/etag')).default);
  if (kind === 'etagkit' || kind === 'etagkit-hashed') {
    const { conditional } = await import('../../src/adapters/fastify.ts');
    await app.register(conditional, kind === 'etagkit' ? { validate } : {});
  }
  app.get('/', (req, reply) => {
    if (kind === 'hand') {
      reply.header('etag', ETAG);
      if (fresh(req.headers, { etag: ETAG })) return reply.code(304).send();
    }
    return reply.send(USERS);
  });
  return async () => console.log(`listening on ${await app.listen({ port: 0, host: '127.0.0.1' })}`);
}

async function hono(kind: Kind): Promise<Listen> {
  const { Hono } = await import('hono');
  const { getRequestListener } = await import('@hono/node-server');
  const app = new Hono();
  if (kind === 'plugin') app.use('/', (await import('hono/etag')).etag());
  if (kind === 'etagkit' || kind === 'etagkit-hashed') {
    const { conditional } = await import('../../src/adapters/hono.ts');
    app.use('/', conditional(kind === 'etagkit' ? { validate } : {}));
  }
  app.get('/', (c) => {
    if (kind === 'hand') {
      c.header('etag', ETAG);
      if (fresh({ 'if-none-match': c.req.header('if-none-match') }, { etag: ETAG })) return c.body(null, 304);
    }
    return c.json(USERS);
  });
  return listenNode(getRequestListener(app.fetch));
}

async function koa(kind: Kind): Promise<Listen> {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  if (kind === 'plugin') {
    // koa-conditional-get ships no types
    const conditionalGet = createRequire(import.meta.url)(
      'koa-conditional-get',
    ) as () => import('koa').Middleware;
    app.use(conditionalGet());
    app.use((await import('koa-etag')).default());
  }
  if (kind === 'etagkit' || kind === 'etagkit-hashed') {
    const { conditional } = await import('../../src/adapters/koa.ts');
    app.use(conditional(kind === 'etagkit' ? { validate } : {}));
  }
  app.use((ctx) => {
    if (kind === 'hand') {
      ctx.status = 200; // ctx.fresh is false while the status is Koa's default 404
      ctx.set('ETag', ETAG);
      if (ctx.fresh) {
        ctx.status = 304;
        return;
      }
    }
    ctx.body = USERS;
  });
  return listenNode(app.callback());
}

async function node(name: string): Promise<Listen> {
  const { conditional } = await import('../../src/adapters/node.ts');
  switch (name) {
    case 'node-none':
      return listenNode(nodeJson);
    case 'node-hand':
      return listenNode((req, res) => {
        if (fresh(req.headers, { etag: ETAG })) return void res.writeHead(304, { etag: ETAG }).end();
        res.setHeader('etag', ETAG);
        nodeJson(req, res);
      });
    case 'etagkit-node':
      return listenNode(conditional(nodeJson, { validate }));
    case 'etagkit-node-hashed':
      return listenNode(conditional(nodeJson));
    case 'tiny':
      return listenNode(tiny);
    case 'etagkit-node-tiny':
      return listenNode(conditional(tiny, { validate }));
    case 'etagkit-node-tiny-hashed':
      return listenNode(conditional(tiny));
  }
  throw new Error(`unknown server "${name}"`);
}

/** The Fetch-API `conditional()` of etagkit/server, served by @hono/node-server as Hono's own apps are. */
async function fetchApi(kind: Extract<Kind, 'etagkit' | 'etagkit-hashed'>): Promise<Listen> {
  const { conditional } = await import('../../src/server/index.ts');
  const { getRequestListener } = await import('@hono/node-server');
  const handler = () => Response.json(USERS);
  return listenNode(getRequestListener(conditional(handler, kind === 'etagkit' ? { validate } : {})));
}

const FRAMEWORKS = { express, fastify, hono, koa };
const KINDS: Record<string, Kind> = {
  '': 'plugin',
  '-hand': 'hand',
  'etagkit-': 'etagkit',
  'etagkit--hashed': 'etagkit-hashed',
};

/** Builds the server called `name` (see the file's comment for the names). */
export function make(name: string): Promise<Listen> {
  if (name === 'etagkit-fetch') return fetchApi('etagkit');
  if (name === 'etagkit-fetch-hashed') return fetchApi('etagkit-hashed');
  const match = /^(etagkit-)?(express|fastify|hono|koa)(-hand|-hashed)?$/.exec(name);
  if (!match) return node(name);
  const [, ours = '', framework, suffix = ''] = match;
  const kind = KINDS[ours + suffix];
  if (!kind) throw new Error(`unknown server "${name}"`);
  return FRAMEWORKS[framework as keyof typeof FRAMEWORKS](kind);
}

if (import.meta.main) {
  await (await make(process.argv[2]!))();
}
