/**
 * What the fleet's end-to-end tests share: an origin of many URLs on several host names that counts requests in
 * flight per host, and `etagkit watch --redis …` processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface FleetOrigin {
  /** Base URLs, one per host (each server is its own host:port, as the limits see hosts). */
  hosts: string[];
  url(i: number): string;
  /** Changes the content of URL i (a new version, a new ETag). */
  change(i: number): void;
  /** Most requests in flight at once, per Host. */
  peak: Map<string, number>;
  /** Requests received per URL index. */
  requests: Map<number, number>;
  /** Responses cut off by a client that went away mid-response (a worker killed mid-check). */
  aborted: number;
  /**
   * Called as each request arrives (with its `x-worker` header); returning true holds the response until the
   * client goes away.
   */
  onRequest: ((i: number, worker: string | undefined) => boolean) | undefined;
  /** While set, responses wait for it before they are written. */
  gate: Promise<void> | undefined;
  close(): Promise<void>;
}

/** URLs /p/0…/p/N-1 spread over `hosts` servers; answers conditional GETs by ETag after `delayMs`. */
export async function startFleetOrigin(urls: number, hosts: number, delayMs: number): Promise<FleetOrigin> {
  const version = new Uint32Array(urls);
  const active = new Map<string, number>();
  const origin: Omit<FleetOrigin, 'hosts' | 'url' | 'close'> = {
    change: (i) => void version[i]!++,
    peak: new Map(),
    requests: new Map(),
    aborted: 0,
    onRequest: undefined,
    gate: undefined,
  };
  const servers: Server[] = [];
  for (let h = 0; h < hosts; h++) {
    const server = createServer((req, res) => {
      const host = req.headers.host ?? '';
      const i = Number((req.url ?? '').split('/')[2]);
      origin.requests.set(i, (origin.requests.get(i) ?? 0) + 1);
      active.set(host, (active.get(host) ?? 0) + 1);
      origin.peak.set(host, Math.max(origin.peak.get(host) ?? 0, active.get(host)!));
      res.on('close', () => active.set(host, active.get(host)! - 1));
      if (origin.onRequest?.(i, req.headers['x-worker'] as string | undefined))
        return void res.on('close', () => origin.aborted++);
      const answer = () => {
        if (res.destroyed) return void origin.aborted++;
        const etag = `"${i}-${version[i]}"`;
        if (req.headers['if-none-match'] === etag) return res.writeHead(304, { etag }).end();
        res.writeHead(200, { etag, 'content-type': 'text/plain' }).end(`page ${i} version ${version[i]}\n`);
      };
      const gate = origin.gate;
      setTimeout(() => (gate ? gate.then(answer) : answer()), delayMs);
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
  }
  const bases = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`);
  return Object.assign(origin, {
    hosts: bases,
    url: (i: number) => `${bases[i % hosts]}/p/${i}`,
    async close() {
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  }) as FleetOrigin;
}

export interface WatchProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves when the output matches (a start-up line). */
  printed(pattern: RegExp): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `etagkit watch` with these arguments. */
export function startWatch(args: string[], env: Record<string, string> = {}): WatchProcess {
  const child = spawn(process.execPath, [MAIN, 'watch', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  const waiters: [RegExp, () => void][] = [];
  const onData = (chunk: Buffer) => {
    output += chunk;
    for (const [pattern, resolve] of waiters) if (pattern.test(output)) resolve();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    child,
    output: () => output,
    printed: (pattern) =>
      new Promise((resolve, reject) => {
        if (pattern.test(output)) return resolve();
        waiters.push([pattern, resolve]);
        child.once('exit', (code) => reject(new Error(`watch exited (${code}):\n${output}`)));
      }),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/** Polls `probe` until it returns true (state in PostgreSQL, not a clock); fails after `timeoutMs`. */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
