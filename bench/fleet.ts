/**
 * `npm run bench -- fleet`: the monitor as a fleet (BullMQ workers, PostgreSQL history) against the single-process
 * monitor on the same history back-end and the same trace (bench/monitor.ts's origin, in its own process: 2 KB
 * pages, ~1 % changing per pass, 85 % ETag + Last-Modified, 10 % Last-Modified only, 5 % unstable ETags).
 *
 * Contenders, each with its own PostgreSQL schema (and queue prefix), interleaved pass by pass after two warm-up
 * passes (the first fetch, the verified 304s before a URL is trusted):
 * - "monitor": createMonitor() in this process, `checkNow()` over every URL, 64 checks in flight;
 * - "fleet × 1": one `etagkit watch --worker --concurrency 64` process; a FleetScheduler in this process enqueues;
 * - "fleet × 2": two worker processes of 32 each.
 * A fleet pass makes every watch due now and waits until the history holds one more check per URL.
 *
 * Redis is a private redis-server started here, so its CPU (INFO cpu) and command counts (INFO commandstats) are
 * the fleet's alone. PostgreSQL is the shared server: its CPU is not attributed here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';
import { defineWatch } from '../src/monitor/definition.ts';
import { connectRedis, loadFleetModules } from '../src/monitor/fleet/queue.ts';
import { FleetScheduler } from '../src/monitor/fleet/scheduler.ts';
import { syncWatchSet } from '../src/monitor/fleet/watch-set.ts';
import { postgresHistory } from '../src/monitor/history/postgres.ts';
import type { FleetHistoryStore } from '../src/monitor/history/store.ts';
import { createMonitor, type Monitor } from '../src/monitor/index.ts';
import type { BenchOptions, Ratio } from './support/bench.ts';
import { cpuTimeMicros } from './support/cpu.ts';
import { median, num, table } from './support/format.ts';
import { named, pairedRatio, spread } from './support/rounds.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const ORIGIN = fileURLToPath(new URL('./monitor.ts', import.meta.url));
const POSTGRES = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const WARMUP = 2;

interface Pass {
  rate: number;
  /** µs of CPU per check: the checking processes (monitor, or workers + scheduler). */
  cpu: number;
  redisCpu: number;
  redisCommands: number;
  redisScripts: number;
}

