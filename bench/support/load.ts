/** Shared pieces of the HTTP benchmarks: child-process servers, free ports, and one autocannon run. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { createServer } from 'node:net';
import autocannon from 'autocannon';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Spawns a server and waits until `url` answers. */
export async function startServer(command: string, args: string[], url: string): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill();
  throw new Error(`${command} did not start answering ${url}`);
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

export interface LoadResult {
  requestsPerSecond: number;
  non2xx: number;
  errors: number;
}

/** One autocannon run; checks every response had the expected status. */
export async function load(
  url: string,
  options: { headers?: Record<string, string>; expectStatus: number; seconds?: number; connections?: number },
): Promise<LoadResult> {
  // node:http, not fetch: fetch adds `cache-control: no-cache` to conditional requests, which autocannon won't.
  const check = await statusOf(url, options.headers);
  if (check !== options.expectStatus)
    throw new Error(`${url} answered ${check}, expected ${options.expectStatus}`);
  const result = await autocannon({
    url,
    headers: options.headers,
    connections: options.connections ?? 32,
    duration: options.seconds ?? 5,
    pipelining: 1,
  });
  return {
    requestsPerSecond: result.requests.average,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}

function statusOf(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }).on('error', reject);
  });
}
