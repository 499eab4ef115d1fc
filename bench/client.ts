/**
 * `npm run bench -- client`: the caching fetch side by side with its peers, like for like, against a local origin
 * running in a child process. Every table: interleaved rounds (order rotated), median (lowest–highest round),
 * ratios taken round by round, requests per second and the client's CPU time per request (this process, or the
 * child the table ran in: the origin's CPU is not in it).
 *
 * - fresh hits from memory: etagkit, undici's cache interceptor under `fetch` and under its `request()` API, got +
 *   cacheable-request; from disk: etagkit + sqliteStore, undici `request()` + its SqliteCacheStore,
 *   make-fetch-happen (cacache); from Redis: etagkit + redisStore;
 * - revalidation (every request revalidated, the origin answers 304), in a child process of its own: etagkit
 *   against a raw fetch that sends If-None-Match itself, its peers beside; on loopback and 1 ms away;
 * - what the store lease costs a revalidation (SQLite, Redis), and a stale stampede over Redis with and without it;
 * - memory per cached entry, each client in its own process.
 *
 * The origin counts the requests it sees, so a "hit" that went to the network shows up in the table.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchOptions, type Ratio, settings } from './support/bench.ts';
import { median, num, table, times } from './support/format.ts';
import { interleave, named, pairedRatio, spread } from './support/rounds.ts';

const MEMORY_ENTRIES = 10_000;
const MACHINES = 4;
const CALLERS = 25;
const BODY = 'x'.repeat(1024);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const self = fileURLToPath(import.meta.url);

type Get = (url: string) => Promise<unknown>;
interface Client {
  get: Get;
  close?: () => Promise<void>;
}

/** One measured run: requests per second, and client CPU µs per request. */
interface Run {
  rps: number;
  cpu: number;
}

/**
 * The origin: /fresh/* is fresh for a day, /reval/* must be revalidated (ETag, no-cache; /reval-1ms/* answers 1 ms
 * later), /stale/* is stale at once (max-age=0, ETag), /slow/* is fresh for a minute and answers revalidations
 * after 50 ms, /small/* is tiny. /counts returns (and resets) how many requests each kind got.
 */
function serveOrigin(): void {
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const kind = path.split('/')[1] ?? '';
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    if (kind === 'counts') {
      res.end(JSON.stringify(Object.fromEntries(counts)));
      counts.clear();
    } else if (kind === 'fresh') {
      res
        .writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=86400', etag: '"f1"' })
        .end(BODY);
    } else if (kind === 'reval' || kind === 'reval-1ms') {
      const answer = () => {
        if (req.headers['if-none-match'] === '"r1"')
          res.writeHead(304, { etag: '"r1"', 'cache-control': 'no-cache' }).end();
        else
          res
            .writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache', etag: '"r1"' })
            .end(BODY);
      };
      // reval-1ms stands for an origin one millisecond away (a LAN, a fast API), loopback being ~0.1 ms.
      if (kind === 'reval-1ms') setTimeout(answer, 1);
      else answer();
    } else if (kind === 'stale') {
      // Stale at once (max-age=0, not no-cache): a revalidation that takes the store lease.
      if (req.headers['if-none-match'] === '"t1"')
        res.writeHead(304, { etag: '"t1"', 'cache-control': 'max-age=0' }).end();
      else
        res
          .writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=0', etag: '"t1"' })
          .end(BODY);
    } else if (kind === 'slow') {
      // Fresh for a minute; answers revalidations after 50 ms (a busy API).
      if (req.headers['if-none-match'] === '"s1"')
        setTimeout(() => res.writeHead(304, { etag: '"s1"', 'cache-control': 'max-age=60' }).end(), 50);
      else
        res
          .writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', etag: '"s1"' })
          .end(BODY);
    } else if (kind === 'small') {
      res
        .writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=86400', etag: '"s"' })
        .end('small body');
    } else res.writeHead(404).end();
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  });
  process.on('disconnect', () => process.exit(0));
}

