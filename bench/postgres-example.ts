/**
 * `npm run bench -- postgres-example`: examples/postgres-api — a 304 answered from `SELECT updated_at` before
 * anything is loaded or rendered — against the same API written the usual way: Express's default ETag, a hash of
 * the body computed after the row was loaded and rendered, and `fresh` turning a match into a 304. One user row
 * and a 100-user list, 200 and 304, on one PostgreSQL (a schema of its own, dropped afterwards), both apps with the
 * same pool size and the same SQL for loading (examples/postgres-api/db.ts).
 *
 * Beside req/s and the app server's CPU per request, the database's: the CPU time of the PostgreSQL backends
 * serving that app's pool (found by application_name, read from /proc), per request — the work a cheap validator
 * saves where it is most expensive to scale.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import express from 'express';
import pg from 'pg';
import { createSchema, identifier, postgresUsers } from '../examples/postgres-api/db.ts';
import { createApp } from '../examples/postgres-api/server.ts';
import { type BenchOptions, type Ratio, settings } from './support/bench.ts';
import { describeHttp } from './support/cells.ts';
import { cpuTimeMicros } from './support/cpu.ts';
import { median, table, times } from './support/format.ts';
import { freePort, load, probe, startServer, stopServer } from './support/load.ts';
import { interleave, named, pairedRatio, type Spread, spread } from './support/rounds.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const here = fileURLToPath(new URL('.', import.meta.url));
const USERS = 100;

/** Child side: serves one of the two apps on `port`. */
async function serve(name: string, port: number, schema: string, databaseUrl: string): Promise<void> {
  const app =
    name === 'etagkit' ? (await createApp({ databaseUrl, schema })).app : usualApp(databaseUrl, schema);
  app.listen(port, '127.0.0.1');
}

/** The usual way: load, render, let Express hash the body (weak ETag, SHA-1) and compare with `fresh`. */
function usualApp(databaseUrl: string, schema: string): express.Express {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const db = postgresUsers((text, values) => pool.query(text, values), schema);
  const app = express();
  app.disable('x-powered-by');
  app.get('/users', async (_req, res) => {
    res.set('cache-control', 'no-cache').json(await db.list(undefined));
  });
  app.get('/users/:id', async (req, res) => {
    const user = await db.get(Number(req.params.id));
    if (!user) return void res.status(404).end();
    res.set('cache-control', 'no-cache').json(user);
  });
  return app;
}

interface App {
  name: string;
  child: ChildProcess;
  base: string;
  /** The application_name its pool connects with, to find its PostgreSQL backends. */
  applicationName: string;
}

async function start(name: 'etagkit' | 'usual', schema: string): Promise<App> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const applicationName = `etagkit-bench-${name}-${process.pid}`;
  const databaseUrl = `${DATABASE_URL}?application_name=${applicationName}`;
  const args = [`${here}postgres-example.ts`, '--serve', name, String(port), schema, databaseUrl];
  const child = await startServer(process.execPath, args, `${base}/users/1`);
  return { name, child, base, applicationName };
}

/** CPU time so far of each PostgreSQL backend serving `applicationName`. */
async function backendCpu(admin: pg.Client, applicationName: string): Promise<Map<number, number>> {
  const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
    applicationName,
  ]);
  const cpu = new Map<number, number>();
  for (const { pid } of rows as { pid: number }[]) {
    const micros = cpuTimeMicros(pid);
    if (micros !== undefined) cpu.set(pid, micros);
  }
  return cpu;
}

const ROWS = [
  { label: 'one user, 200', path: '/users/1', status: 200 },
  { label: 'one user, 304', path: '/users/1', status: 304 },
  { label: `${USERS}-user list, 200`, path: '/users', status: 200 },
  { label: `${USERS}-user list, 304`, path: '/users', status: 304 },
] as const;

interface Round {
  rps: number;
  appMicros: number;
  dbMicros: number;
}

