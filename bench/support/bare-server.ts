/**
 * The node ceiling: a bare node:http server answering one constant response, whatever the request — the least
 * a node server can spend on it. Ratios "× a bare node server" in CPU per request are taken against these.
 *
 * - `304`: status 304 with an `ETag` header and no body;
 * - `1k`: status 200, 1024 bytes, with the headers a static file server sends at the least (Content-Type,
 *   Content-Length, ETag, Last-Modified), all computed once.
 *
 * `node bench/support/bare-server.ts <304|1k>` runs one; `startBareServer` spawns one for a benchmark.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type RequestListener } from 'node:http';
import { fileURLToPath } from 'node:url';
import { listenOnFreePort } from './listen.ts';
import { startListening } from './load.ts';

const ETAG = '"bare-1k"';
const BODY = Buffer.alloc(1024, 'a');

const BARE: Record<'304' | '1k', RequestListener> = {
  '304': (_req, res) => {
    res.writeHead(304, { etag: ETAG });
    res.end();
  },
  '1k': (_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(BODY.byteLength),
      etag: ETAG,
      'last-modified': 'Mon, 23 Nov 2026 10:00:00 GMT',
    });
    res.end(BODY);
  },
};

export type BareKind = keyof typeof BARE;

/** Starts a bare server of `kind` in its own process; resolves once it listens. */
export async function startBareServer(kind: BareKind): Promise<{ child: ChildProcess; url: string }> {
  const { child, base } = await startListening(process.execPath, [fileURLToPath(import.meta.url), kind]);
  return { child, url: `${base}/` };
}

if (import.meta.main) {
  const kind = process.argv[2] as BareKind;
  if (!Object.hasOwn(BARE, kind)) {
    console.error(`usage: node bench/support/bare-server.ts <${Object.keys(BARE).join('|')}>`);
    process.exit(2);
  }
  await listenOnFreePort(createServer(BARE[kind]));
}