async function startOrigin(): Promise<{ base: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [self, '--origin'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`origin exited with ${code}`)));
  });
  return { base: `http://127.0.0.1:${port}`, child };
}

/** `get(url)` back to back for `seconds`: requests per second and this process's CPU µs per request. */
async function measure(get: Get, url: string, seconds: number): Promise<Run> {
  let n = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) await get(url);
    n += 20;
  }
  const elapsed = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { rps: n / elapsed, cpu: (used.user + used.system) / n };
}

/** Each contender in interleaved rounds after 200 requests of warm-up; every round's Run per contender. */
function rounds(
  contenders: Map<string, Get>,
  url: string,
  count: number,
  seconds: number,
): Promise<Map<string, Run[]>> {
  return interleave([...contenders.keys()], {
    rounds: count,
    warmup: async (name) => {
      for (let i = 0; i < 200; i++) await contenders.get(name)!(url);
    },
    measure: (name) => measure(contenders.get(name)!, url, seconds),
  });
}

async function originCounts(base: string): Promise<Record<string, number>> {
  const res = await fetch(`${base}/counts`);
  const counts = (await res.json()) as Record<string, number>;
  delete counts.counts;
  return counts;
}

/** The caching clients of the fresh-hit tables, each with a cold cache of its own. */
async function clients(tmp: string): Promise<Record<string, () => Promise<Client>>> {
  const { createFetch, sqliteStore, redisStore } = await import('../src/client/index.ts');
  const undici = await import('undici');
  const arrayBuffer = async (res: Response) => res.arrayBuffer();
  /** undici's request() API through its cache interceptor on `store`. */
  const undiciRequest = (store: NonNullable<Parameters<typeof undici.interceptors.cache>[0]>['store']) => {
    const dispatcher = new undici.Agent().compose(undici.interceptors.cache({ store }));
    return {
      get: async (url: string) => (await undici.request(url, { dispatcher })).body.arrayBuffer(),
      close: () => dispatcher.close(),
    };
  };
  let n = 0;
  return {
    'etagkit (memoryStore)': async () => {
      const f = createFetch();
      return { get: async (url) => arrayBuffer(await f(url)) };
    },
    'undici fetch + cache interceptor (memory)': async () => {
      // maxCount raised from its default of 1,024 so the memory cell really holds every entry.
      const store = new undici.cacheStores.MemoryCacheStore({ maxCount: 1_000_000 });
      const dispatcher = new undici.Agent().compose(undici.interceptors.cache({ store }));
      return {
        get: async (url) => (await undici.fetch(url, { dispatcher })).arrayBuffer(),
        close: () => dispatcher.close(),
      };
    },
    'undici request() + cache interceptor (memory)': async () =>
      undiciRequest(new undici.cacheStores.MemoryCacheStore({ maxCount: 1_000_000 })),
    'got + cacheable-request (Map)': async () => {
      const { default: got } = await import('got');
      const cache = new Map();
      return { get: async (url) => got(url, { cache }).buffer() };
    },
    'etagkit + sqliteStore': async () => {
      const store = sqliteStore(join(tmp, `etagkit-${n++}.db`));
      const f = createFetch({ store });
      return { get: async (url) => arrayBuffer(await f(url)), close: () => store.close() };
    },
    'undici request() + SqliteCacheStore': async () =>
      undiciRequest(new undici.cacheStores.SqliteCacheStore({ location: join(tmp, `undici-${n++}.db`) })),
    'make-fetch-happen (cacache on disk)': async () => {
      // make-fetch-happen ships no types: describe the one call used here.
      const specifier = 'make-fetch-happen';
      const { default: makeFetchHappen } = (await import(specifier)) as {
        default: { defaults(options: { cachePath: string }): (url: string) => Promise<Response> };
      };
      const f = makeFetchHappen.defaults({ cachePath: mkdtempSync(join(tmp, 'mfh-')) });
      return { get: async (url) => arrayBuffer(await f(url)) };
    },
    'etagkit + redisStore': async () => {
      const store = redisStore(REDIS_URL, { prefix: `etagkit-bench-${process.pid}-${n++}:` });
      const f = createFetch({ store });
      return { get: async (url) => arrayBuffer(await f(url)), close: () => store.close() };
    },
  };
}

