/**
 * `npm run bench -- middleware`: conditional responses in every framework, etagkit against each framework's
 * standard ETag plugin, on an endpoint that renders a ~78 KB JSON document (500 users) per request.
 *
 * - 304 path: the client sends the current ETag in If-None-Match. Peers render, hash, then answer 304;
 *   etagkit's `validate: () => ({ etag: etagFromVersion(version) })` answers before rendering. Ceiling: a bare
 *   node:http handler that answers a constant 304.
 * - 200 path: no precondition; etagkit hashes the body (no `validate`).
 * - Overhead: a tiny 200 from a bare node:http handler, with and without etagkit/node's `conditional()`.
 *
 * Each server runs in its own child process (this file with `--serve <name> <port>`); autocannon runs here.
 */
import { type ChildProcess, execFile as execFileCallback } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { freePort, startServer, stopServer } from './support/load.ts';

// autocannon and koa-conditional-get ship no types: load them through require with the little we use.
const require = createRequire(import.meta.url);
interface AutocannonResult {
  requests: { average: number };
  errors: number;
  statusCodeStats: Record<string, { count: number }>;
}
const autocannon = require('autocannon') as (options: {
  url: string;
  headers: Record<string, string>;
  connections: number;
  duration: number;
  pipelining: number;
}) => Promise<AutocannonResult>;

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP_SECONDS = 1;
const CONNECTIONS = 32;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const VERSION = 42;

/** ~78 KB of JSON, built anew for every request as an API would. */
function render(): string {
  const users = [];
  for (let i = 0; i < 500; i++) {
    users.push({
      id: i,
      name: `User ${i}`,
      email: `user${i}@example.com`,
      role: i % 3 ? 'member' : 'admin',
      active: i % 2 === 0,
      createdAt: new Date(1700000000000 + i * 1000).toISOString(),
      tags: ['alpha', 'beta'],
      v: i % 7,
    });
  }
  return JSON.stringify(users);
}

// ---- servers (child process side) ------------------------------------------------------------------------

type Listen = (port: number) => Promise<void>;

