/**
 * A test bench for the proxy: a programmable origin that counts what it receives, a proxy in front of it (both
 * on 127.0.0.1, port 0), and a clock the test moves forward.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CachingProxy, createProxy, type ProxyOptions } from '../../src/proxy/index.ts';

export type OriginHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Bench {
  /** The proxy's base URL. */
  base: string;
  proxy: CachingProxy;
  /** Requests the origin received, in order. */
  received: IncomingMessage[];
  /** The origin's base URL. */
  origin: string;
  /** Replaces the origin's behaviour. */
  handle(handler: OriginHandler): void;
  /** Moves the proxy's clock forward. */
  advance(seconds: number): void;
  close(): Promise<void>;
}

export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Starts an origin with `handler` and a proxy in front of it. */
export async function startBench(
  handler: OriginHandler,
  options: Partial<ProxyOptions> = {},
): Promise<Bench> {
  let current = handler;
  const received: IncomingMessage[] = [];
  // The real clock plus what the test added, for the proxy and for the origin's Date fields alike.
  let offset = 0;
  const originServer = createServer((req, res) => {
    received.push(req);
    res.setHeader('date', new Date(Date.now() + offset).toUTCString());
    current(req, res);
  });
  const origin = await listenLocal(originServer);
  const proxy = createProxy({ upstream: origin, now: () => Date.now() + offset, ...options });
  const front = createServer(proxy);
  front.on('clientError', proxy.clientError);
  const base = await listenLocal(front);
  return {
    base,
    proxy,
    received,
    origin,
    handle: (next) => {
      current = next;
    },
    advance: (seconds) => {
      offset += seconds * 1000;
    },
    async close() {
      await closeServer(front);
      await closeServer(originServer);
      await proxy.close();
    },
  };
}
