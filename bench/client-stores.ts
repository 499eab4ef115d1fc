/**
 * `npm run bench -- client-stores`: cache-hit cost of the SQLite and Redis stores against the memory store, for a
 * 1 KB and a 100 KB entry.
 *
 * - HTTP: a server in a child process answers every request from `store.get(key)` (headers + body of the stored
 *   response), loaded by autocannon from this process — what a cache in front of an origin pays per hit, in req/s
 *   and in the server's CPU per request (support/cells.ts).
 * - In process: `await store.get(key)` with 16 calls in flight, in interleaved rounds — the store's own cost.
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
import { type BenchOptions, type Ratio, settings } from './support/bench.ts';
import { type Cell, describeHttp, measureCells } from './support/cells.ts';
import { median, table, times } from './support/format.ts';
import { freePort, startServer, stopServer } from './support/load.ts';
import { interleave, named, spread } from './support/rounds.ts';

const CONCURRENCY = 16;
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

/** `store.get` operations per second with CONCURRENCY calls in flight for `seconds`. */
async function getsPerSecond(store: CacheStore, key: string, seconds: number): Promise<number> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let n = 0;
  const worker = async () => {
    while (performance.now() < end) {
      for (let i = 0; i < 20; i++) await store.get(key);
      n += 20;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return n / ((performance.now() - start) / 1000);
}

/** Floors for `--check`: hits from each store ÷ from memory, 1 KB over HTTP (req/s). */
const FLOORS: Partial<Record<StoreName, number>> = { sqlite: 0.2, redis: 0.15 };

export async function run(options: BenchOptions): Promise<Ratio[]> {
  const s = settings(options);
  const servers = new Map<StoreName, { base: string; child: ChildProcess }>();
  let measured: Awaited<ReturnType<typeof measureCells>>;
  try {
    for (const kind of STORES) {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      servers.set(kind, {
        base,
        child: await startServer(process.execPath, [self, '--serve', kind, String(port)], `${base}/ready`),
      });
    }
    const cells: Cell[] = [];
    for (const size of Object.keys(SIZES) as SizeName[])
      for (const kind of STORES) {
        const { base, child } = servers.get(kind)!;
        cells.push({
          name: `${kind}/${size}`,
          url: `${base}/${size}`,
          expectStatus: 200,
          serverPid: child.pid!,
        });
      }
    measured = await measureCells(cells, s, 'client-stores');
  } finally {
    for (const { child } of servers.values()) await stopServer(child);
  }

  // In process: every store and size in interleaved rounds.
  const prepared = new Map<StoreName, { store: CacheStore; dispose(): Promise<void> }>();
  for (const kind of STORES) prepared.set(kind, await preparedStore(kind));
  const names = STORES.flatMap((kind) => (Object.keys(SIZES) as SizeName[]).map((size) => `${kind}/${size}`));
  const gets = await interleave(names, {
    rounds: s.rounds,
    warmup: (name) =>
      getsPerSecond(
        prepared.get(name.split('/')[0] as StoreName)!.store,
        keyOf(name.split('/')[1] as SizeName),
        0.2,
      ),
    measure: (name) =>
      getsPerSecond(
        prepared.get(name.split('/')[0] as StoreName)!.store,
        keyOf(name.split('/')[1] as SizeName),
        s.seconds / 2,
      ),
  });
  for (const { dispose } of prepared.values()) await dispose();

  console.log(
    `Cache hits served from each store. HTTP: a server in a child process answering from \`store.get\`; ` +
      `${describeHttp(s)} In process: \`store.get\` with ${CONCURRENCY} calls in flight, ${s.rounds} interleaved ` +
      `rounds of ${s.seconds / 2} s. Redis ${REDIS_URL} on the same machine.\n`,
  );
  const ratios: Ratio[] = [];
  const rows: string[][] = [];
  for (const kind of STORES) {
    const row: string[] = [kind];
    for (const size of Object.keys(SIZES) as SizeName[]) {
      const cell = `${kind}/${size}`;
      const vsMemory = measured.rpsRatio(cell, `memory/${size}`);
      row.push(median(measured.rps(cell), 0), median(measured.cpu(cell)), times(vsMemory));
      const floor = FLOORS[kind];
      if (floor && size === '1k')
        ratios.push(
          named(`client-stores: ${kind} ÷ memory, 1 KB hits over HTTP, req/s`, vsMemory, { atLeast: floor }),
        );
    }
    for (const size of Object.keys(SIZES) as SizeName[])
      row.push(median(spread(gets.get(`${kind}/${size}`)!), 0));
    rows.push(row);
  }
  table(
    [
      'store',
      '1 KB req/s',
      '1 KB server CPU µs/req',
      '1 KB vs memory',
      '100 KB req/s',
      '100 KB server CPU µs/req',
      '100 KB vs memory',
      '1 KB get/s in process',
      '100 KB get/s in process',
    ],
    rows,
  );
  console.log(`\n${measured.bottleneck()}.`);
  return ratios;
}

const at = process.argv.indexOf('--serve');
if (at >= 0) await serve(process.argv[at + 1] as StoreName, Number(process.argv[at + 2]));