const SERVERS: Record<string, () => Promise<Listen>> = {
  async 'bare-304'() {
    return nodeListen((_req, res) => {
      res.writeHead(304, { etag: '"42"' });
      res.end();
    });
  },
  async 'bare-tiny'() {
    return nodeListen((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
  },
  async 'etagkit-node-tiny'() {
    const { conditional } = await import('../src/adapters/node.ts');
    const { etagFromVersion } = await import('../src/core/index.ts');
    const etag = etagFromVersion(VERSION);
    return nodeListen(
      conditional(
        (_req, res) => {
          res.setHeader('content-type', 'application/json');
          res.end('{"ok":true}');
        },
        { validate: () => ({ etag }) },
      ),
    );
  },
  async 'etagkit-node-tiny-hashed'() {
    const { conditional } = await import('../src/adapters/node.ts');
    return nodeListen(
      conditional((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      }),
    );
  },
  async 'etagkit-node'() {
    const { conditional } = await import('../src/adapters/node.ts');
    const { etagFromVersion } = await import('../src/core/index.ts');
    return nodeListen(conditional(nodeJson, { validate: () => ({ etag: etagFromVersion(VERSION) }) }));
  },
  async 'etagkit-node-hashed'() {
    const { conditional } = await import('../src/adapters/node.ts');
    return nodeListen(conditional(nodeJson));
  },
  async express() {
    const { default: express } = await import('express');
    const app = express(); // default: weak ETag of the body + `fresh`
    app.get('/', (_req, res) => res.type('application/json').send(render()));
    return (port) => listenApp(app, port);
  },
  async 'etagkit-express'() {
    const { default: express } = await import('express');
    const { conditional } = await import('../src/adapters/express.ts');
    const { etagFromVersion } = await import('../src/core/index.ts');
    const app = express();
    app.get('/', conditional({ validate: () => ({ etag: etagFromVersion(VERSION) }) }), (_req, res) =>
      res.type('application/json').send(render()),
    );
    return (port) => listenApp(app, port);
  },
  async 'etagkit-express-hashed'() {
    const { default: express } = await import('express');
    const { conditional } = await import('../src/adapters/express.ts');
    const app = express();
    app.get('/', conditional(), (_req, res) => res.type('application/json').send(render()));
    return (port) => listenApp(app, port);
  },
  async fastify() {
    const { default: Fastify } = await import('fastify');
    const { default: etag } = await import('@fastify/etag');
    const app = Fastify();
    await app.register(etag);
    app.get('/', (_req, reply) => reply.type('application/json').send(render()));
    return async (port) => void (await app.listen({ port, host: '127.0.0.1' }));
  },
  async 'etagkit-fastify'() {
    const { default: Fastify } = await import('fastify');
    const { conditional } = await import('../src/adapters/fastify.ts');
    const { etagFromVersion } = await import('../src/core/index.ts');
    const app = Fastify();
    await app.register(conditional, { validate: () => ({ etag: etagFromVersion(VERSION) }) });
    app.get('/', (_req, reply) => reply.type('application/json').send(render()));
    return async (port) => void (await app.listen({ port, host: '127.0.0.1' }));
  },
  async 'etagkit-fastify-hashed'() {
    const { default: Fastify } = await import('fastify');
    const { conditional } = await import('../src/adapters/fastify.ts');
    const app = Fastify();
    await app.register(conditional, {});
    app.get('/', (_req, reply) => reply.type('application/json').send(render()));
    return async (port) => void (await app.listen({ port, host: '127.0.0.1' }));
  },
  async koa() {
    const { default: Koa } = await import('koa');
    const conditionalGet = require('koa-conditional-get') as () => import('koa').Middleware;
    const { default: etag } = await import('koa-etag');
    const app = new Koa();
    app.use(conditionalGet());
    app.use(etag());
    app.use((ctx) => {
      ctx.type = 'application/json';
      ctx.body = render();
    });
    return (port) => listenApp(app.callback(), port);
  },
  async 'etagkit-koa'() {
    const { default: Koa } = await import('koa');
    const { conditional } = await import('../src/adapters/koa.ts');
    const { etagFromVersion } = await import('../src/core/index.ts');
    const app = new Koa();
    app.use(conditional({ validate: () => ({ etag: etagFromVersion(VERSION) }) }));
    app.use((ctx) => {
      ctx.type = 'application/json';
      ctx.body = render();
    });
    return (port) => listenApp(app.callback(), port);
  },
  async 'etagkit-koa-hashed'() {
    const { default: Koa } = await import('koa');
    const { conditional } = await import('../src/adapters/koa.ts');
    const app = new Koa();
    app.use(conditional());
    app.use((ctx) => {
      ctx.type = 'application/json';
      ctx.body = render();
    });
    return (port) => listenApp(app.callback(), port);
  },
  async hono() {
    const { Hono } = await import('hono');
    const { etag } = await import('hono/etag');
    const app = new Hono();
    app.use('/', etag());
    app.get('/', (c) => c.body(render(), 200, { 'content-type': 'application/json' }));
    return honoListen(app.fetch);
  },
  async 'etagkit-hono'() {
    const { Hono } = await import('hono');
    const { conditional } = await import('../src/adapters/hono.ts');
    const { etagFromVersion } = await import('../src/core/index.ts');
    const app = new Hono();
    app.use('/', conditional({ validate: () => ({ etag: etagFromVersion(VERSION) }) }));
    app.get('/', (c) => c.body(render(), 200, { 'content-type': 'application/json' }));
    return honoListen(app.fetch);
  },
  async 'etagkit-hono-hashed'() {
    const { Hono } = await import('hono');
    const { conditional } = await import('../src/adapters/hono.ts');
    const app = new Hono();
    app.use('/', conditional());
    app.get('/', (c) => c.body(render(), 200, { 'content-type': 'application/json' }));
    return honoListen(app.fetch);
  },
};

function nodeJson(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.setHeader('content-type', 'application/json');
  res.end(render());
}

async function nodeListen(handler: http.RequestListener): Promise<Listen> {
  return (port) => listenApp(handler, port);
}

function listenApp(handler: http.RequestListener, port: number): Promise<void> {
  return new Promise((resolve) => http.createServer(handler).listen(port, '127.0.0.1', () => resolve()));
}

async function honoListen(fetch: (request: Request) => Response | Promise<Response>): Promise<Listen> {
  const { getRequestListener } = await import('@hono/node-server');
  return (port) => listenApp(getRequestListener(fetch), port);
}

// ---- load (parent side) ------------------------------------------------------------------------------------

const THIS_FILE = new URL(import.meta.url).pathname;
const execFile = promisify(execFileCallback);

interface Cell {
  requestsPerSecond: number;
  status: number;
}

/** Starts one server, learns its ETag, and loads it with or without If-None-Match. */
async function measure(name: string, conditionalRequest: boolean): Promise<Cell> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child: ChildProcess = await startServer(
    process.execPath,
    [THIS_FILE, '--serve', name, String(port)],
    url,
  );
  try {
    const first = await get(url, {});
    const headers: Record<string, string> = {};
    if (conditionalRequest && first.etag) headers['if-none-match'] = first.etag;
    const expected = conditionalRequest ? 304 : 200;
    const check = await get(url, headers);
    if (check.status !== expected && name !== 'bare-304') {
      throw new Error(`${name} answered ${check.status}, expected ${expected}`);
    }
    // Each run starts a fresh process: let the JIT warm up before measuring.
    await autocannon({ url, headers, connections: CONNECTIONS, duration: WARMUP_SECONDS, pipelining: 1 });
    const result = await autocannon({
      url,
      headers,
      connections: CONNECTIONS,
      duration: SECONDS,
      pipelining: 1,
    });
    const wrong = Object.entries(result.statusCodeStats)
      .filter(([code]) => Number(code) !== check.status)
      .reduce((n, [, s]) => n + s.count, 0);
    if (wrong > 0 || result.errors > 0)
      throw new Error(`${name}: ${wrong} unexpected statuses, ${result.errors} errors`);
    return { requestsPerSecond: result.requests.average, status: check.status };
  } finally {
    await stopServer(child);
  }
}

function get(url: string, headers: Record<string, string>): Promise<{ status: number; etag?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, etag: res.headers.etag }));
      })
      .on('error', reject);
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

