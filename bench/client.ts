/**
 * `npm run bench -- client`: the caching fetch side by side with the undici cache interceptor, make-fetch-happen
 * and got + cacheable-request, against a local origin running in a child process.
 *
 * - fresh-hit throughput: `await f(url); await res.arrayBuffer()` in a loop on a fresh stored response;
 * - revalidation round trip: every request revalidated (304), against a raw fetch with a hand-set If-None-Match
 *   (and that raw fetch followed by building and reading a Response of the stored 1 KiB body), in a process of
 *   its own, each round's latency compared with raw fetch's in the same round;
 * - memory per cached entry: heap + array buffers delta over 10,000 small entries, each client in its own process;
 * - etagkit with the SQLite and Redis stores: fresh hits, and revalidations with and without the lease;
 * - a stale-key stampede over Redis: MACHINES clients, each with its own connection, × CALLERS concurrent requests
 *   for one stale entry, with and without the revalidation lease.
 *
 * Each cell runs BENCH_SECONDS (default 5) seconds. The origin counts the requests it sees, so a "hit" that went
 * to the network shows up in the table.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = 5;
const MEMORY_ENTRIES = 10_000;
const MACHINES = 4;
const CALLERS = 25;
const BODY = 'x'.repeat(1024);
const self = fileURLToPath(import.meta.url);

type Get = (url: string) => Promise<unknown>;

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

/** Requests per second of `get(url)` run back to back for `seconds`, after a warm-up. */
async function throughput(get: Get, url: string, seconds = SECONDS): Promise<number> {
  for (let i = 0; i < 200; i++) await get(url);
  const start = performance.now();
  const end = start + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) await get(url);
    n += 50;
  }
  return n / ((performance.now() - start) / 1000);
}

/**
 * Requests per second of each contender, measured in `rounds` interleaved slices of SECONDS / `rounds` each, so
 * that a burst of load from elsewhere on the machine hits every contender alike. Returns each contender's rate in
 * every round.
 */
async function interleaved(
  contenders: [string, Get][],
  url: string,
  rounds = ROUNDS,
): Promise<Map<string, number[]>> {
  const rates = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++)
    for (const [name, get] of contenders) rates.get(name)!.push(await throughput(get, url, SECONDS / rounds));
  return rates;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function originCounts(base: string): Promise<Record<string, number>> {
  const res = await fetch(`${base}/counts`);
  const counts = (await res.json()) as Record<string, number>;
  delete counts.counts;
  return counts;
}

/** One caching client per competitor, each with a cold cache. */
async function clients(
  tmp: string,
): Promise<Record<string, () => Promise<{ get: Get; close?: () => Promise<void> }>>> {
  const { createFetch } = await import('../src/client/index.ts');
  return {
    etagkit: async () => {
      const f = createFetch();
      return { get: async (url) => (await f(url)).arrayBuffer() };
    },
    'undici cache interceptor': async () => {
      const undici = await import('undici');
      // maxCount raised from its default of 1,024 so the memory cell really holds every entry.
      const store = new undici.cacheStores.MemoryCacheStore({ maxCount: 1_000_000 });
      const dispatcher = new undici.Agent().compose(undici.interceptors.cache({ store }));
      return {
        get: async (url) => (await undici.fetch(url, { dispatcher })).arrayBuffer(),
        close: () => dispatcher.close(),
      };
    },
    'make-fetch-happen': async () => {
      // make-fetch-happen ships no types: describe the one call used here.
      const specifier = 'make-fetch-happen';
      const { default: makeFetchHappen } = (await import(specifier)) as {
        default: { defaults(options: { cachePath: string }): (url: string) => Promise<Response> };
      };
      const f = makeFetchHappen.defaults({ cachePath: mkdtempSync(join(tmp, 'mfh-')) });
      return { get: async (url) => (await f(url)).arrayBuffer() };
    },
    'got + cacheable-request': async () => {
      const { default: got } = await import('got');
      const cache = new Map();
      return { get: async (url) => got(url, { cache }).buffer() };
    },
  };
}