/** etagkit on each persistent store, each client with a store of its own; `revalidationLeaseMs` as given. */
async function storeClients(tmp: string): Promise<Record<string, (leaseMs?: number) => Promise<Client>>> {
  const { createFetch, sqliteStore, redisStore } = await import('../src/client/index.ts');
  let n = 0;
  const client = (store: import('../src/client/index.ts').CacheStore, revalidationLeaseMs?: number) => {
    const f = createFetch({ store, revalidationLeaseMs });
    return { get: async (url: string) => (await f(url)).arrayBuffer(), close: () => store.close() };
  };
  return {
    'etagkit + sqliteStore': async (leaseMs) => client(sqliteStore(join(tmp, `lease-${n++}.db`)), leaseMs),
    'etagkit + redisStore': async (leaseMs) =>
      client(redisStore(REDIS_URL, { prefix: `etagkit-bench-${process.pid}-${n++}:` }), leaseMs),
  };
}

/**
 * MACHINES createFetch instances on their own Redis connections (one prefix) fill one entry, see it go stale at
 * once, and each sends CALLERS concurrent requests for it. Returns the origin requests and the callers' latencies.
 */
async function stampede(
  base: string,
  leaseMs: number,
): Promise<{ originRequests: number; latencies: number[] } | string> {
  const { createFetch, redisStore } = await import('../src/client/index.ts');
  const prefix = `etagkit-bench-stampede-${process.pid}-${leaseMs}:`;
  const stores = Array.from({ length: MACHINES }, () => redisStore(REDIS_URL, { prefix }));
  try {
    let skew = 0;
    const now = () => Date.now() + skew;
    const machines = stores.map((store) => createFetch({ store, now, revalidationLeaseMs: leaseMs }));
    const url = `${base}/slow/${leaseMs}`;
    const first = await machines[0]!(url);
    if (!first.headers.get('cache-status')?.includes('stored')) return 'the entry was not stored';
    await first.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the write to Redis completes
    skew = 120_000; // every machine now sees the entry as stale
    await originCounts(base);
    const latencies = await Promise.all(
      machines.flatMap((f) =>
        Array.from({ length: CALLERS }, async () => {
          const started = performance.now();
          await (await f(url)).arrayBuffer();
          return performance.now() - started;
        }),
      ),
    );
    return { originRequests: (await originCounts(base)).slow ?? 0, latencies };
  } catch (error) {
    return (error as Error).message;
  } finally {
    await Promise.all(stores.map((store) => store.close()));
  }
}

/** Child process: fills one client with MEMORY_ENTRIES small entries, prints bytes per entry. */
async function measureMemory(name: string, base: string): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'etagkit-bench-'));
  const all = await clients(tmp);
  const client = await all[name]!();
  const gc = (globalThis as { gc?: () => void }).gc!;
  await client.get(`${base}/small/warmup`);
  gc();
  const before = process.memoryUsage();
  for (let i = 0; i < MEMORY_ENTRIES; i++) await client.get(`${base}/small/${i}`);
  gc();
  const after = process.memoryUsage();
  const delta = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  // Proof that the entries are really held: the first 100 must come back without reaching the origin.
  await originCounts(base);
  for (let i = 0; i < 100; i++) await client.get(`${base}/small/${i}`);
  const refetched = (await originCounts(base)).small ?? 0;
  process.stdout.write(`${JSON.stringify({ perEntry: delta / MEMORY_ENTRIES, refetched })}\n`);
  await client.close?.();
  rmSync(tmp, { recursive: true, force: true });
  process.exit(0);
}

/** The contenders of the revalidation tables; the first is the baseline. */
const REVALIDATORS = [
  'raw fetch + hand-set If-None-Match',
  'raw fetch + If-None-Match, then `new Response(stored 1 KiB)` read',
  'etagkit (304 → stored 200)',
  'undici fetch + cache interceptor',
  'undici request() + cache interceptor',
] as const;