export async function run(options: BenchOptions): Promise<Ratio[]> {
  const s = settings(options);
  const schema = `etagkit_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  await admin.connect().catch((error: Error) => {
    throw new Error(
      `PostgreSQL is not answering at ${DATABASE_URL} (${error.message}); start it with ` +
        '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`',
    );
  });
  const apps: App[] = [];
  try {
    await createSchema((text, values) => admin.query(text, values), schema);
    await admin.query(
      `INSERT INTO ${identifier(schema)}.users (name, email)
       SELECT 'User ' || n, 'user' || n || '@example.com' FROM generate_series(3, $1) AS n`,
      [USERS],
    );
    apps.push(await start('etagkit', schema), await start('usual', schema));

    const cells = new Map<
      string,
      { app: App; url: string; headers?: Record<string, string>; status: number }
    >();
    for (const row of ROWS) {
      for (const app of apps) {
        const url = `${app.base}${row.path}`;
        const { etag } = await probe(url);
        if (!etag) throw new Error(`${app.name} sent no ETag for ${row.path}`);
        const headers = row.status === 304 ? { 'if-none-match': etag } : undefined;
        cells.set(`${app.name} · ${row.label}`, { app, url, headers, status: row.status });
      }
    }
    const measure = async (name: string, seconds: number): Promise<Round> => {
      const cell = cells.get(name)!;
      const before = await backendCpu(admin, cell.app.applicationName);
      const result = await load(cell.url, {
        headers: cell.headers,
        expectStatus: cell.status,
        seconds,
        connections: s.connections,
        serverPid: cell.app.child.pid!,
      });
      const after = await backendCpu(admin, cell.app.applicationName);
      let db = 0;
      for (const [pid, micros] of after) db += micros - (before.get(pid) ?? 0); // a new backend: all of it
      return {
        rps: result.requestsPerSecond,
        appMicros: result.serverMicrosPerRequest ?? Number.NaN,
        dbMicros: db / result.requests,
      };
    };
    const measured = await interleave([...cells.keys()], {
      rounds: s.rounds,
      warmup: (name) => measure(name, s.warmupSeconds),
      measure: (name) => measure(name, s.seconds),
      onRound: (round) => process.stderr.write(`postgres-example: round ${round + 1}/${s.rounds}\n`),
    });
    const of = (app: string, row: (typeof ROWS)[number]) => measured.get(`${app} · ${row.label}`)!;
    const col = (app: string, row: (typeof ROWS)[number], key: keyof Round): Spread =>
      spread(of(app, row).map((r) => r[key]));
    const ratio = (row: (typeof ROWS)[number], key: keyof Round, a: string, b: string): Spread =>
      pairedRatio(
        of(a, row).map((r) => r[key]),
        of(b, row).map((r) => r[key]),
      );

    console.log(
      `${describeHttp(s)} PostgreSQL CPU = user + system time of the backends of that app's pool ` +
        '(pg_stat_activity.application_name, /proc/PID/stat) over the same run, per response.\n',
    );
    console.log(
      'Contenders: **etagkit** — examples/postgres-api (Express + etagkit/express; `validate` = `SELECT updated_at ' +
        'FROM users WHERE id = $1`, or for the list `max(updated_at)` and `count(*)` of the page, from the index, ' +
        'for conditional requests only: a plain GET loads and sends with the ETag of what it loaded); ' +
        "**usual** — the same routes loading the row(s) with the same SQL and letting Express's default ETag " +
        `(SHA-1 of the rendered JSON) and \`fresh\` answer 304. ${USERS} users; pools of 10 connections each.\n`,
    );
    const section = (title: string, key: keyof Round, higherIsBetter: boolean) => {
      const [a, b] = higherIsBetter ? ['etagkit', 'usual'] : ['usual', 'etagkit'];
      console.log(`### ${title}\n`);
      table(
        ['request', 'usual', 'etagkit', `${a} ÷ ${b}`],
        ROWS.map((row) => [
          row.label,
          median(col('usual', row, key)),
          median(col('etagkit', row, key)),
          times(ratio(row, key, a, b)),
        ]),
      );
      console.log();
    };
    section('Requests per second', 'rps', true);
    section('App server CPU per request (µs; lower is better)', 'appMicros', false);
    section('PostgreSQL CPU per request (µs; lower is better)', 'dbMicros', false);
    const [oneOk, one304, listOk, list304] = ROWS;
    const within = (ok: (typeof ROWS)[number], notModified: (typeof ROWS)[number], app: string) =>
      pairedRatio(
        of(app, notModified).map((r) => r.rps),
        of(app, ok).map((r) => r.rps),
      );
    console.log('### 304 ÷ 200 in req/s, within each app\n');
    table(
      ['app', 'one user', `${USERS}-user list`],
      ['usual', 'etagkit'].map((app) => [
        app,
        times(within(oneOk, one304, app)),
        times(within(listOk, list304, app)),
      ]),
    );
    return [
      named(
        'postgres-example one-user 304: usual ÷ etagkit, app CPU/request',
        ratio(one304, 'appMicros', 'usual', 'etagkit'),
        { atLeast: 0.9 },
      ),
      named(
        'postgres-example list 304: usual ÷ etagkit, app CPU/request',
        ratio(list304, 'appMicros', 'usual', 'etagkit'),
        { atLeast: 2 },
      ),
      named('postgres-example list 304: etagkit ÷ usual, req/s', ratio(list304, 'rps', 'etagkit', 'usual'), {
        atLeast: 1.5,
      }),
      // A plain 200 runs one query, as the usual way does (0.39–0.50 when validate ran a second one).
      named(
        'postgres-example one-user 200: usual ÷ etagkit, PostgreSQL CPU/request',
        ratio(oneOk, 'dbMicros', 'usual', 'etagkit'),
        { atLeast: 0.6 },
      ),
    ];
  } finally {
    await Promise.all(apps.map((app) => stopServer(app.child)));
    await admin.query(`DROP SCHEMA IF EXISTS ${identifier(schema)} CASCADE`);
    await admin.end();
  }
}

if (process.argv[2] === '--serve') {
  const [, , , name, port, schema, databaseUrl] = process.argv;
  await serve(name!, Number(port), schema!, databaseUrl!);
}
