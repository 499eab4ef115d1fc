/**
 * Shared pieces of the HTTP benchmarks: child-process servers, free ports, and one autocannon run that checks the
 * status of every response and samples the server's CPU time over exactly the measured window.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { cpuTimeMicros } from './cpu.ts';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Spawns a server and waits until `url` answers. Its stderr goes to ours, so a crash says why. */
export async function startServer(command: string, args: string[], url: string): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null)
      throw new Error(`${command} ${args.join(' ')} exited with ${child.exitCode}`);
    try {
      await probe(url);
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill();
  throw new Error(`${command} ${args.join(' ')} did not start answering ${url} within 10 s`);
}

/**
 * Spawns a server told to listen on port 0 and resolves with the base URL it prints (`listening on
 * http://HOST:PORT`, as `etagkit serve` does), so that no two servers race for a port picked in advance.
 */
export function startListening(
  command: string,
  args: string[],
): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('printed no `listening on` line within 30 s')), 30_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${command} ${args.join(' ')}: ${error.message}`));
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`exited with ${code} before listening`)));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const base = /^listening on (http:\/\/\S+?)\/?$/.exec(line)?.[1];
      if (!base) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.off('error', fail);
      resolve({ child, base });
    });
  });
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/**
 * One request with node:http (not fetch: fetch adds `cache-control: no-cache` to conditional requests, which
 * autocannon does not), returning the status and the ETag — what a 304 cell needs to build its If-None-Match.
 */
export function probe(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; etag: string | undefined }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, etag: res.headers.etag }));
    }).on('error', reject);
  });
}

export interface LoadOptions {
  headers?: Record<string, string>;
  /** Every response must have this status; any other fails the run with the counts of each status seen. */
  expectStatus: number;
  seconds?: number;
  connections?: number;
  /** The server's process id: its CPU time is sampled just before and just after the run. */
  serverPid?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  /** Responses received in the window (all of them with the expected status). */
  requests: number;
  /** Server CPU time (user + system, all threads) per response, in µs; `undefined` without `serverPid` or /proc. */
  serverMicrosPerRequest: number | undefined;
  /** Server CPU time over wall time: 1 = one core busy for the whole window. */
  serverCpuShare: number | undefined;
  /** This process's CPU time over wall time: autocannon's load, on the same cores as the server. */
  generatorCpuShare: number;
  /** Kept for older callers: responses outside 2xx (never unexpected ones: those throw). */
  non2xx: number;
  /** Kept for older callers: always 0 (errors throw). */
  errors: number;
}

/**
 * One autocannon run. Fails loudly when any response has another status than `expectStatus`, or when a
 * connection errs or times out: a benchmark of the wrong answer measures nothing.
 */
export async function load(url: string, options: LoadOptions): Promise<LoadResult> {
  const cpuBefore = options.serverPid === undefined ? undefined : cpuTimeMicros(options.serverPid);
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({
    url,
    headers: options.headers,
    connections: options.connections ?? 16,
    duration: options.seconds ?? 2,
    pipelining: 1,
  });
  const wallMicros = (performance.now() - started) * 1000;
  const own = process.cpuUsage(ownBefore);
  const cpuAfter = options.serverPid === undefined ? undefined : cpuTimeMicros(options.serverPid);

  const statuses = Object.entries(result.statusCodeStats ?? {}).map(
    ([code, stat]) => [Number(code), stat?.count ?? 0] as const,
  );
  const requests = statuses.reduce((n, [, count]) => n + count, 0);
  const unexpected = statuses.filter(([code, count]) => code !== options.expectStatus && count > 0);
  if (unexpected.length > 0 || result.errors > 0 || result.timeouts > 0 || requests === 0) {
    const seen = statuses.map(([code, count]) => `${count} × ${code}`).join(', ') || 'no responses';
    throw new Error(
      `${url} (${JSON.stringify(options.headers ?? {})}): expected only ${options.expectStatus}, got ${seen}; ` +
        `${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  const serverMicros = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  return {
    requestsPerSecond: requests / result.duration,
    requests,
    serverMicrosPerRequest: serverMicros === undefined ? undefined : serverMicros / requests,
    serverCpuShare: serverMicros === undefined ? undefined : serverMicros / wallMicros,
    generatorCpuShare: (own.user + own.system) / wallMicros,
    non2xx: result.non2xx,
    errors: 0,
  };
}

export function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}