const PEERS: [string, string, string][] = [
  ['Express 5 (default etag + fresh)', 'express', 'etagkit-express'],
  ['Fastify 5 + @fastify/etag', 'fastify', 'etagkit-fastify'],
  ['Hono 4 + hono/etag (node-server)', 'hono', 'etagkit-hono'],
  ['Koa 3 + koa-etag + koa-conditional-get', 'koa', 'etagkit-koa'],
];

/**
 * Measures the servers in turn, `ROUNDS` times, and keeps each one's best run: other processes on the machine
 * slow some runs down, and alternating the servers spreads that noise over all of them.
 */
async function best(names: string[], conditionalRequest: boolean): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      const { requestsPerSecond } = await measure(name, conditionalRequest);
      out[name] = Math.max(out[name] ?? 0, requestsPerSecond);
    }
  }
  return out;
}

/**
 * CPU cost per request of the ETag step alone, without sockets, each case in a fresh process: fake requests go
 * through node:http's ServerResponse, the body is rendered once beforehand. Steadier than the req/s tables, which are
 * at the mercy of whatever else the machine runs. With no socket, node never encodes a string body, so the
 * 78 KB rows charge etagkit the UTF-8 encoding it needs for hashing, which a real server then reuses.
 */
export async function inProcess(only?: number): Promise<void> {
  const { Socket } = await import('node:net');
  const { default: express } = await import('express');
  const { conditional: nodeConditional } = await import('../src/adapters/node.ts');
  const { conditional: expressConditional } = await import('../src/adapters/express.ts');
  const { etagFromVersion } = await import('../src/core/index.ts');
  const body = render();
  const tiny = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  };
  const plain = express();
  plain.set('etag', false);
  plain.get('/', (_q, r) => r.type('application/json').send(body));
  const withEtag = express();
  withEtag.get('/', (_q, r) => r.type('application/json').send(body));
  const kit = express();
  kit.get('/', expressConditional(), (_q, r) => r.type('application/json').send(body));
  const large = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    res.end(body);
  };
  const etag = etagFromVersion(VERSION);
  const validated = nodeConditional(tiny, { validate: () => ({ etag }) });
  const cases: [string, http.RequestListener, number, http.IncomingHttpHeaders?][] = [
    ['node:http tiny 200, bare', tiny, 20000],
    ['node:http tiny 200, conditional() with validate', validated, 20000],
    ['node:http tiny 200, conditional() hashing', nodeConditional(tiny), 20000],
    ['node:http 304, conditional() with validate', validated, 20000, { 'if-none-match': etag }],
    ['node:http 78 KB 200, bare', large, 2000],
    ['node:http 78 KB 200, conditional() hashing', nodeConditional(large), 2000],
    ['Express 78 KB, etag off (no validator)', plain, 2000],
    ['Express 78 KB, default etag (SHA-1)', withEtag, 2000],
    ['Express 78 KB, etagkit hashing', kit, 2000],
  ];
  const socket = new Socket();
  const once = (listener: http.RequestListener, headers: http.IncomingHttpHeaders | undefined) => {
    const req = new http.IncomingMessage(socket);
    req.method = 'GET';
    req.url = '/';
    req.headers = headers ? { host: 'bench', ...headers } : { host: 'bench' };
    listener(req, new http.ServerResponse(req));
  };
  if (only !== undefined) {
    // Child: measure one case, so node's own code sees only this case's objects (as a real server would).
    const [, listener, n, headers] = cases[only]!;
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < ROUNDS + 2; round++) {
      for (let i = 0; i < n / 4; i++) once(listener, headers);
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) once(listener, headers);
      best = Math.min(best, Number(process.hrtime.bigint() - start) / n / 1000);
    }
    console.log(best);
    return;
  }
  const best: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (let index = 0; index < cases.length; index++) {
      const { stdout } = await execFile(process.execPath, [THIS_FILE, '--in-process', String(index)]);
      const label = cases[index]![0];
      best[label] = Math.min(best[label] ?? Number.POSITIVE_INFINITY, Number(stdout.trim()));
    }
  }
  console.log('| handler | µs per request |');
  console.log('| --- | ---: |');
  for (const [label] of cases) console.log(`| ${label} | ${best[label]!.toFixed(2)} |`);
}

