/**
 * `npm run bench -- serve`: `etagkit serve` against Express + serve-static (what most Node apps use) for 200 and
 * 304 of a 1 KB and a 1 MB file, in req/s and in server CPU per request, with two ceilings: a bare node:http
 * server answering a constant response (support/bare-server.ts: the least node can spend on it), and nginx in
 * one process (skipped with a note when the `nginx` binary is missing). Every server runs in its own process
 * for the whole table; the cells are measured in interleaved rounds (support/cells.ts).
 *
 * The files are repetitive bytes: autocannon reads random bytes about 8× slower than repetitive ones, which would
 * make the 1 MB rows measure autocannon.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBareServer } from './support/bare-server.ts';
import { type BenchOptions, type Ratio, settings } from './support/bench.ts';
import { type Cell, describeHttp, type Measured, measureCells } from './support/cells.ts';
import { median, table, times } from './support/format.ts';
import { probe, startListening, stopServer } from './support/load.ts';
import { startNginx } from './support/nginx.ts';
import { named, spread } from './support/rounds.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

interface Server {
  name: string;
  child: ChildProcess;
  base: string;
}

async function startOurs(dir: string, etag: 'stats' | 'content' = 'stats'): Promise<Server> {
  const args = [join(here, '../src/cli/main.ts'), 'serve', dir, '--port', '0', '--etag', etag];
  const name = etag === 'stats' ? 'etagkit serve' : CONTENT;
  return { name, ...(await startListening(process.execPath, args)) };
}

const CONTENT = 'etagkit serve --etag content';

async function startServeStatic(dir: string): Promise<Server> {
  const args = [join(here, 'support/serve-static-server.ts'), dir];
  return { name: 'serve-static', ...(await startListening(process.execPath, args)) };
}

/** nginx serving the same folder (support/nginx.ts: one process, so that its CPU time is one process's to sample). */
async function startNginxServer(dir: string, work: string): Promise<Server | undefined> {
  const nginx = await startNginx(work, '/1k.bin', {
    http: 'sendfile on;',
    server: (port) => `server { listen 127.0.0.1:${port}; root ${dir}; etag on; }`,
  });
  return nginx && { name: 'nginx', ...nginx };
}

const ROWS = [
  { label: '1 KB 200', file: '1k.bin', status: 200, bare: '1k' },
  { label: '1 KB 304', file: '1k.bin', status: 304, bare: '304' },
  { label: '1 MB 200', file: '1m.bin', status: 200, bare: undefined },
  { label: '1 MB 304', file: '1m.bin', status: 304, bare: '304' },
] as const;

