/**
 * `npm run bench -- proxy`: `etagkit proxy` (the CLI, memory store) against nginx `proxy_cache` and Varnish, one
 * worker each, all in front of the same origin process on loopback: cached-hit req/s and server CPU per request
 * for 1 KB and 100 KB objects, 304s answered from the cache, and a miss storm (1,000 concurrent requests for a
 * cold URL: how many reach the origin). Controls: the origin itself answering the 1 KB object (a node server with
 * no cache in between), and a bare node:http server answering a constant 304 (support/bare-server.ts). nginx or Varnish missing → their columns are skipped with a note.
 */
import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBareServer } from './support/bare-server.ts';
import { type BenchOptions, type Ratio, settings } from './support/bench.ts';
import { type Cell, describeHttp, type Measured, measureCells } from './support/cells.ts';
import { median, num, table, times } from './support/format.ts';
import { freePort, probe, startServer, stopServer } from './support/load.ts';
import { startNginx } from './support/nginx.ts';
import { named, type Spread, spread } from './support/rounds.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

interface Contender {
  name: string;
  child: ChildProcess;
  base: string;
  /** The process doing the work (Varnish's cache process, not its manager). */
  pid: number;
}

async function startOrigin(): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = await startServer(
    process.execPath,
    [join(here, 'support/proxy-origin.ts'), String(port)],
    `${base}/1k`,
  );
  return { child, base };
}

async function startEtagkit(origin: string): Promise<Contender> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const args = [join(here, '../src/cli/main.ts'), 'proxy', '--upstream', origin, '--port', String(port)];
  const child = await startServer(process.execPath, args, `${base}/1k`);
  return { name: 'etagkit proxy', child, base, pid: child.pid! };
}

/** nginx with proxy_cache in one process (support/nginx.ts), keep-alive to the origin, no cache lock. */
async function startNginxCache(origin: string, work: string): Promise<Contender | undefined> {
  const nginx = await startNginx(work, '/1k', {
    http:
      `proxy_cache_path ${work}/cache levels=1:2 keys_zone=bench:16m max_size=256m inactive=60m use_temp_path=off;\n` +
      `  upstream origin { server ${new URL(origin).host}; keepalive 64; }`,
    server: (port) =>
      `server { listen 127.0.0.1:${port}; location / { proxy_pass http://origin; proxy_http_version 1.1; ` +
      'proxy_set_header Connection ""; proxy_cache bench; } }',
  });
  return nginx && { name: 'nginx', ...nginx, pid: nginx.child.pid! };
}

/** Varnish with its built-in VCL, one thread pool, 256 MB of memory storage. */
async function startVarnish(origin: string, work: string): Promise<Contender | undefined> {
  if (spawnSync('varnishd', ['-V']).error) return undefined;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const args = ['-F', '-a', `127.0.0.1:${port}`, '-b', new URL(origin).host, '-n', join(work, 'varnish')];
  args.push('-s', 'malloc,256m', '-p', 'thread_pools=1', '-T', 'none');
  const child = await startServer('varnishd', args, `${base}/1k`);
  // The manager (-F) forks one cache process: that is where requests are served.
  const pid = Number(
    execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')[0],
  );
  return { name: 'Varnish', child, base, pid };
}