export async function run(options: BenchOptions): Promise<Ratio[]> {
  const urls = options.quick ? 1000 : 2500;
  const passes = options.quick ? 2 : 4;
  const run = `etagkit_bench_fleet_${process.pid}`;
  const origin = spawn(process.execPath, [ORIGIN], {
    env: { ...process.env, MONITOR_BENCH_ORIGIN: String(urls) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((r) =>
    origin.stdout!.once('data', (d: Buffer) => r(d.toString().trim())),
  );
  const base = `http://127.0.0.1:${port}`;
  const agent = new Agent();
  const get = async (path: string) => (await request(`${base}${path}`, { dispatcher: agent })).body.text();
  const redisPort = await freePort();
  const redisServer = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const { Redis } = await loadFleetModules();
  let redis: Awaited<ReturnType<typeof connectRedis>> | undefined;
  for (let i = 0; !redis; i++)
    redis = await connectRedis(Redis, redisUrl).catch((e) => (i > 50 ? Promise.reject(e) : undefined));
  const admin = new pg.Client({ connectionString: POSTGRES });
  await admin.connect();
  const children: ChildProcess[] = [origin, redisServer];
  const stores: FleetHistoryStore[] = [];
  const definitions = Array.from({ length: urls }, (_, i) => defineWatch(`${base}/u/${i}`));
  const redisInfo = async () => {
    const info = await redis!.info();
    const cpu =
      Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
    const stats = await redis!.info('commandstats');
    const calls = [...stats.matchAll(/calls=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    const scripts = [...stats.matchAll(/cmdstat_(?:evalsha|eval|fcall):calls=(\d+)/g)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
    return { cpu: cpu * 1e6, calls, scripts };
  };

  // The single-process monitor, on PostgreSQL too.
  const monitorStore = await postgresHistory(`${POSTGRES}?schema=${run}_m`);
  stores.push(monitorStore);
  const monitor: Monitor = await createMonitor({ db: monitorStore, concurrency: 64, perHost: 64 });
  await Promise.all(definitions.map((d) => monitor.add(d)));

  // The fleets: a schema, a queue prefix, worker processes and a scheduler each.
  const fleet = async (name: string, workers: number) => {
    const schema = `${run}_${name}`;
    const store = await postgresHistory(`${POSTGRES}?schema=${schema}`);
    stores.push(store);
    await syncWatchSet(store, definitions, Date.now() + 3_600_000);
    const scheduler = new FleetScheduler({
      store,
      redis: redis!,
      prefix: schema,
      targets: new Map(),
      retention: { maxChecks: 1000, maxAgeMs: 1e12 },
      tickMs: 50,
    });
    await scheduler.start();
    const procs = Array.from({ length: workers }, () => {
      const child = spawn(
        process.execPath,
        [
          MAIN,
          'watch',
          '--worker',
          '--redis',
          redisUrl,
          '--db',
          `${POSTGRES}?schema=${schema}`,
          '--queue-prefix',
          schema,
          '--concurrency',
          String(64 / workers),
          '--per-host',
          '64',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      children.push(child);
      return child;
    });
    await Promise.all(
      procs.map(
        (c) =>
          new Promise<void>((resolve) =>
            c.stderr!.on('data', (d: Buffer) => /worker:/.test(d.toString()) && resolve()),
          ),
      ),
    );
    const count = async () =>
      Number((await admin.query(`SELECT count(*) AS n FROM ${schema}.checks`)).rows[0].n);
    return {
      scheduler,
      async pass(): Promise<number> {
        const before = await count();
        await admin.query(
          `UPDATE ${schema}.watches SET state = jsonb_set(state, '{nextDueAt}', to_jsonb($1::bigint))`,
          [Date.now()],
        );
        while ((await count()) < before + urls) await new Promise((r) => setTimeout(r, 25));
        return procs.reduce((sum, c) => sum + (cpuTimeMicros(c.pid!) ?? 0), 0);
      },
      cpu: () => procs.reduce((sum, c) => sum + (cpuTimeMicros(c.pid!) ?? 0), 0),
    };
  };
  const fleets = { 'fleet × 1': await fleet('f1', 1), 'fleet × 2': await fleet('f2', 2) };
  const names = ['monitor', ...Object.keys(fleets)] as const;
  const results = new Map<string, Pass[]>(names.map((n) => [n, []]));
  try {
    for (let p = 0; p < WARMUP + passes; p++) {
      await get(`/_pass?n=${p}`);
      process.stderr.write(`fleet: pass ${p + 1}/${WARMUP + passes}\n`);
      for (let k = 0; k < names.length; k++) {
        const name = names[(p + k) % names.length]!;
        const r0 = await redisInfo();
        const self0 = process.cpuUsage();
        const started = performance.now();
        let workerCpu = 0;
        if (name === 'monitor') {
          const events = await monitor.checkNow();
          if (events.length !== urls) throw new Error(`monitor: ${events.length} checks`);
        } else {
          const f = fleets[name as keyof typeof fleets];
          const before = f.cpu();
          workerCpu = (await f.pass()) - before;
        }
        const seconds = (performance.now() - started) / 1000;
        const self = process.cpuUsage(self0);
        const r1 = await redisInfo();
        if (p < WARMUP) continue;
        // The fleet's own process here runs the scheduler and the pass's polling; the monitor runs here whole.
        results.get(name)!.push({
          rate: urls / seconds,
          cpu: (workerCpu + self.user + self.system) / urls,
          redisCpu: (r1.cpu - r0.cpu) / urls,
          redisCommands: (r1.calls - r0.calls - 4) / urls,
          redisScripts: (r1.scripts - r0.scripts) / urls,
        });
      }
    }
  } finally {
    await monitor.close();
    for (const f of Object.values(fleets)) await f.scheduler.stop();
    for (const child of children) child.kill();
    redis.disconnect();
    for (const store of stores) await store.close();
    for (const s of ['m', 'f1', 'f2']) await admin.query(`DROP SCHEMA IF EXISTS ${run}_${s} CASCADE`);
    await admin.end();
    await agent.close();
  }

  const of = (name: string, key: keyof Pass) => results.get(name)!.map((r) => r[key]);
  console.log(
    `${urls.toLocaleString('en-US')} URLs (bench/monitor.ts's trace and origin, in its own process), ${passes} measured passes after ${WARMUP} warm-up passes, interleaved; 64 checks in flight in every contender; history in PostgreSQL (shared server) for all three; Redis private to the run. Redis commands count those run inside Lua scripts; each script (BullMQ's moves, the host limit) is one round trip. CPU per check: the checking processes (the monitor; the workers plus this process, which runs the fleet's scheduler). Medians (range).\n`,
  );
  table(
    [
      'contender',
      'checks/s',
      'CPU µs/check',
      'Redis CPU µs/check',
      'Lua scripts/check',
      'Redis commands/check',
    ],
    names.map((name) => [
      name,
      median(spread(of(name, 'rate'))),
      median(spread(of(name, 'cpu'))),
      name === 'monitor' ? '—' : median(spread(of(name, 'redisCpu'))),
      name === 'monitor' ? '—' : median(spread(of(name, 'redisScripts'))),
      name === 'monitor' ? '—' : median(spread(of(name, 'redisCommands'))),
    ]),
  );
  const overhead = pairedRatio(of('fleet × 1', 'cpu'), of('monitor', 'cpu'));
  const withRedis = pairedRatio(
    of('fleet × 1', 'cpu').map((c, i) => c + of('fleet × 1', 'redisCpu')[i]!),
    of('monitor', 'cpu'),
  );
  const scaling = pairedRatio(of('fleet × 2', 'rate'), of('fleet × 1', 'rate'));
  console.log(
    `\nFleet CPU per check ÷ monitor's: ${num(overhead.median, 2)}× (${num(overhead.low, 2)}–${num(overhead.high, 2)}); with Redis's CPU: ${num(withRedis.median, 2)}×. Two workers ÷ one, checks/s: ${num(scaling.median, 2)}× (${num(scaling.low, 2)}–${num(scaling.high, 2)}).\n`,
  );
  return [
    named('fleet: CPU per check ÷ single-process monitor (target ≤ 2)', overhead, { atMost: 3 }),
    named('fleet: CPU + Redis CPU per check ÷ single-process monitor', withRedis),
    named('fleet: 2 workers ÷ 1 worker, checks/s (target ≥ 1.3)', scaling, { atLeast: 0.5 }),
    named('fleet: Redis scripts (round trips) per check', spread(of('fleet × 1', 'redisScripts'))),
  ];
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