export async function run(options: BenchOptions): Promise<Ratio[]> {
  const s = settings(options);
  const work = await mkdtemp(join(tmpdir(), 'etagkit-bench-serve-'));
  const dir = join(work, 'files');
  await mkdir(dir);
  await writeFile(join(dir, '1k.bin'), Buffer.alloc(1024, 'a'));
  await writeFile(join(dir, '1m.bin'), Buffer.alloc(1024 * 1024, 'b'));
  const children: ChildProcess[] = [];
  try {
    const servers = [await startOurs(dir), await startOurs(dir, 'content'), await startServeStatic(dir)];
    const nginx = await startNginxServer(dir, work);
    if (nginx) servers.push(nginx);
    children.push(...servers.map((server) => server.child));
    const bare = { '304': await startBareServer('304'), '1k': await startBareServer('1k') };
    children.push(bare['304'].child, bare['1k'].child);

    const cells: Cell[] = [];
    for (const row of ROWS) {
      for (const server of servers) {
        // Content tags differ from stats tags only until a file is first hashed: two rows show the steady state.
        if (server.name === CONTENT && !row.label.startsWith('1 KB')) continue;
        const url = `${server.base}/${row.file}`;
        const { etag } = await probe(url);
        if (!etag) throw new Error(`${server.name} sent no ETag for ${row.file}`);
        const headers = row.status === 304 ? { 'if-none-match': etag } : undefined;
        const name = `${server.name} · ${row.label}`;
        cells.push({ name, url, headers, expectStatus: row.status, serverPid: server.child.pid! });
      }
    }
    cells.push({
      name: 'bare · 1k',
      url: bare['1k'].url,
      expectStatus: 200,
      serverPid: bare['1k'].child.pid!,
    });
    cells.push({
      name: 'bare · 304',
      url: bare['304'].url,
      expectStatus: 304,
      serverPid: bare['304'].child.pid!,
    });
    const m = await measureCells(cells, s, 'serve');

    const names = servers.map((server) => server.name);
    console.log(`${describeHttp(s)} ${m.bottleneck()}.\n`);
    console.log(
      'Contenders: `etagkit serve` (the CLI, size + mtime ETags) and `--etag content` (content-hash ETags, ' +
        'measured on the 1 KB rows: once a file is hashed, both serve it alike); ' +
        'Express 5 + serve-static; ' +
        (nginx ? 'nginx with one process (`master_process off`, sendfile, no open_file_cache); ' : '') +
        'bare node:http answering a constant 304 with an ETag, or a constant 1 KB 200 with Content-Type, ' +
        'Content-Length, ETag and Last-Modified (the 304 rows of both file sizes compare with the same bare 304).\n',
    );
    const bareOf = (row: (typeof ROWS)[number]) => (row.bare ? `bare · ${row.bare}` : undefined);
    console.log('### Requests per second\n');
    table(
      [
        'file / status',
        ...names,
        'bare node:http',
        'etagkit ÷ serve-static',
        ...(nginx ? ['etagkit ÷ nginx'] : []),
      ],
      ROWS.map((row) => {
        const cell = (server: string) => `${server} · ${row.label}`;
        const bareCell = bareOf(row);
        return [
          row.label,
          ...names.map((name) => (m.rounds.has(cell(name)) ? median(m.rps(cell(name))) : '—')),
          bareCell ? median(m.rps(bareCell)) : '—',
          times(m.rpsRatio(cell('etagkit serve'), cell('serve-static'))),
          ...(nginx ? [times(m.rpsRatio(cell('etagkit serve'), cell('nginx')))] : []),
        ];
      }),
    );
    console.log('\n### Server CPU per request (µs; lower is better)\n');
    table(
      [
        'file / status',
        ...names,
        'bare node:http',
        'etagkit ÷ serve-static',
        'etagkit ÷ bare node:http',
        ...(nginx ? ['etagkit ÷ nginx'] : []),
      ],
      ROWS.map((row) => {
        const cell = (server: string) => `${server} · ${row.label}`;
        const bareCell = bareOf(row);
        return [
          row.label,
          ...names.map((name) => (m.rounds.has(cell(name)) ? median(m.cpu(cell(name))) : '—')),
          bareCell ? median(m.cpu(bareCell)) : '—',
          times(m.cpuRatio(cell('etagkit serve'), cell('serve-static'))),
          bareCell ? times(m.cpuRatio(cell('etagkit serve'), bareCell)) : '—',
          ...(nginx ? [times(m.cpuRatio(cell('etagkit serve'), cell('nginx')))] : []),
        ];
      }),
    );
    if (!nginx)
      console.log('\nnginx is not installed (`apt-get install nginx-light`): its columns are missing.');
    await firstRequests(dir, servers);
    return checks(m);
  } finally {
    for (const child of children) await stopServer(child);
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * What `--etag content` costs once per version of a file: the first HEAD of files never requested before
 * (content: read and hash the file; stats: one stat), sequentially, wall time seen by the client.
 */
async function firstRequests(dir: string, servers: Server[]): Promise<void> {
  const sizes = [
    { label: '1 MB', bytes: 1024 * 1024 },
    { label: '16 MB', bytes: 16 * 1024 * 1024 },
  ];
  const FILES = 5;
  const ours = servers.filter((server) => server.name.startsWith('etagkit serve'));
  const rows: string[][] = [];
  for (const { label, bytes } of sizes) {
    const times = new Map<string, number[]>(ours.map((server) => [server.name, []]));
    for (let i = 0; i < FILES; i++) {
      const name = `cold-${label.replace(' ', '')}-${i}.bin`;
      await writeFile(join(dir, name), Buffer.alloc(bytes, i));
      for (const server of ours) {
        const started = performance.now();
        const res = await fetch(`${server.base}/${name}`, { method: 'HEAD' });
        times.get(server.name)!.push((performance.now() - started) * 1000);
        if (!res.headers.get('etag')) throw new Error(`${server.name}: no ETag for ${name}`);
      }
    }
    const stats = spread(times.get('etagkit serve')!);
    const content = spread(times.get(CONTENT)!);
    rows.push([label, median(stats), median(content), `${Math.round(content.median - stats.median)}`]);
  }
  console.log(
    `\n### \`--etag content\`: first request for a file (µs, client wall time; ${FILES} fresh files each, sequential HEADs)\n`,
  );
  table(['file', 'stats (default)', '--etag content', 'hashing costs once (µs)'], rows);
  console.log(
    "\nAfter its first request a file's content tag is remembered while its inode, size, mtime and ctime stay the " +
      'same: the cells above (`--etag content` column) show the steady state.',
  );
}

/**
 * Floors for `--check`, in server CPU per request: req/s of the fast rows is autocannon's ceiling, and of the
 * 1 MB rows as much autocannon's reading as the server's writing. They guard against regressions with room for a
 * noisy machine; the targets (issue 14: 304 ≤ 1.25×, 1 KB 200 ≤ 1.35× the bare server) are in RESULTS.md.
 */
function checks(m: Measured): Ratio[] {
  const ratios: Ratio[] = [];
  const add = (name: string, a: string, b: string, bound: { atLeast: number } | { atMost: number }) => {
    const spread = m.cpuRatio(a, b);
    if (spread) ratios.push(named(name, spread, bound)); // no CPU column without /proc
  };
  add('serve 1 KB 304: CPU/request ÷ bare node:http 304', 'etagkit serve · 1 KB 304', 'bare · 304', {
    atMost: 2.5,
  });
  add('serve 1 KB 200: CPU/request ÷ bare node:http 1 KB 200', 'etagkit serve · 1 KB 200', 'bare · 1k', {
    atMost: 3,
  });
  for (const row of ['1 KB 200', '1 KB 304', '1 MB 304'])
    add(
      `serve ${row}: serve-static CPU/request ÷ etagkit serve`,
      `serve-static · ${row}`,
      `etagkit serve · ${row}`,
      {
        atLeast: row === '1 KB 200' ? 1.5 : 1.2,
      },
    );
  add(
    'serve 1 MB 200: serve-static CPU/request ÷ etagkit serve',
    'serve-static · 1 MB 200',
    'etagkit serve · 1 MB 200',
    {
      atLeast: 0.7,
    },
  );
  add(
    'serve --etag content 1 KB 304: CPU/request ÷ the default (stats)',
    `${CONTENT} · 1 KB 304`,
    'etagkit serve · 1 KB 304',
    { atMost: 1.5 },
  );
  return ratios;
}