/** Child process: every request revalidated, each contender in turn; prints each one's Run in every round. */
async function measureRevalidation(
  base: string,
  path: string,
  count: number,
  seconds: number,
): Promise<void> {
  const { createFetch } = await import('../src/client/index.ts');
  const cached = createFetch();
  const undici = await import('undici');
  const forFetch = new undici.Agent().compose(undici.interceptors.cache());
  const forRequest = new undici.Agent().compose(undici.interceptors.cache());
  const stored = new TextEncoder().encode(BODY);
  const gets: Get[] = [
    async (url) => (await fetch(url, { headers: { 'if-none-match': '"r1"' } })).arrayBuffer(),
    async (url) => {
      await (await fetch(url, { headers: { 'if-none-match': '"r1"' } })).arrayBuffer();
      return new Response(stored).arrayBuffer();
    },
    async (url) => (await cached(url)).arrayBuffer(),
    async (url) => (await undici.fetch(url, { dispatcher: forFetch })).arrayBuffer(),
    async (url) => (await undici.request(url, { dispatcher: forRequest })).body.arrayBuffer(),
  ];
  const contenders = new Map<string, Get>(REVALIDATORS.map((name, i) => [name, gets[i]!]));
  const result = await rounds(contenders, `${base}/${path}/1`, count, seconds);
  await Promise.all([forFetch.close(), forRequest.close()]);
  process.stdout.write(`${JSON.stringify([...result])}\n`);
  process.exit(0);
}

/** Runs a child of this file with `args`; its last line of stdout, parsed. */
async function child<T>(args: string[], nodeFlags: string[] = []): Promise<T> {
  const proc = spawn(process.execPath, [...nodeFlags, self, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  // got + a Map cache warns about a listener leak once per request; keep every other line of stderr.
  proc.stderr.on('data', (d: Buffer) => {
    const lines = d
      .toString()
      .split('\n')
      .filter((l) => l.trim() && !l.includes('MaxListenersExceededWarning'));
    if (lines.length) process.stderr.write(`${lines.join('\n')}\n`);
  });
  await new Promise((resolve) => proc.once('exit', resolve));
  return JSON.parse(out.trim().split('\n').pop() ?? 'null') as T;
}

/**
 * keyv (under cacheable-request) `console.warn`s about its own listener count on every got request with a Map
 * cache: drop those lines, print every other warning.
 */
function quietKeyvListenerWarnings(): void {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('MaxListenersExceededWarning')) warn(...args);
  };
}

const rps = (runs: Run[]) => spread(runs.map((r) => r.rps));
const cpu = (runs: Run[]) => spread(runs.map((r) => r.cpu));
const faster = (a: Run[], b: Run[]) =>
  pairedRatio(
    a.map((r) => r.rps),
    b.map((r) => r.rps),
  );
const costlier = (a: Run[], b: Run[]) =>
  pairedRatio(
    a.map((r) => r.cpu),
    b.map((r) => r.cpu),
  );