/** Fires `count` concurrent requests for one cold URL; resolves with how many reached the origin. */
async function missStorm(contender: Contender, origin: string, count: number, name: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: count });
  const one = () =>
    new Promise<number>((resolve, reject) => {
      get(`${contender.base}/storm/${name}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      }).on('error', reject);
    });
  const statuses = await Promise.all(Array.from({ length: count }, one));
  agent.destroy();
  const bad = statuses.filter((s) => s !== 200).length;
  if (bad) throw new Error(`${contender.name}: ${bad} of ${count} storm requests did not get 200`);
  const counted = await fetch(`${origin}/count/${name}`);
  return Number(await counted.text());
}

const ROWS = [
  { label: '1 KB hit', path: '/1k', status: 200 },
  { label: '100 KB hit', path: '/100k', status: 200 },
  { label: '1 KB 304', path: '/1k', status: 304 },
] as const;

export async function run(options: BenchOptions): Promise<Ratio[]> {
  const s = settings(options);
  const work = await mkdtemp(join(tmpdir(), 'etagkit-bench-proxy-'));
  const children: ChildProcess[] = [];
  try {
    const origin = await startOrigin();
    children.push(origin.child);
    const contenders = [await startEtagkit(origin.base)];
    const nginx = await startNginxCache(origin.base, work);
    const varnish = await startVarnish(origin.base, work);
    for (const peer of [nginx, varnish]) if (peer) contenders.push(peer);
    children.push(...contenders.map((c) => c.child));

    const cells: Cell[] = [];
    for (const row of ROWS) {
      for (const c of contenders) {
        const url = `${c.base}${row.path}`;
        await probe(url); // fills the cache
        const { etag } = await probe(url);
        if (!etag) throw new Error(`${c.name} sent no ETag for ${row.path}`);
        const headers = row.status === 304 ? { 'if-none-match': etag } : undefined;
        cells.push({
          name: `${c.name} · ${row.label}`,
          url,
          headers,
          expectStatus: row.status,
          serverPid: c.pid,
        });
      }
    }
    cells.push({
      name: 'origin · 1 KB',
      url: `${origin.base}/1k`,
      expectStatus: 200,
      serverPid: origin.child.pid!,
    });
    const bare304 = await startBareServer('304');
    children.push(bare304.child);
    cells.push({ name: 'bare · 304', url: bare304.url, expectStatus: 304, serverPid: bare304.child.pid! });
    const m = await measureCells(cells, s, 'proxy');

    const storms = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    const stormRounds = options.quick ? 1 : 3;
    for (let round = 0; round < stormRounds; round++)
      for (const c of contenders)
        storms
          .get(c.name)!
          .push(await missStorm(c, origin.base, 1000, `${c.name.replace(/\W/g, '')}-${round}`));

    print(m, s, contenders, storms, { nginx: !!nginx, varnish: !!varnish });
    return checks(m, storms);
  } finally {
    for (const child of children.reverse()) await stopServer(child);
    await rm(work, { recursive: true, force: true });
  }
}

function print(
  m: Measured,
  s: ReturnType<typeof settings>,
  contenders: Contender[],
  storms: Map<string, number[]>,
  present: { nginx: boolean; varnish: boolean },
): void {
  const names = contenders.map((c) => c.name);
  const peers = names.filter((n) => n !== 'etagkit proxy');
  console.log(`${describeHttp(s)} ${m.bottleneck()}.\n`);
  console.log(
    'Contenders, each in front of the same origin process: `etagkit proxy` (the CLI, memory store); ' +
      (present.nginx
        ? 'nginx `proxy_cache` in one process (`master_process off`, keep-alive upstream, no `proxy_cache_lock`); '
        : '') +
      (present.varnish
        ? 'Varnish with its built-in VCL (`thread_pools=1`, malloc storage; CPU of its cache process). '
        : '') +
      'Controls: the origin itself answering the 1 KB object (a node:http server writing constant bytes), and a ' +
      'bare node:http server answering a constant 304 (support/bare-server.ts).\n',
  );
  const cell = (name: string, row: string) => `${name} · ${row}`;
  console.log('### Requests per second\n');
  table(
    ['object', ...names, ...peers.map((p) => `etagkit ÷ ${p}`)],
    ROWS.map((row) => [
      row.label,
      ...names.map((n) => median(m.rps(cell(n, row.label)))),
      ...peers.map((p) => times(m.rpsRatio(cell('etagkit proxy', row.label), cell(p, row.label)))),
    ]),
  );
  console.log(
    `\nControl: the origin alone serves the 1 KB object at ${median(m.rps('origin · 1 KB'))} req/s.\n`,
  );
  console.log('### Server CPU per request (µs; lower is better)\n');
  table(
    ['object', ...names, ...peers.map((p) => `etagkit ÷ ${p}`)],
    ROWS.map((row) => [
      row.label,
      ...names.map((n) => median(m.cpu(cell(n, row.label)))),
      ...peers.map((p) => times(m.cpuRatio(cell('etagkit proxy', row.label), cell(p, row.label)))),
    ]),
  );
  console.log(
    `\nControls: the origin alone spends ${median(m.cpu('origin · 1 KB'))} µs per 1 KB response; a bare node:http ` +
      `server answering a constant 304 spends ${median(m.cpu('bare · 304'))} µs per 304 ` +
      `(${median(m.rps('bare · 304'))} req/s): the floor for any node:http proxy.\n`,
  );
  console.log('### Miss storm: 1,000 concurrent requests for one cold URL\n');
  table(
    ['proxy', 'requests that reached the origin (each round)'],
    names.map((n) => [
      n,
      storms
        .get(n)!
        .map((x) => num(x, 0))
        .join(', '),
    ]),
  );
  if (!present.nginx)
    console.log('\nnginx is not installed (`apt-get install nginx-light`): its columns are missing.');
  if (!present.varnish)
    console.log('\nVarnish is not installed (`apt-get install varnish`): its columns are missing.');
}

/** Regression floors for `--check`, with room for a loaded machine (the targets are in RESULTS.md); only for peers that ran. */
function checks(m: Measured, storms: Map<string, number[]>): Ratio[] {
  const ratios: Ratio[] = [];
  const ours = (row: string) => `etagkit proxy · ${row}`;
  const add = (name: string, a: string, b: string, bound: { atLeast: number }) => {
    if (m.rounds.has(b)) ratios.push(named(name, m.rpsRatio(a, b), bound));
  };
  add('proxy 1 KB hit: etagkit ÷ nginx, req/s', ours('1 KB hit'), 'nginx · 1 KB hit', { atLeast: 0.3 });
  add('proxy 100 KB hit: etagkit ÷ nginx, req/s', ours('100 KB hit'), 'nginx · 100 KB hit', { atLeast: 0.5 });
  add('proxy 1 KB 304: etagkit ÷ Varnish, req/s', ours('1 KB 304'), 'Varnish · 1 KB 304', { atLeast: 0.3 });
  const storm: Spread = spread(storms.get('etagkit proxy')!);
  ratios.push({ ...named('proxy miss storm: upstream requests for 1,000 (must be 1)', storm), atMost: 1 });
  return ratios;
}