export async function run(): Promise<void> {
  console.log(
    `autocannon, ${CONNECTIONS} connections, ${SECONDS} s per run after ${WARMUP_SECONDS} s of warm-up, best of ${ROUNDS} rounds (each round runs every ` +
      `server of the table in turn), loopback, each server in its own process; ` +
      `~${Math.round(render().length / 1000)} KB JSON rendered per request.\n`,
  );

  const peers = PEERS.map(([, peer]) => peer);
  const ours = PEERS.map(([, , o]) => o);
  const r304 = await best([...peers, ...ours, 'etagkit-node', 'bare-304'], true);
  const fastest304 = Math.max(...peers.map((p) => r304[p]!));
  console.log('### 304 path (If-None-Match matches)\n');
  console.log(
    '| framework | peer req/s | etagkit (validate) in the same framework, req/s | etagkit / peer |',
  );
  console.log('| --- | ---: | ---: | ---: |');
  for (const [label, peer, o] of PEERS) {
    console.log(`| ${label} | ${fmt(r304[peer]!)} | ${fmt(r304[o]!)} | ${ratio(r304[o]!, r304[peer]!)} |`);
  }
  const node304 = r304['etagkit-node']!;
  const ceiling = r304['bare-304']!;
  console.log(
    `| node:http: etagkit/node (validate) | — | ${fmt(node304)} | ${ratio(node304, fastest304)} of the fastest peer |`,
  );
  console.log(
    `| node:http: bare constant 304 (ceiling) | — | ${fmt(ceiling)} | etagkit/node = ${ratio(node304, ceiling)} of it |`,
  );

  const hashed = ours.map((o) => `${o}-hashed`);
  const r200 = await best([...peers, ...hashed, 'etagkit-node-hashed'], false);
  const fastest200 = Math.max(...peers.map((p) => r200[p]!));
  console.log('\n### 200 path (no precondition; etagkit hashes the body)\n');
  console.log('| framework | peer req/s | etagkit hashing in the same framework, req/s | etagkit / peer |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [label, peer, o] of PEERS) {
    const h = r200[`${o}-hashed`]!;
    console.log(`| ${label} | ${fmt(r200[peer]!)} | ${fmt(h)} | ${ratio(h, r200[peer]!)} |`);
  }
  const node200 = r200['etagkit-node-hashed']!;
  console.log(
    `| node:http: etagkit/node (hashing) | — | ${fmt(node200)} | ${ratio(node200, fastest200)} of the fastest peer |`,
  );

  console.log('\n### Overhead on a tiny 200 (node:http)\n');
  const tiny = await best(['bare-tiny', 'etagkit-node-tiny', 'etagkit-node-tiny-hashed'], false);
  const bare = tiny['bare-tiny']!;
  console.log('| handler | req/s | vs bare |');
  console.log('| --- | ---: | ---: |');
  console.log(`| bare node:http | ${fmt(bare)} | 1.00× |`);
  for (const [label, name] of [
    ['conditional() with validate', 'etagkit-node-tiny'],
    ['conditional() hashing the body', 'etagkit-node-tiny-hashed'],
  ] as const) {
    console.log(`| ${label} | ${fmt(tiny[name]!)} | ${ratio(tiny[name]!, bare)} |`);
  }

  console.log(
    '\n### CPU cost of the ETag step, in-process (no sockets; each case in a fresh process; body rendered once)\n',
  );
  await inProcess();
}

if (process.argv[2] === '--in-process') await inProcess(Number(process.argv[3]));

if (process.argv[2] === '--serve') {
  const [, , , name, port] = process.argv;
  const make = SERVERS[name!];
  if (!make) throw new Error(`unknown server ${name}; known: ${Object.keys(SERVERS).join(', ')}`);
  await (await make())(Number(port));
}