export async function run(options: BenchOptions): Promise<Ratio[]> {
  quietKeyvListenerWarnings();
  const s = settings(options);
  const ratios: Ratio[] = [];
  const { base, child: origin } = await startOrigin();
  const tmp = mkdtempSync(join(tmpdir(), 'etagkit-bench-'));
  try {
    const freshSeconds = s.seconds / 2;
    console.log(
      `Local origin in a child process; Node ${process.version}. Every table: ${s.rounds} interleaved rounds ` +
        '(order rotated), median (lowest–highest round), ratios taken round by round; CPU is the client ' +
        "process's user + system time per request.\n",
    );

    console.log('### Fresh hits, like for like (1 KiB body, sequential requests)\n');
    console.log(`${freshSeconds} s per client per round, after 200 requests of warm-up.\n`);
    const made = new Map<string, Client>();
    for (const [name, make] of Object.entries(await clients(tmp))) {
      try {
        made.set(name, await make());
      } catch (error) {
        console.log(`(${name}: not measured: ${(error as Error).message})\n`);
      }
    }
    await originCounts(base);
    const fresh = await rounds(
      new Map([...made].map(([name, c]) => [name, c.get])),
      `${base}/fresh/1`,
      s.rounds,
      freshSeconds,
    );
    const freshSeen = (await originCounts(base)).fresh ?? 0;
    for (const c of made.values()) await c.close?.();
    const groups: [string, string, string[]][] = [
      [
        'in memory',
        'etagkit (memoryStore)',
        [
          'undici fetch + cache interceptor (memory)',
          'undici request() + cache interceptor (memory)',
          'got + cacheable-request (Map)',
        ],
      ],
      [
        'on disk',
        'etagkit + sqliteStore',
        ['undici request() + SqliteCacheStore', 'make-fetch-happen (cacache on disk)'],
      ],
      ['in Redis', 'etagkit + redisStore', []],
    ];
    const freshRows: string[][] = [];
    for (const [where, ours, peers] of groups) {
      const mine = fresh.get(ours);
      if (!mine) continue;
      freshRows.push([`**${ours}**`, where, median(rps(mine), 0), median(cpu(mine)), '—']);
      for (const peer of peers) {
        const theirs = fresh.get(peer);
        if (!theirs) continue;
        const ratio = faster(mine, theirs);
        freshRows.push([peer, where, median(rps(theirs), 0), median(cpu(theirs)), times(ratio)]);
        const floor = FRESH_FLOORS[peer];
        if (floor)
          ratios.push(named(`client fresh hits: ${ours} ÷ ${peer}, req/s`, ratio, { atLeast: floor }));
      }
    }
    table(['client', 'store', 'req/s', 'client CPU µs/req', `${'etagkit'} ÷ this, req/s`], freshRows);
    console.log(
      `\nThe origin answered ${freshSeen} requests in this section (one per client to fill its cache): every ` +
        'other request was a cache hit. Each etagkit row is compared with the peers that keep their entries in ' +
        'the same place.',
    );

    console.log('\n### Revalidation with persistent stores: what the lease costs\n');
    console.log(
      'Every request revalidates a `max-age=0` response (origin answers 304), sequential requests, ' +
        `${freshSeconds / 2} s per round.\n`,
    );
    const leaseRows: string[][] = [];
    for (const [name, make] of Object.entries(await storeClients(tmp))) {
      try {
        const on = await make();
        const off = await make(0);
        const runs = await rounds(
          new Map([
            ['on', on.get],
            ['off', off.get],
          ]),
          `${base}/stale/${name.length}`,
          s.rounds,
          freshSeconds / 2,
        );
        await Promise.all([on.close?.(), off.close?.()]);
        const [withLease, without] = [runs.get('on')!, runs.get('off')!];
        const cost = spread(withLease.map((r, i) => 1e6 / r.rps - 1e6 / without[i]!.rps));
        leaseRows.push([name, median(rps(withLease), 0), median(rps(without), 0), median(cost, 0)]);
      } catch (error) {
        leaseRows.push([name, `n/a (${(error as Error).message})`, '', '']);
      }
    }
    table(
      ['store', 'lease on (default), req/s', 'lease off, req/s', 'lease cost per revalidation, µs'],
      leaseRows,
    );

    console.log(
      `\n### Stale stampede over Redis (${MACHINES} machines × ${CALLERS} concurrent requests, revalidation answered after 50 ms)\n`,
    );
    const stampedeRows: string[][] = [];
    for (const [label, leaseMs] of [
      ['off (`revalidationLeaseMs: 0`): one per machine', 0],
      ['on (default with Redis, 5 s)', 5_000],
    ] as const) {
      const result = await stampede(base, leaseMs);
      if (typeof result === 'string') stampedeRows.push([label, `n/a (${result})`, '', '']);
      else {
        const latency = spread(result.latencies);
        stampedeRows.push([label, `${result.originRequests}`, num(latency.median), num(latency.high)]);
      }
    }
    table(['revalidation lease', 'origin requests', 'median latency (ms)', 'slowest (ms)'], stampedeRows);
    console.log(
      '\nWithin one machine concurrent requests always share one revalidation; the lease makes the other ' +
        'machines wait for its result in the store (polled after 5 ms, then a quarter longer each time, at most ' +
        'every 50 ms) instead of asking the origin too.',
    );

    console.log('\n### Revalidation round trip (every request revalidated, the origin answers 304)\n');
    console.log(
      'Measured in a child process of its own (CPU is that process’s), so that the heap left by the sections ' +
        'above weighs on no row. The first three rows share the global dispatcher (one keep-alive connection) ' +
        "and read the body they get: the raw 304 has none, etagkit's answer is the stored 200 with its 1 KiB body; " +
        'the second row builds and reads a Response of the stored body after the raw 304, as a cache built on ' +
        'plain `Response` objects would. Target (issue #14): etagkit ≤ 1.1× the raw fetch in client CPU.\n',
    );
    const revalidations: [path: string, label: string, rounds: number, seconds: number][] = [
      ['reval', 'Loopback origin (answers at once)', options.quick ? s.rounds : s.rounds + 1, s.seconds],
    ];
    if (!options.quick)
      revalidations.push(['reval-1ms', 'Origin 1 ms away (answers after a 1 ms timer)', 3, s.seconds / 2]);
    for (const [path, label, roundCount, seconds] of revalidations) {
      await originCounts(base);
      const runs = new Map(
        await child<[string, Run[]][]>(['--revalidation', base, path, String(roundCount), String(seconds)]),
      );
      const seen = (await originCounts(base))[path] ?? 0;
      console.log(`#### ${label}\n\n${roundCount} rounds of ${seconds} s per client.\n`);
      const raw = runs.get(REVALIDATORS[0])!;
      table(
        ['client', 'req/s', 'client CPU µs/req', 'CPU ÷ raw fetch', 'latency ÷ raw fetch'],
        [...runs].map(([name, r]) => [
          name,
          median(rps(r), 0),
          median(cpu(r)),
          times(costlier(r, raw)),
          times(faster(raw, r)),
        ]),
      );
      console.log(`\nThe origin answered ${num(seen)} requests here: every request reached it.\n`);
      if (path === 'reval')
        ratios.push(
          named(
            'client revalidation on loopback: etagkit ÷ raw fetch, client CPU',
            costlier(runs.get(REVALIDATORS[2])!, raw),
            {
              atMost: 2,
            },
          ),
        );
    }

    if (options.quick) return ratios; // the memory table has no bound: full runs only
    console.log(
      `### Memory per cached entry (${MEMORY_ENTRIES.toLocaleString('en-US')} entries, 10-byte bodies)\n`,
    );
    const memoryRows: string[][] = [];
    for (const name of [
      'etagkit (memoryStore)',
      'undici fetch + cache interceptor (memory)',
      'got + cacheable-request (Map)',
    ]) {
      const { perEntry, refetched } = await child<{ perEntry: number; refetched: number }>(
        ['--memory', name, base],
        ['--expose-gc'],
      );
      memoryRows.push([name, num(perEntry, 0), `${refetched}`]);
    }
    table(['client', 'bytes per entry', 'origin requests re-reading 100 entries'], memoryRows);
    return ratios;
  } finally {
    origin.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Regression floors for `--check` (etagkit ÷ peer, req/s), with room below what a loaded machine measures. */
const FRESH_FLOORS: Record<string, number> = {
  'undici fetch + cache interceptor (memory)': 3,
  'undici request() + cache interceptor (memory)': 1.3,
  'make-fetch-happen (cacache on disk)': 8,
};

if (import.meta.main) {
  if (process.argv[2] === '--origin') serveOrigin();
  else if (process.argv[2] === '--memory') await measureMemory(process.argv[3]!, process.argv[4]!);
  else if (process.argv[2] === '--revalidation')
    await measureRevalidation(
      process.argv[3]!,
      process.argv[4]!,
      Number(process.argv[5]),
      Number(process.argv[6]),
    );
}
