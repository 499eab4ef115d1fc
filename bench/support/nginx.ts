/**
 * nginx for the benchmarks: one process (`master_process off`, so that its CPU time is one process's to sample),
 * its temporary files in the run's work folder, no access log, long keep-alive. Undefined when nginx is missing.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startServer } from './load.ts';

/**
 * Starts nginx with `server(port)` as the `server { … }` block (and `http` directives before it), and waits until
 * `probePath` answers.
 */
export async function startNginx(
  work: string,
  probePath: string,
  config: { http?: string; server: (port: number) => string },
): Promise<{ child: ChildProcess; base: string } | undefined> {
  if (spawnSync('nginx', ['-v']).error) return undefined;
  const port = await freePort();
  const conf = join(work, 'nginx.conf');
  const temp = (name: string) => `${name}_temp_path ${join(work, name)};`;
  await writeFile(
    conf,
    `master_process off; daemon off; worker_processes 1; pid ${work}/nginx.pid; error_log ${work}/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 60s;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join(' ')}
  ${config.http ?? ''}
  ${config.server(port)} }`,
  );
  const base = `http://127.0.0.1:${port}`;
  return { child: await startServer('nginx', ['-c', conf, '-p', work], `${base}${probePath}`), base };
}
