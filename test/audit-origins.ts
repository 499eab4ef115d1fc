/**
 * Test origins for the auditor, on raw sockets so that they can misbehave in ways node:http never would (a body
 * after a 304, bytes after a HEAD answer, a connection closed mid-response). By default an origin is correct:
 * strong ETag, Last-Modified, `Cache-Control: no-cache`, gzip and br with their own tags and `Vary`, and RFC 9110
 * §13.2.2 preconditions by core's evaluator. Each knob breaks exactly one thing.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import {
  evaluatePreconditions,
  formatHttpDate,
  parseEntityTag,
  parseEntityTagList,
  parseHttpDate,
} from '../src/core/index.ts';

export const LAST_MODIFIED = new Date('2024-01-02T03:04:05Z');
export const BODY = Buffer.from('a conditional world, compressible and a little repetitive\n'.repeat(40));

export interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Reply {
  status: number;
  headers: [string, string][];
  body?: Buffer;
  /** Raw bytes written after the message (a body where none belongs). */
  after?: Buffer;
}

export interface Knobs {
  /** The path that serves the resource (default `/r`); anything else is 404. */
  path?: string;
  /** The tag sent for a coding (`undefined` for identity); return undefined to send none. */
  etag?: (coding: string | undefined, req: Req, n: number) => string | undefined;
  /** Last-Modified field value; null for none. */
  lastModified?: string | null;
  cacheControl?: string | null;
  /** Codings offered; [] for none. */
  codings?: ('gzip' | 'br')[];
  vary?: boolean;
  /** The body of the n-th request. */
  body?: (n: number) => Buffer;
  /** Replaces the precondition decision for GET/HEAD. */
  decide?: (req: Req, current: { etag?: string; lastModified?: string }) => 200 | 304 | 412;
  /** Edits the fields of a 304, and may add bytes after it. */
  notModified?: (reply: Reply) => Reply;
  /** Edits a HEAD answer. */
  head?: (reply: Reply) => Reply;
  setCookie?: boolean;
  /** Redirects `/` here (a chain of n redirects with `redirects`). */
  redirects?: number;
  /** Accept PUT/DELETE of the resource. */
  writable?: boolean;
  /** With writable: 428 for an unconditional write. */
  requirePreconditions?: boolean;
  /** With writable: break one write rule. */
  writeBug?: 'ignore-if-match' | 'ignore-inm-star' | 'reject-current' | 'no-etag' | 'mangle';
  /** Start absent (404) until a PUT creates it. */
  absent?: boolean;
  /** Answer after this many ms (a slow origin, so that requests overlap). */
  delayMs?: number;
  /** Raw behaviour for a request: 'hang' never answers, 'close' closes at once, 'cut' sends half a body. */
  fault?: (req: Req, n: number) => 'hang' | 'close' | 'cut' | undefined;
}

export interface Origin {
  url: string;
  /** Every request, in arrival order. */
  requests: Req[];
  /** Most requests in flight at the same time (from accepting the connection to writing the answer). */
  maxConcurrent: number;
  close(): Promise<void>;
}