/** etagkit on each persistent store, each client with a store of its own; `revalidationLeaseMs` as given. */
async function storeClients(
  tmp: string,
): Promise<Record<string, (leaseMs?: number) => Promise<{ get: Get; close: () => Promise<void> }>>> {
  const { createFetch } = await import('../src/client/index.ts');
  let n = 0;
  return {
    'etagkit + sqliteStore': async (revalidationLeaseMs) => {
      const { sqliteStore } = await import('../src/client/stores/sqlite.ts');
      const store = sqliteStore(join(tmp, `bench-${n++}.db`));
      const f = createFetch({ store, revalidationLeaseMs });
      return { get: async (url) => (await f(url)).arrayBuffer(), close: () => store.close() };
    },
    'etagkit + redisStore': async (revalidationLeaseMs) => {
      const { redisStore } = await import('../src/client/stores/redis.ts');
      const store = redisStore('redis://127.0.0.1:6379', { prefix: `etagkit-bench-${process.pid}-${n++}:` });
      const f = createFetch({ store, revalidationLeaseMs });
      return { get: async (url) => (await f(url)).arrayBuffer(), close: () => store.close() };
    },
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
  const { createFetch } = await import('../src/client/index.ts');
  const { redisStore } = await import('../src/client/stores/redis.ts');
  const prefix = `etagkit-bench-stampede-${process.pid}-${leaseMs}:`;
  const stores = Array.from({ length: MACHINES }, () => redisStore('redis://127.0.0.1:6379', { prefix }));
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

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

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

/**
 * Twice the rounds of the other sections, and each round's latency compared with raw fetch's in the same round:
 * loopback latency drifts by ±20 % over seconds, which a mean over rounds would fold into the ratio.
 */
const REVAL_ROUNDS = 2 * ROUNDS;

/** Child process: every request revalidated, each contender in turn; prints each one's rate in every round. */
async function measureRevalidation(base: string, path: string): Promise<void> {
  const { createFetch } = await import('../src/client/index.ts');
  const cached = createFetch();
  const undici = await import('undici');
  const dispatcher = new undici.Agent().compose(undici.interceptors.cache());
  const stored = new TextEncoder().encode(BODY);
  const contenders: [string, Get][] = [
    [
      'raw fetch + hand-set If-None-Match',
      async (url) => (await fetch(url, { headers: { 'if-none-match': '"r1"' } })).arrayBuffer(),
    ],
    [
      'raw fetch + If-None-Match, then `new Response(stored 1 KiB)` read',
      async (url) => {
        await (await fetch(url, { headers: { 'if-none-match': '"r1"' } })).arrayBuffer();
        return new Response(stored).arrayBuffer();
      },
    ],
    ['etagkit (304 → stored 200)', async (url) => (await cached(url)).arrayBuffer()],
    ['undici cache interceptor', async (url) => (await undici.fetch(url, { dispatcher })).arrayBuffer()],
  ];
  const rates = await interleaved(contenders, `${base}/${path}/1`, REVAL_ROUNDS);
  await dispatcher.close();
  process.stdout.write(`${JSON.stringify([...rates])}\n`);
  process.exit(0);
}

async function revalidationRates(base: string, path: string): Promise<Map<string, number[]>> {
  const child = spawn(process.execPath, [self, '--revalidation', base, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await new Promise((resolve) => child.once('exit', resolve));
  return new Map(JSON.parse(out.trim().split('\n').pop() ?? '[]') as [string, number[]][]);
}

async function memoryOf(name: string, base: string): Promise<{ perEntry: number; refetched: number }> {
  const child = spawn(process.execPath, ['--expose-gc', self, '--memory', name, base], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  // got + a Map cache warns about a listener leak once per request; keep every other line of stderr.
  child.stderr.on('data', (d: Buffer) => {
    const lines = d
      .toString()
      .split('\n')
      .filter((l) => l.trim() && !l.includes('MaxListenersExceededWarning'));
    if (lines.length) process.stderr.write(`${lines.join('\n')}\n`);
  });
  await new Promise((resolve) => child.once('exit', resolve));
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { perEntry: number; refetched: number };
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

export async function run(): Promise<void> {
  quietKeyvListenerWarnings();
  const { base, child } = await startOrigin();
  const tmp = mkdtempSync(join(tmpdir(), 'etagkit-bench-'));
  try {
    console.log(`Local origin in a child process; ${SECONDS} s per cell; Node ${process.version}.\n`);

    console.log('### Fresh-hit throughput (1 KiB body, sequential requests)\n');
    console.log(`${ROUNDS} interleaved rounds of ${SECONDS / ROUNDS} s per client.\n`);
    const made: [string, { get: Get; close?: () => Promise<void> }][] = [];
    for (const [name, make] of Object.entries(await clients(tmp))) made.push([name, await make()]);
    await originCounts(base);
    const freshRounds = await interleaved(
      made.map(([name, client]) => [name, client.get]),
      `${base}/fresh/1`,
    );
    const freshRps = new Map([...freshRounds].map(([name, rates]) => [name, mean(rates)]));
    const freshSeen = (await originCounts(base)).fresh ?? 0;
    for (const [, client] of made) await client.close?.();
    const undiciRps = freshRps.get('undici cache interceptor')!;
    const mfhRps = freshRps.get('make-fetch-happen')!;
    console.log('| client | req/s | vs undici | vs make-fetch-happen |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [name, rps] of freshRps)
      console.log(`| ${name} | ${fmt(rps)} | ${ratio(rps, undiciRps)} | ${ratio(rps, mfhRps)} |`);
    console.log(
      `\nThe origin answered ${freshSeen} requests in this section (one per client to fill its cache): every other request was a cache hit.`,
    );

    console.log('\n### Fresh-hit throughput with persistent stores\n');
    console.log('| client | req/s | vs etagkit memory | origin requests |');
    console.log('| --- | ---: | ---: | ---: |');
    const memoryRps = freshRps.get('etagkit')!;
    for (const [name, make] of Object.entries(await storeClients(tmp))) {
      try {
        const client = await make();
        await originCounts(base);
        const rps = await throughput(client.get, `${base}/fresh/2`);
        const seen = (await originCounts(base)).fresh ?? 0;
        await client.close();
        console.log(`| ${name} | ${fmt(rps)} | ${ratio(rps, memoryRps)} | ${seen} |`);
      } catch (error) {
        console.log(`| ${name} | n/a (${(error as Error).message}) | | |`);
      }
    }

    console.log('\n### Revalidation with persistent stores: what the lease costs\n');
    console.log(
      'Every request revalidates a `max-age=0` response (origin answers 304), sequential requests.\n',
    );
    console.log(
      '| store | lease on (default), req/s | lease off, req/s | cost of the lease per revalidation (µs) |',
    );
    console.log('| --- | ---: | ---: | ---: |');
    for (const [name, make] of Object.entries(await storeClients(tmp))) {
      try {
        const withLease = await make();
        const without = await make(0);
        const rates = await interleaved(
          [
            ['on', withLease.get],
            ['off', without.get],
          ],
          `${base}/stale/${name.length}`,
        );
        await Promise.all([withLease.close(), without.close()]);
        const on = mean(rates.get('on')!);
        const off = mean(rates.get('off')!);
        console.log(`| ${name} | ${fmt(on)} | ${fmt(off)} | ${(1e6 / on - 1e6 / off).toFixed(0)} |`);
      } catch (error) {
        console.log(`| ${name} | n/a (${(error as Error).message}) | | |`);
      }
    }

    console.log(
      `\n### Stale stampede over Redis (${MACHINES} machines × ${CALLERS} concurrent requests, revalidation answered after 50 ms)\n`,
    );
    console.log('| revalidation lease | origin requests | median latency (ms) | slowest (ms) |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [label, leaseMs] of [
      ['off (`revalidationLeaseMs: 0`): one per machine', 0],
      ['on (default with Redis, 5 s)', 5_000],
    ] as const) {
      const result = await stampede(base, leaseMs);
      if (typeof result === 'string') console.log(`| ${label} | n/a (${result}) | | |`);
      else
        console.log(
          `| ${label} | ${result.originRequests} | ${median(result.latencies).toFixed(1)} | ${Math.max(...result.latencies).toFixed(1)} |`,
        );
    }
    console.log(
      '\nWithin one machine concurrent requests always share one revalidation; the lease makes the other machines' +
        ' wait for its result in the store (polled after 5 ms, then a quarter longer each time, at most every 50 ms) instead of asking the origin too.',
    );

    console.log('\n### Revalidation round trip (every request revalidated, origin answers 304)\n');
    console.log(
      'Measured in a child process of its own, so that the heap left by the sections above weighs on no row.\n',
    );
    for (const path of ['reval', 'reval-1ms']) {
      await originCounts(base);
      const revalRounds = await revalidationRates(base, path);
      const revalSeen = (await originCounts(base))[path] ?? 0;
      const raw = [...revalRounds.values()][0]!;
      console.log(
        path === 'reval'
          ? `#### Loopback origin (answers at once)\n\n${REVAL_ROUNDS} interleaved rounds of ${SECONDS / REVAL_ROUNDS} s per client.\n`
          : '\n#### Origin 1 ms away (answers after a 1 ms timer)\n',
      );
      console.log('| client | req/s | mean latency (µs) | latency vs raw fetch, median of rounds (range) |');
      console.log('| --- | ---: | ---: | ---: |');
      for (const [name, rates] of revalRounds) {
        const ratios = rates.map((rps, i) => raw[i]! / rps);
        const spread = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
        const rps = mean(rates);
        console.log(
          `| ${name} | ${fmt(rps)} | ${fmt(1e6 / rps)} | ${median(ratios).toFixed(2)}× (${spread}) |`,
        );
      }
      console.log(`\nThe origin answered ${fmt(revalSeen)} requests here: every request reached it.`);
      if (path === 'reval')
        console.log(
          '\nThe first three rows share the global dispatcher (one keep-alive connection) and read the body they' +
            " get: the raw 304 has none, etagkit's answer is the stored 200 with its 1 KiB body. The second row" +
            ' builds and reads a Response of the stored body after the raw 304, as a cache built on plain' +
            ' `Response` objects would.',
        );
    }

    console.log(
      `\n### Memory per cached entry (${MEMORY_ENTRIES.toLocaleString('en-US')} entries, 10-byte bodies)\n`,
    );
    console.log('| client | bytes per entry | origin requests re-reading 100 entries |');
    console.log('| --- | ---: | ---: |');
    for (const name of ['etagkit', 'undici cache interceptor', 'got + cacheable-request']) {
      const { perEntry, refetched } = await memoryOf(name, base);
      console.log(`| ${name} | ${fmt(perEntry)} | ${refetched} |`);
    }
  } finally {
    child.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  if (process.argv[2] === '--origin') serveOrigin();
  else if (process.argv[2] === '--memory') await measureMemory(process.argv[3]!, process.argv[4]!);
  else if (process.argv[2] === '--revalidation')
    await measureRevalidation(process.argv[3]!, process.argv[4]!);
  else await run();
}
