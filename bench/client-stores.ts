/**
 * `npm run bench -- client-stores`: cache-hit throughput of the SQLite and Redis stores against the memory store,
 * for a 1 KB and a 100 KB entry.
 *
 * - HTTP: a server in a child process answers every request from `store.get(key)` (headers + body of the stored
 *   response), loaded by autocannon from this process — what a cache in front of an origin pays per hit.
 * - In process: `await store.get(key)` back to back, operations per second — the store's own cost.
 *
 * Each HTTP cell runs BENCH_SECONDS (default 5) seconds in ROUNDS interleaved slices, each in-process cell a
 * fifth of BENCH_SECONDS.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CacheStore, StoredResponse } from '../src/client/store.ts';
import { memoryStore } from '../src/client/stores/memory.ts';
import { redisStore } from '../src/client/stores/redis.ts';
import { sqliteStore } from '../src/client/stores/sqlite.ts';
import { freePort, load, ratio, startServer, stopServer } from './support/load.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 16;
const ROUNDS = 5;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const STORES = ['memory', 'sqlite', 'redis'] as const;
const SIZES = { '1k': 1024, '100k': 100 * 1024 } as const;
type StoreName = (typeof STORES)[number];
type SizeName = keyof typeof SIZES;
const self = fileURLToPath(import.meta.url);

/** A store of the given kind with both benchmark entries in it, and how to throw it away afterwards. */
async function preparedStore(kind: StoreName): Promise<{ store: CacheStore; dispose(): Promise<void> }> {
  let store: CacheStore;
  let cleanup = async () => {};
  if (kind === 'memory') store = memoryStore();
  else if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'etagkit-bench-'));
    store = sqliteStore(join(dir, 'cache.db'));
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    store = redisStore(REDIS_URL, { prefix: `etagkit:bench:${process.pid}:` });
    cleanup = async () => {
      for (const size of Object.keys(SIZES)) await store.delete(keyOf(size as SizeName));
    };
  }
  for (const [name, bytes] of Object.entries(SIZES)) await store.put(entryOf(name as SizeName, bytes));
  return {
    store,
    async dispose() {
      await cleanup();
      await store.close();
    },
  };
}

const keyOf = (size: SizeName) => `GET http://origin.test/${size}`;

function entryOf(size: SizeName, bytes: number): StoredResponse {
  const now = Date.now();
  return {
    key: keyOf(size),
    variant: '',
    status: 200,
    headers: [
      ['content-type', 'application/octet-stream'],
      ['cache-control', 'max-age=86400'],
      ['etag', `"${size}"`],
      ['content-length', String(bytes)],
    ],
    varyHeaders: {},
    body: new Uint8Array(bytes).fill(0x61),
    requestTime: now,
    responseTime: now,
  };
}

/** Child process: answer GET /1k and /100k from the store. */
async function serve(kind: StoreName, port: number): Promise<void> {
  const { store, dispose } = await preparedStore(kind);
  const server = createServer(async (req, res) => {
    const size = (req.url ?? '/').slice(1);
    if (size === 'ready') return void res.end('ok');
    try {
      const [entry] = await store.get(keyOf(size as SizeName));
      if (!entry) return void res.writeHead(404).end();
      res.writeHead(entry.status, entry.headers.flat());
      res.end(entry.body);
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', async () => {
    server.close();
    server.closeAllConnections();
    await dispose();
    process.exit(0);
  });
}

/** `store.get` operations per second with CONNECTIONS calls in flight for `seconds`, after a warm-up. */
async function getsPerSecond(store: CacheStore, key: string, seconds: number): Promise<number> {
  for (let i = 0; i < 100; i++) await store.get(key);
  const start = performance.now();
  const end = start + seconds * 1000;
  let n = 0;
  const worker = async () => {
    while (performance.now() < end) {
      for (let i = 0; i < 20; i++) await store.get(key);
      n += 20;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return n / ((performance.now() - start) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export async function run(): Promise<void> {
  // One server per store, all up at once; the cells are measured in ROUNDS interleaved slices so that load
  // from elsewhere on the machine falls on every store alike. Each cell reports the mean over its slices.
  const servers = new Map<StoreName, { base: string; child: ChildProcess }>();
  const http = new Map<string, number>();
  try {
    for (const kind of STORES) {
      const base = `http://127.0.0.1:${await freePort()}`;
      const port = base.slice(base.lastIndexOf(':') + 1);
      servers.set(kind, {
        base,
        child: await startServer(process.execPath, [self, '--serve', kind, port], `${base}/ready`),
      });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const size of Object.keys(SIZES) as SizeName[]) {
        for (const kind of STORES) {
          const result = await load(`${servers.get(kind)!.base}/${size}`, {
            expectStatus: 200,
            seconds: SECONDS / ROUNDS,
            connections: CONNECTIONS,
          });
          if (result.non2xx || result.errors)
            throw new Error(`${kind}/${size}: ${result.non2xx} non-2xx, ${result.errors} errors`);
          const cell = `${kind}/${size}`;
          http.set(cell, (http.get(cell) ?? 0) + result.requestsPerSecond / ROUNDS);
        }
      }
    }
  } finally {
    for (const { child } of servers.values()) await stopServer(child);
  }

  const inProcess = new Map<string, number>();
  for (const kind of STORES) {
    const { store, dispose } = await preparedStore(kind);
    for (const size of Object.keys(SIZES) as SizeName[]) {
      inProcess.set(`${kind}/${size}`, await getsPerSecond(store, keyOf(size), SECONDS / 5));
    }
    await dispose();
  }

  console.log(
    `Cache hits served from each store: HTTP server in a child process answering from \`store.get\`, autocannon ` +
      `${CONNECTIONS} connections, ${SECONDS} s per cell in ${ROUNDS} interleaved slices; in-process ` +
      `\`store.get\` with ${CONNECTIONS} calls in flight, ${SECONDS / 5} s per cell. ` +
      `Redis ${REDIS_URL} on the same machine.\n`,
  );
  console.log('| store | 1 KB req/s | vs memory | 100 KB req/s | vs memory | 1 KB get/s | 100 KB get/s |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const kind of STORES) {
    const cell = (size: SizeName) => http.get(`${kind}/${size}`) ?? 0;
    const memory = (size: SizeName) => http.get(`memory/${size}`) ?? 0;
    console.log(
      `| ${kind} | ${fmt(cell('1k'))} | ${ratio(cell('1k'), memory('1k'))} | ${fmt(cell('100k'))} | ` +
        `${ratio(cell('100k'), memory('100k'))} | ${fmt(inProcess.get(`${kind}/1k`) ?? 0)} | ` +
        `${fmt(inProcess.get(`${kind}/100k`) ?? 0)} |`,
    );
  }
}

const at = process.argv.indexOf('--serve');
if (at >= 0) await serve(process.argv[at + 1] as StoreName, Number(process.argv[at + 2]));
