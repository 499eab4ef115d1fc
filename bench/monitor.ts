/**
 * `npm run bench -- monitor`: the change monitor against a local origin in its own process, side by side in one
 * run with two baseline pollers written here, over the same change trace:
 *
 * - "unconditional": GET every URL and compare digests, as changedetection.io does (no If-None-Match at all);
 * - "own-clock IMS": If-Modified-Since with the poller's own clock at its last fetch, as urlwatch does.
 *
 * Trace: URLS URLs of 2 KB; before each pass ~1 % of them change. 85 % send ETag + Last-Modified, 10 %
 * Last-Modified only, 5 % an ETag that changes on every response (with Last-Modified). A changed page's
 * Last-Modified is its deploy's file time, an hour before the change (files copied with their mtimes): a server
 * compares that with the client's own clock and answers 304 — the own-clock poller's blind spot.
 *
 * Passes are interleaved (the contenders' order rotates each pass) after WARMUP passes (the first fetch, and the
 * two verified 304s before etagkit trusts a URL). The origin counts every byte it writes and its own CPU.
 * Also: adaptive vs fixed intervals on a simulated three days (virtual clock; the origin's content is a function of
 * it), and 100,000 watches loaded and scheduled in a child process (RSS, scheduler cost per check).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { evaluatePreconditions, formatHttpDate, parseHttpDate } from '../src/core/index.ts';
import { createMonitor, type Monitor } from '../src/monitor/index.ts';
import { hash32 } from '../src/monitor/schedule.ts';
import { Scheduler } from '../src/monitor/scheduler.ts';
import type { BenchOptions, Ratio } from './support/bench.ts';
import { cpuTimeMicros } from './support/cpu.ts';
import { median, num, table, times } from './support/format.ts';
import { named, pairedRatio, type Spread, spread } from './support/rounds.ts';

const self = fileURLToPath(import.meta.url);
const WARMUP = 4;
const CONCURRENCY = 64;
const BODY_FILLER = 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(36).slice(0, 2000);

type Kind = 'etag' | 'date' | 'unstable';
const kindOf = (i: number): Kind => (i % 20 === 0 ? 'unstable' : i % 20 <= 2 ? 'date' : 'etag');

/** The origin process: /u/i (the pass trace), /a/i (the adaptive trace, on a virtual clock), control endpoints. */
function serveOrigin(urls: number): void {
  const version = new Uint32Array(urls);
  const modified = new Array<string>(urls).fill(formatHttpDate(Date.now() - 86_400_000));
  let clock = 0; // virtual time of the adaptive trace
  let unstable = 0;
  const live = new Set<Socket>();
  const written = new WeakMap<Socket, number>();
  const count = { bytes: 0, n200: 0, n304: 0, b200: 0, b304: 0 };
  const server: Server = createServer((req, res) => {
    const [path = '', query = ''] = (req.url ?? '').split('?');
    if (path === '/_pass') {
      const pass = Number(query.split('=')[1]);
      const changed: number[] = [];
      for (let i = 0; i < urls; i++)
        if (hash32(`${i}:${pass}`) % 100 === 0) {
          version[i]!++;
          modified[i] = formatHttpDate(Date.now() - 3_600_000);
          changed.push(i);
        }
      return res.end(JSON.stringify(changed));
    }
    if (path === '/_clock') {
      clock = Number(query.split('=')[1]);
      return res.end();
    }
    if (path === '/_stats') {
      const snapshot = { ...count, cpu: process.cpuUsage() };
      for (const key of Object.keys(count) as (keyof typeof count)[]) count[key] = 0;
      return res.end(JSON.stringify(snapshot));
    }
    const [, space, n] = path.split('/');
    const i = Number(n);
    let body: string;
    let etag: string | undefined;
    let lastModified: string;
    if (space === 'a') {
      // Adaptive trace: URL i changes every period(i) of virtual time.
      const period = ADAPTIVE_PERIODS[i % ADAPTIVE_PERIODS.length]!;
      const v = Number.isFinite(period) ? Math.floor((clock + (hash32(`a${i}`) % 3_600_000)) / period) : 0;
      body = `adaptive ${i} version ${v}\n${BODY_FILLER}`;
      etag = `"a${i}-${v}"`;
      lastModified = formatHttpDate(Date.UTC(2026, 0, 1) + v * 1000);
    } else {
      body = `item ${i} version ${version[i]}\n${BODY_FILLER}`;
      const kind = kindOf(i);
      etag = kind === 'etag' ? `"${i}-${version[i]}"` : kind === 'unstable' ? `"r${++unstable}"` : undefined;
      lastModified = modified[i]!;
    }
    const decision = evaluatePreconditions(
      { method: 'GET', headers: req.headers },
      { etag, lastModified: parseHttpDate(lastModified), lastModifiedIsStrong: true },
    );
    const headers: Record<string, string> = { 'last-modified': lastModified, 'cache-control': 'no-cache' };
    if (etag) headers.etag = etag;
    const socket = req.socket;
    res.on('finish', () => {
      const delta = socket.bytesWritten - (written.get(socket) ?? 0);
      written.set(socket, socket.bytesWritten);
      count.bytes += delta;
      if (res.statusCode === 304) {
        count.n304++;
        count.b304 += delta;
      } else {
        count.n200++;
        count.b200 += delta;
      }
    });
    if (decision.action === 'not-modified') return res.writeHead(304, headers).end();
    res.writeHead(200, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(body);
  });
  server.on('connection', (s) => {
    live.add(s);
    s.on('close', () => live.delete(s));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
}

const HOUR = 3_600_000;
/** Change periods of the adaptive trace: hourly to never. */
const ADAPTIVE_PERIODS = [HOUR, 6 * HOUR, 24 * HOUR, 7 * 24 * HOUR, Number.POSITIVE_INFINITY];

interface OriginStats {
  bytes: number;
  n200: number;
  n304: number;
  b200: number;
  b304: number;
  cpu: { user: number; system: number };
}

async function startOrigin(
  urls: number,
): Promise<{ child: ChildProcess; base: string; get(path: string): Promise<string> }> {
  const child = spawn(process.execPath, [self], {
    env: { ...process.env, MONITOR_BENCH_ORIGIN: String(urls) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  const base = `http://127.0.0.1:${port}`;
  const agent = new Agent();
  return {
    child,
    base,
    get: async (path) => (await request(`${base}${path}`, { dispatcher: agent })).body.text(),
  };
}

/** A poller: one pass over all URLs, resolving with the indexes it saw change. */
type Poller = { pass(): Promise<number[]>; close(): Promise<void> };

async function pool(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

function baseline(base: string, urls: number, ownClockIms: boolean): Poller {
  const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 60_000 });
  const digests: (string | undefined)[] = new Array(urls);
  const fetchedAt: number[] = new Array(urls);
  return {
    async pass() {
      const changed: number[] = [];
      await pool(urls, async (i) => {
        const headers: Record<string, string> = {};
        if (ownClockIms && fetchedAt[i] !== undefined)
          headers['if-modified-since'] = formatHttpDate(fetchedAt[i]!);
        const sentAt = Date.now();
        const res = await request(`${base}/u/${i}`, { dispatcher: agent, headers });
        if (res.statusCode === 304) return void (await res.body.dump());
        const digest = createHash('sha256')
          .update(Buffer.from(await res.body.arrayBuffer()))
          .digest('hex');
        fetchedAt[i] = sentAt;
        if (digests[i] !== undefined && digests[i] !== digest) changed.push(i);
        digests[i] = digest;
      });
      return changed;
    },
    close: () => agent.close(),
  };
}

async function etagkitPoller(
  base: string,
  urls: number,
  dir: string,
): Promise<Poller & { monitor: Monitor }> {
  const monitor = await createMonitor({
    db: join(dir, 'bench.db'),
    concurrency: CONCURRENCY,
    perHost: CONCURRENCY,
  });
  await Promise.all(Array.from({ length: urls }, (_, i) => monitor.add(`${base}/u/${i}`)));
  return {
    monitor,
    async pass() {
      const events = await monitor.checkNow();
      const failed = events.filter((e) => e.status === 'error');
      if (failed.length) throw new Error(`etagkit: ${failed.length} errors, first: ${failed[0]!.error}`);
      return events.filter((e) => e.status === 'changed').map((e) => Number(e.url.split('/').at(-1)));
    },
    close: () => monitor.close(),
  };
}

interface PassResult {
  rate: number;
  clientCpu: number;
  originCpu: number;
  bytes: number;
  ideal: number;
  detected: number;
  missed: number;
  falseChanges: number;
  falseOnUnstable: number;
}

export async function run(options: BenchOptions): Promise<Ratio[]> {
  const urls = options.quick ? 2000 : 10_000;
  const passes = options.quick ? 3 : 6;
  const dir = mkdtempSync(join(tmpdir(), 'etagkit-bench-monitor-'));
  const origin = await startOrigin(urls);
  const pollers: Record<string, Poller> = {
    etagkit: await etagkitPoller(origin.base, urls, dir),
    unconditional: baseline(origin.base, urls, false),
    'own-clock IMS': baseline(origin.base, urls, true),
  };
  const names = Object.keys(pollers);
  const results = new Map<string, PassResult[]>(names.map((n) => [n, []]));
  const stats = async () => JSON.parse(await origin.get('/_stats')) as OriginStats;
  try {
    for (let pass = 0; pass < WARMUP + passes; pass++) {
      const changed = new Set(JSON.parse(await origin.get(`/_pass?n=${pass}`)) as number[]);
      process.stderr.write(`monitor: pass ${pass + 1}/${WARMUP + passes} (${changed.size} changed)\n`);
      for (let k = 0; k < names.length; k++) {
        const name = names[(pass + k) % names.length]!;
        await stats();
        const originBefore = cpuTimeMicros(origin.child.pid!) ?? 0;
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        const seen = await pollers[name]!.pass();
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuBefore);
        const s = await stats();
        if (pass < WARMUP) continue;
        const detected = seen.filter((i) => changed.has(i)).length;
        const avg200 = s.n200 ? s.b200 / s.n200 : 0;
        const avg304 = s.n304 ? s.b304 / s.n304 : 0;
        results.get(name)!.push({
          rate: urls / seconds,
          clientCpu: (cpu.user + cpu.system) / urls,
          originCpu: ((cpuTimeMicros(origin.child.pid!) ?? 0) - originBefore) / urls,
          bytes: s.bytes,
          // The least any poller can receive: a 200 for each changed URL, a 304 for every other.
          ideal: changed.size * (avg200 || 2200) + (urls - changed.size) * (avg304 || 150),
          detected,
          missed: changed.size - detected,
          falseChanges: seen.length - detected,
          falseOnUnstable: seen.filter((i) => !changed.has(i) && kindOf(i) === 'unstable').length,
        });
      }
    }
  } finally {
    for (const poller of Object.values(pollers)) await poller.close();
  }

  const of = (name: string, key: keyof PassResult) => results.get(name)!.map((r) => r[key]);
  console.log(
    `${urls.toLocaleString('en-US')} URLs of 2 KB, ~1 % changing per pass, ${passes} measured passes after ${WARMUP} warm-up passes, interleaved; ${CONCURRENCY} requests in flight; origin in its own process (CPU from /proc). Medians (range over passes).\n`,
  );
  table(
    [
      'poller',
      'checks/s',
      'client CPU µs/check',
      'origin CPU µs/check',
      'origin CPU share',
      'bytes/pass',
      'changes seen',
      'missed',
      'false',
    ],
    names.map((name) => {
      const share = spread(results.get(name)!.map((r) => r.originCpu / (r.originCpu + r.clientCpu)));
      const sum = (key: keyof PassResult) => of(name, key).reduce((a, b) => a + b, 0);
      return [
        name,
        median(spread(of(name, 'rate'))),
        median(spread(of(name, 'clientCpu'))),
        median(spread(of(name, 'originCpu'))),
        `${num(share.median * 100)} %`,
        median(spread(of(name, 'bytes'))),
        String(sum('detected')),
        String(sum('missed')),
        `${sum('falseChanges')} (${sum('falseOnUnstable')} on unstable ETags)`,
      ];
    }),
  );
  const ideal = pairedRatio(of('etagkit', 'bytes'), of('etagkit', 'ideal'));
  const vsUnconditional = pairedRatio(of('unconditional', 'bytes'), of('etagkit', 'bytes'));
  const vsIms = pairedRatio(of('own-clock IMS', 'bytes'), of('etagkit', 'bytes'));
  const rate = spread(of('etagkit', 'rate'));
  console.log(
    `\nBytes: etagkit ÷ ideal (a 200 per changed URL, a 304 per other, as this origin sends them) ${times(ideal)}; unconditional ÷ etagkit ${times(vsUnconditional)}; own-clock IMS ÷ etagkit ${times(vsIms)}.`,
  );
  console.log(
    `Proven URLs are verified once a day (truthIntervalMs): at a 5-minute interval that adds one full body per URL per 288 checks, not seen in this short run.\n`,
  );

  const adaptive = await adaptiveTrace(origin, dir, options.quick);
  const scale = await scaleCheck(options.quick ? 20_000 : 100_000, dir);
  origin.child.kill();
  rmSync(dir, { recursive: true, force: true });
  return [
    named('monitor: etagkit conditional checks/s (target ≥ 5,000)', rate, {
      atLeast: options.quick ? 1000 : 2500,
    }),
    named('monitor: bytes ÷ ideal conditional poller (target ≤ 1.05)', ideal, { atMost: 1.1 }),
    named('monitor: unconditional poller bytes ÷ etagkit', vsUnconditional, { atLeast: 3 }),
    named('monitor: own-clock IMS poller bytes ÷ etagkit', vsIms),
    ...adaptive,
    ...scale,
  ];
}

/** Fixed vs adaptive intervals over a simulated span, on a virtual clock shared with the origin. */
async function adaptiveTrace(
  origin: Awaited<ReturnType<typeof startOrigin>>,
  dir: string,
  quick: boolean,
): Promise<Ratio[]> {
  const urls = quick ? 100 : 250;
  const span = (quick ? 1 : 3) * 24 * HOUR;
  const fixedInterval = 30 * 60_000;
  const rows: string[][] = [];
  const found: Record<string, { requests: number; delays: number[]; changes: number }> = {};
  for (const mode of ['fixed', 'adaptive'] as const) {
    let clock = Date.UTC(2026, 0, 1);
    const start = clock;
    const monitor = await createMonitor({
      db: join(dir, `adaptive-${mode}.db`),
      now: () => clock,
      concurrency: CONCURRENCY,
      perHost: CONCURRENCY,
      intervalMs: fixedInterval,
      adaptive: mode === 'adaptive',
      minIntervalMs: 5 * 60_000,
      maxIntervalMs: 24 * HOUR,
    });
    await Promise.all(Array.from({ length: urls }, (_, i) => monitor.add(`${origin.base}/a/${i}`)));
    const result = { requests: 0, delays: [] as number[], changes: 0 };
    monitor.on('check', (e) => {
      result.requests += e.requests;
      if (e.status !== 'changed') return;
      const i = Number(e.url.split('/').at(-1));
      const period = ADAPTIVE_PERIODS[i % ADAPTIVE_PERIODS.length]!;
      const offset = hash32(`a${i}`) % 3_600_000;
      const changedAt = Math.floor((clock - start + offset) / period) * period - offset + start;
      result.delays.push(clock - changedAt);
    });
    // Minute ticks: every watch due by now is checked at this virtual time.
    while (clock < start + span) {
      await origin.get(`/_clock?t=${clock - start}`);
      const due = (await monitor.list()).filter((w) => w.state.nextDueAt <= clock);
      await Promise.all(due.map((w) => monitor.checkNow(w.definition.url)));
      clock += 60_000;
    }
    // Changes that happened in the span, per URL: floor((span + offset) / period) boundaries after the first fetch.
    for (let i = 0; i < urls; i++) {
      const period = ADAPTIVE_PERIODS[i % ADAPTIVE_PERIODS.length]!;
      if (Number.isFinite(period)) {
        const offset = hash32(`a${i}`) % 3_600_000;
        result.changes += Math.floor((span + offset) / period) - Math.floor(offset / period);
      }
    }
    await monitor.close();
    found[mode] = result;
    const delays = spread(result.delays.length ? result.delays : [0]);
    rows.push([
      mode === 'fixed' ? `fixed ${fixedInterval / 60_000} min` : 'adaptive (5 min – 1 day)',
      result.requests.toLocaleString('en-US'),
      `${result.delays.length} of ${result.changes}`,
      `${num(delays.median / 60_000)} min`,
    ]);
  }
  console.log(
    `Adaptive intervals: ${urls} URLs changing hourly, every 6 h, daily, weekly or never (a fifth each), ${span / (24 * HOUR)} simulated days on a virtual clock (minute ticks).\n`,
  );
  table(['schedule', 'requests', 'changes seen', 'median detection delay'], rows);
  console.log('');
  const requests = found.adaptive!.requests / found.fixed!.requests;
  return [named('monitor: adaptive ÷ fixed requests', { median: requests, low: requests, high: requests })];
}

/** 100,000 watches loaded and scheduled, in a child process so that its RSS is the monitor's own. */
async function scaleCheck(watches: number, dir: string): Promise<Ratio[]> {
  const inChild = async (env: Record<string, string>) => {
    const child = spawn(process.execPath, ['--expose-gc', self], {
      env: {
        ...process.env,
        MONITOR_BENCH_SCALE: String(watches),
        MONITOR_BENCH_DB: join(dir, 'scale.db'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    await new Promise((resolve) => child.once('exit', resolve));
    return JSON.parse(out);
  };
  // Adding in one process, loading in a fresh one: the RSS is that of a monitor started on 100,000 watches.
  const r = { ...(await inChild({ MONITOR_BENCH_ADD: '1' })), ...(await inChild({})) } as {
    addMs: number;
    loadMs: number;
    rssMb: number;
    schedulerUs: number;
    heapMb: number;
  };
  console.log(
    `${watches.toLocaleString('en-US')} watches: added in ${num(r.addMs)} ms, loaded and scheduled by a new monitor in ${num(r.loadMs)} ms; RSS ${num(r.rssMb)} MB (heap ${num(r.heapMb)} MB; target < 300 MB); scheduler cost ${num(r.schedulerUs, 2)} µs per check (heap, per-host limits and timer, with a no-op check).\n`,
  );
  const rss: Spread = { median: r.rssMb, low: r.rssMb, high: r.rssMb };
  return [named(`monitor: RSS MB with ${watches} watches scheduled (target < 300)`, rss, { atMost: 300 })];
}

async function scale(watches: number, db: string): Promise<void> {
  if (process.env.MONITOR_BENCH_ADD) {
    const started = performance.now();
    const first = await createMonitor({ db, intervalMs: 86_400_000 });
    await Promise.all(
      Array.from({ length: watches }, (_, i) => first.add(`http://127.0.0.1:9/w/${i % 1000}/${i}`)),
    );
    await first.close();
    return console.log(JSON.stringify({ addMs: performance.now() - started }));
  }
  const loading = performance.now();
  const monitor = await createMonitor({ db, intervalMs: 86_400_000 });
  await monitor.list();
  await monitor.start();
  const loadMs = performance.now() - loading;
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  await monitor.close();
  // Scheduler cost alone: every watch due now, a check that does nothing, 1,000 hosts.
  const scheduler = new Scheduler({
    concurrency: 64,
    perHost: 2,
    perHostRate: 0,
    now: Date.now,
    run: async () => ({ nextDueAt: undefined, hostRetryAt: undefined }),
  });
  const now = Date.now();
  const timed = performance.now();
  for (let i = 0; i < watches; i++) scheduler.schedule(i, `h${i % 1000}`, now);
  scheduler.start();
  await scheduler.drained();
  const schedulerUs = ((performance.now() - timed) * 1000) / watches;
  console.log(JSON.stringify({ loadMs, rssMb: rss / 2 ** 20, heapMb: heapUsed / 2 ** 20, schedulerUs }));
}

if (process.env.MONITOR_BENCH_ORIGIN) serveOrigin(Number(process.env.MONITOR_BENCH_ORIGIN));
if (process.env.MONITOR_BENCH_SCALE)
  await scale(Number(process.env.MONITOR_BENCH_SCALE), process.env.MONITOR_BENCH_DB!);