export async function startOrigin(knobs: Knobs = {}): Promise<Origin> {
  const state = { body: BODY, version: 1, exists: !knobs.absent };
  const requests: Req[] = [];
  const sockets = new Set<Socket>();
  let open = 0;
  const origin: Origin = {
    url: '',
    requests,
    maxConcurrent: 0,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    origin.maxConcurrent = Math.max(origin.maxConcurrent, ++open);
    // In flight from accept until the response is written (or the connection closes): when the server has
    // answered, the client's closing of its end is no longer a request in flight.
    let counted = true;
    const done = () => {
      if (counted) open--;
      counted = false;
    };
    socket.on('finish', done);
    socket.on('close', () => {
      done();
      sockets.delete(socket);
    });
    socket.on('error', () => {});
    readRequest(socket, (req) => {
      const n = requests.push(req);
      const fault = knobs.fault?.(req, n);
      if (fault === 'hang') return;
      if (fault === 'close') return void socket.destroy();
      if (knobs.delayMs) setTimeout(() => answer(socket, req, n, fault), knobs.delayMs);
      else answer(socket, req, n, fault);
    });
  });
  const answer = (socket: Socket, req: Req, n: number, fault: string | undefined) => {
    const reply = respond(req, n, knobs, state);
    if (fault === 'cut') {
      const body = reply.body ?? Buffer.alloc(0);
      socket.end(
        serialise({
          ...reply,
          headers: [...reply.headers, ['Content-Length', String(body.length)]],
        }).subarray(0, -Math.ceil(body.length / 2)),
      );
      return;
    }
    const head = req.method === 'HEAD' || reply.status === 304 || reply.status === 204;
    const framed: Reply = head
      ? reply
      : { ...reply, headers: [...reply.headers, ['Content-Length', String(reply.body?.length ?? 0)]] };
    socket.end(serialise(framed));
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  origin.url = `http://127.0.0.1:${port}`;
  return origin;
}

function serialise(reply: Reply): Buffer {
  const head = [
    `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? 'Status'}`,
    ...reply.headers.map(([n, v]) => `${n}: ${v}`),
  ];
  return Buffer.concat([
    Buffer.from(`${head.join('\r\n')}\r\nConnection: close\r\n\r\n`, 'latin1'),
    reply.body ?? Buffer.alloc(0),
    reply.after ?? Buffer.alloc(0),
  ]);
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  301: 'Moved Permanently',
  304: 'Not Modified',
  404: 'Not Found',
  412: 'Precondition Failed',
  428: 'Precondition Required',
};

