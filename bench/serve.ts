/**
 * `npm run bench -- serve`: req/s of `etagkit serve` vs Express + serve-static for 200 and 304 of a 1 KB and a
 * 1 MB file, with nginx (one worker) as the reference ceiling. Same load generator (autocannon), one run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, load, ratio, startServer, stopServer } from './support/load.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const here = new URL('.', import.meta.url).pathname;

interface Contender {
  name: string;
  start(dir: string, port: number): Promise<import('node:child_process').ChildProcess>;
}

const contenders: Contender[] = [
  {
    name: 'etagkit serve',
    start: (dir, port) =>
      startServer(
        process.execPath,
        [join(here, '../src/cli/main.ts'), 'serve', dir, '--port', String(port)],
        `http://127.0.0.1:${port}/1k.bin`,
      ),
  },
  {
    name: 'express + serve-static',
    start: (dir, port) =>
      startServer(
        process.execPath,
        [join(here, 'support/serve-static-server.ts'), dir, String(port)],
        `http://127.0.0.1:${port}/1k.bin`,
      ),
  },
];

async function nginxContender(work: string): Promise<Contender | undefined> {
  if (spawnSync('nginx', ['-v']).error) return undefined;
  return {
    name: 'nginx (1 worker)',
    async start(dir, port) {
      const conf = join(work, 'nginx.conf');
      await writeFile(
        conf,
        `worker_processes 1; daemon off; pid ${work}/nginx.pid; error_log ${work}/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; keepalive_requests 1000000; client_body_temp_path ${work};
  server { listen 127.0.0.1:${port}; root ${dir}; etag on; } }`,
      );
      return startServer('nginx', ['-c', conf, '-p', work], `http://127.0.0.1:${port}/1k.bin`);
    },
  };
}

export async function run(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'etagkit-bench-serve-'));
  const dir = join(work, 'files');
  await import('node:fs/promises').then((fs) => fs.mkdir(dir));
  await writeFile(join(dir, '1k.bin'), Buffer.alloc(1024, 'a'));
  await writeFile(join(dir, '1m.bin'), Buffer.alloc(1024 * 1024, 'b'));
  const nginx = await nginxContender(work);
  const all = nginx ? [...contenders, nginx] : contenders;

  const cells = ['1k.bin 200', '1k.bin 304', '1m.bin 200', '1m.bin 304'];
  const results = new Map<string, Map<string, number>>();
  for (const contender of all) {
    const port = await freePort();
    const child = await contender.start(dir, port);
    const row = new Map<string, number>();
    try {
      for (const cell of cells) {
        const [file, status] = cell.split(' ') as [string, string];
        const url = `http://127.0.0.1:${port}/${file}`;
        const first = await fetch(url);
        await first.arrayBuffer();
        const etag = first.headers.get('etag')!;
        const headers = status === '304' ? { 'if-none-match': etag } : undefined;
        const result = await load(url, { headers, expectStatus: Number(status), seconds: SECONDS });
        if (result.errors > 0) throw new Error(`${contender.name} ${cell}: ${result.errors} errors`);
        row.set(cell, result.requestsPerSecond);
      }
    } finally {
      await stopServer(child);
    }
    results.set(contender.name, row);
  }
  await rm(work, { recursive: true, force: true });

  const ours = results.get('etagkit serve')!;
  const peer = results.get('express + serve-static')!;
  const ceiling = nginx ? results.get(nginx.name) : undefined;
  console.log(`autocannon, 32 connections, ${SECONDS} s per cell, servers in their own process.\n`);
  console.log(
    `| file / status | ${all.map((c) => c.name).join(' | ')} | etagkit ÷ serve-static |${ceiling ? ' etagkit ÷ nginx |' : ''}`,
  );
  console.log(`|---|${all.map(() => '---:').join('|')}|---:|${ceiling ? '---:|' : ''}`);
  for (const cell of cells) {
    const values = all.map((c) => Math.round(results.get(c.name)!.get(cell)!).toLocaleString('en'));
    const vsNginx = ceiling ? ` ${ratio(ours.get(cell)!, ceiling.get(cell)!)} |` : '';
    console.log(`| ${cell} | ${values.join(' | ')} | ${ratio(ours.get(cell)!, peer.get(cell)!)} |${vsNginx}`);
  }
  if (!nginx)
    console.log('\nnginx is not installed (apt-get install nginx-light): the ceiling column is missing.');
}