/** Reads one request (head and Content-Length body) and hands it over. */
function readRequest(socket: Socket, handle: (req: Req) => void): void {
  let buffer = Buffer.alloc(0);
  let done = false;
  socket.on('data', (chunk: Buffer) => {
    if (done) return;
    buffer = Buffer.concat([buffer, chunk]);
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const [line, ...fields] = buffer.subarray(0, end).toString('latin1').split('\r\n');
    const [method, path] = line!.split(' ');
    const headers: Record<string, string> = {};
    for (const f of fields) {
      const i = f.indexOf(':');
      headers[f.slice(0, i).toLowerCase()] = f.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (buffer.length < end + 4 + length) return;
    done = true;
    handle({ method: method!, path: path!, headers, body: buffer.subarray(end + 4, end + 4 + length) });
  });
}

function respond(
  req: Req,
  n: number,
  k: Knobs,
  state: { body: Buffer; version: number; exists: boolean },
): Reply {
  const path = k.path ?? '/r';
  const hops = k.redirects ?? 0;
  const hop = /^\/hop(\d+)$/.exec(req.path);
  if (hops > 0 && (req.path === '/' || hop)) {
    const i = hop ? Number(hop[1]) : 0;
    return { status: 301, headers: [['Location', i + 1 >= hops ? path : `/hop${i + 1}`]] };
  }
  if (req.path.split('?')[0] !== path)
    return { status: 404, headers: [['Content-Type', 'text/plain']], body: Buffer.from('not found') };
  if (req.method === 'PUT' || req.method === 'DELETE') return write(req, k, state);
  if (!state.exists)
    return { status: 404, headers: [['Content-Type', 'text/plain']], body: Buffer.from('not found') };

  const codings = k.codings ?? ['gzip', 'br'];
  const accepted = (req.headers['accept-encoding'] ?? '').split(',').map((c) => c.trim());
  const coding = (['br', 'gzip'] as const).find((c) => codings.includes(c) && accepted.includes(c));
  const plain = k.body?.(n) ?? state.body;
  const body = coding === 'gzip' ? gzipSync(plain) : coding === 'br' ? brotliCompressSync(plain) : plain;
  const tagOf = (c: string | undefined) =>
    k.etag ? k.etag(c, req, n) : `"v${state.version}${c ? `-${c}` : ''}"`;
  const etag = tagOf(coding);
  const lastModified = k.lastModified === undefined ? formatHttpDate(LAST_MODIFIED) : k.lastModified;
  const headers: [string, string][] = [['Date', formatHttpDate(Date.now())]];
  if (k.cacheControl !== null) headers.push(['Cache-Control', k.cacheControl ?? 'no-cache']);
  if (etag !== undefined) headers.push(['ETag', etag]);
  if (lastModified !== null) headers.push(['Last-Modified', lastModified]);
  if ((k.vary ?? true) && codings.length > 0) headers.push(['Vary', 'Accept-Encoding']);
  if (k.setCookie) headers.push(['Set-Cookie', 'session=abc123; Path=/; HttpOnly']);

  const current = { etag: tagOf(undefined), lastModified: lastModified ?? undefined };
  const status = k.decide ? k.decide(req, current) : decide(req, current);
  if (status === 304) {
    const reply: Reply = { status: 304, headers };
    return k.notModified ? k.notModified(reply) : reply;
  }
  if (status === 412)
    return {
      status: 412,
      headers: [['Content-Type', 'text/plain']],
      body: Buffer.from('precondition failed'),
    };
  const full: Reply = {
    status: 200,
    headers: [
      ['Content-Type', 'text/plain'],
      ...(coding ? ([['Content-Encoding', coding]] as [string, string][]) : []),
      ...headers,
    ],
    body,
  };
  if (req.method === 'HEAD') {
    const head: Reply = {
      ...full,
      headers: [...full.headers, ['Content-Length', String(body.length)]],
      body: undefined,
    };
    return k.head ? k.head(head) : head;
  }
  return full;
}

/** Core's §13.2.2 evaluator, with coding suffixes stripped from the tags the client sends back. */
export function decide(req: Req, current: { etag?: string; lastModified?: string }): 200 | 304 | 412 {
  const headers = { ...req.headers };
  for (const name of ['if-none-match', 'if-match'])
    if (headers[name]) headers[name] = headers[name].replace(/-(gzip|br)"/g, '"');
  const d = evaluatePreconditions(
    { method: req.method, headers },
    { etag: current.etag, lastModified: parseHttpDate(current.lastModified) },
  );
  return d.action === 'not-modified' ? 304 : d.action === 'precondition-failed' ? 412 : 200;
}

function write(req: Req, k: Knobs, state: { body: Buffer; version: number; exists: boolean }): Reply {
  if (!k.writable) return { status: 405, headers: [['Allow', 'GET, HEAD']] };
  const tag = `"v${state.version}"`;
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  const failed: Reply = {
    status: 412,
    headers: [['Content-Type', 'text/plain']],
    body: Buffer.from('precondition failed'),
  };
  if (ifMatch !== undefined && k.writeBug !== 'ignore-if-match') {
    const list = parseEntityTagList(ifMatch);
    const current = parseEntityTag(tag)!;
    const holds =
      k.writeBug === 'reject-current'
        ? false
        : list === '*'
          ? state.exists
          : state.exists && list.some((t) => !t.weak && t.tag === current.tag);
    if (!holds) return failed;
  }
  if (ifNoneMatch?.trim() === '*' && state.exists && k.writeBug !== 'ignore-inm-star') return failed;
  if (k.requirePreconditions && state.exists && ifMatch === undefined && ifNoneMatch === undefined)
    return {
      status: 428,
      headers: [['Content-Type', 'text/plain']],
      body: Buffer.from('precondition required'),
    };
  const created = !state.exists;
  if (req.method === 'DELETE') {
    state.exists = false;
    state.version++;
    return { status: 204, headers: [] };
  }
  state.body = k.writeBug === 'mangle' ? Buffer.concat([req.body, Buffer.from('!')]) : Buffer.from(req.body);
  state.exists = true;
  state.version++;
  const headers: [string, string][] = k.writeBug === 'no-etag' ? [] : [['ETag', `"v${state.version}"`]];
  return { status: created ? 201 : 204, headers };
}
