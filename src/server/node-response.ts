/**
 * node:http plumbing shared by the node, express and koa adapters: write an early answer, hold a small body
 * back until it can be hashed, and keep a strong ETag honest when a compression middleware encodes the body.
 * Nothing here decides anything: decisions come from decide.ts.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { etagFromContent } from '../core/index.ts';
import { type EarlyResponse, keptOnNotModified } from './early-response.ts';
import { tagForEncoding } from './encoding.ts';

/** Writes a 304/412/428/500 described by decide.ts. */
export function writeEarly(res: ServerResponse, early: EarlyResponse): void {
  res.writeHead(early.status, early.headers);
  res.end(early.body);
}

/**
 * Replaces a 200 that was held back by a 304 (§15.4.5): drops every header a 304 must not carry, keeping
 * Set-Cookie since the handler ran.
 */
export function writeNotModified(
  res: ServerResponse,
  write: ServerResponse['writeHead'],
  end: () => void,
): void {
  const hasEtag = res.hasHeader('etag');
  for (const name of res.getHeaderNames()) if (!keptOnNotModified(name, hasEtag)) res.removeHeader(name);
  write.call(res, 304);
  end();
}

/**
 * Keeps a strong ETag computed for identity bytes honest: when Content-Encoding is set later (by `compression`,
 * `koa-compress`, …), the tag gets the coding as suffix (`"abc"` → `"abc-gzip"`).
 */
export function guardEncoding(res: ServerResponse): void {
  const setHeader = res.setHeader;
  res.setHeader = function guardedSetHeader(name: string, value: number | string | readonly string[]) {
    setHeader.call(this, name, value);
    if (name.length === 16 && name.toLowerCase() === 'content-encoding') suffixEtag(this, String(value));
    return this;
  };
}

function suffixEtag(res: ServerResponse, coding: string): void {
  const etag = res.getHeader('etag');
  if (typeof etag !== 'string') return;
  const tagged = tagForEncoding(etag, coding);
  if (tagged !== etag) res.setHeader('etag', tagged);
}

/**
 * Headers that must be set on a response once its status is known, before they go out. `onHead` receives
 * `context`, so a caller can pass one shared function instead of a closure per request.
 */
export function beforeHeadersSent<C>(
  res: ServerResponse,
  onHead: (res: ServerResponse, context: C) => void,
  context?: C,
): void {
  const writeHead = res.writeHead as Method;
  res.writeHead = function hookedWriteHead(
    this: ServerResponse,
    status: number,
    reason?: unknown,
    headers?: unknown,
  ) {
    this.statusCode = status;
    const fields = typeof reason === 'string' ? headers : reason;
    if (fields && typeof fields === 'object') applyHeaders(this, fields);
    onHead(this, context as C);
    return typeof reason === 'string' ? writeHead.call(this, status, reason) : writeHead.call(this, status);
  } as ServerResponse['writeHead'];
}

function applyHeaders(res: ServerResponse, headers: object): void {
  if (Array.isArray(headers)) {
    // [[name, value], …] or the flat [name, value, name, value, …] form.
    if (Array.isArray(headers[0])) for (const [k, v] of headers as [string, string][]) res.setHeader(k, v);
    else for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(headers[i], headers[i + 1]);
    return;
  }
  const h = headers as OutgoingHttpHeaders;
  for (const name in h) if (h[name] !== undefined) res.setHeader(name, h[name]!);
}

export interface CaptureControl {
  /** Stop holding the body back: everything buffered so far is written and the rest passes through. */
  release(): void;
}

/**
 * What to do with a fully captured body: `send` writes it as it was, `notModified` answers 304 instead,
 * `replace` writes another early response (412).
 */
export interface Captured {
  readonly res: ServerResponse;
  readonly body: Buffer;
  send(): void;
  notModified(): void;
  replace(early: EarlyResponse): void;
}

type Method = (...args: unknown[]) => unknown;
const kCapture = Symbol('etagkit.capture');
type CapturingResponse = ServerResponse & { [kCapture]: Capture<unknown> };
const EMPTY = Buffer.alloc(0);
/** Up to this many characters, re-encoding a string costs less than writing head and body separately. */
const WHOLE_MAX = 4096;

/**
 * Holds back what a handler writes while it stays within `limit` bytes and `eligible(res)` holds, then calls
 * `finish(captured, context)` with the whole body. Passes through (never buffering all of it) a body that grows
 * past the limit, a response that is not eligible (status, Server-Sent Events), `flushHeaders()` and
 * `X-Accel-Buffering: no`. The per-request state is one object; the replaced methods are shared functions.
 */
export function captureBody<C>(
  res: ServerResponse,
  limit: number,
  eligible: (res: ServerResponse) => boolean,
  finish: (captured: Captured, context: C) => void,
  context: C,
): CaptureControl {
  const capture = new Capture(res, limit, eligible, finish, context);
  (res as CapturingResponse)[kCapture] = capture as Capture<unknown>;
  res.writeHead = capturedWriteHead as ServerResponse['writeHead'];
  res.flushHeaders = capturedFlushHeaders;
  res.write = capturedWrite as ServerResponse['write'];
  res.end = capturedEnd as ServerResponse['end'];
  return capture;
}

class Capture<C> implements Captured, CaptureControl {
  readonly res: ServerResponse;
  readonly write: Method;
  readonly end: Method;
  readonly writeHead: Method;
  readonly flushHeaders: Method;
  readonly limit: number;
  readonly eligible: (res: ServerResponse) => boolean;
  readonly finish: (captured: Captured, context: C) => void;
  readonly context: C;
  passing = false;
  headCalled = false;
  chunks: Buffer[] = [];
  size = 0;
  body: Buffer = EMPTY;
  /**
   * A short body given whole to end() as a string goes out as that string: node writes head and body at once.
   * A longer one goes out as the bytes already encoded for hashing, so it is not encoded twice.
   */
  whole: string | undefined;
  encoding: unknown;
  callback: unknown;

  constructor(
    res: ServerResponse,
    limit: number,
    eligible: (res: ServerResponse) => boolean,
    finish: (captured: Captured, context: C) => void,
    context: C,
  ) {
    this.res = res;
    this.write = res.write as Method;
    this.end = res.end as Method;
    this.writeHead = res.writeHead as Method;
    this.flushHeaders = res.flushHeaders as Method;
    this.limit = limit;
    this.eligible = eligible;
    this.finish = finish;
    this.context = context;
  }

  stillEligible(): boolean {
    const type = this.res.getHeader('content-type');
    return (
      this.eligible(this.res) &&
      !(typeof type === 'string' && type.startsWith('text/event-stream')) &&
      this.res.getHeader('x-accel-buffering') !== 'no'
    );
  }

  release(): void {
    if (this.passing) return;
    this.passing = true;
    if (this.headCalled) this.sendHead();
    for (const chunk of this.chunks) this.write.call(this.res, chunk);
    this.chunks.length = 0;
  }

  push(chunk: unknown, encoding: unknown): void {
    let buffer: Buffer;
    if (Buffer.isBuffer(chunk)) buffer = chunk;
    else if (typeof chunk === 'string') buffer = Buffer.from(chunk, (encoding as BufferEncoding) || 'utf8');
    else {
      const view = chunk as Uint8Array;
      buffer = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    }
    this.chunks.push(buffer);
    this.size += buffer.byteLength;
  }

  sendHead(): void {
    this.writeHead.call(this.res, this.res.statusCode, this.res.statusMessage);
  }

  sendEnd(data: Buffer | string | undefined): void {
    this.end.call(this.res, data, this.whole === undefined ? undefined : this.encoding, this.callback);
  }

  send(): void {
    const res = this.res;
    // Without an explicit writeHead, node adds Content-Length itself for a body given to end(), except for
    // HEAD, which should announce the length GET would send (§9.3.2).
    if (
      (this.headCalled || res.req?.method === 'HEAD') &&
      !res.headersSent &&
      !res.hasHeader('content-length')
    ) {
      res.setHeader('content-length', this.body.byteLength);
    }
    if (this.headCalled) this.sendHead();
    this.sendEnd(this.whole ?? this.body);
  }

  notModified(): void {
    writeNotModified(this.res, this.writeHead as ServerResponse['writeHead'], () => this.sendEnd(undefined));
  }

  replace(early: EarlyResponse): void {
    for (const name of this.res.getHeaderNames()) this.res.removeHeader(name);
    this.writeHead.call(this.res, early.status, early.headers);
    this.sendEnd(early.body === undefined ? undefined : Buffer.from(early.body));
  }
}

function capturedWriteHead(this: CapturingResponse, ...args: unknown[]): ServerResponse {
  const c = this[kCapture];
  if (c.passing) return c.writeHead.apply(this, args) as ServerResponse;
  this.statusCode = args[0] as number;
  if (typeof args[1] === 'string') this.statusMessage = args[1];
  const headers = args[args.length - 1];
  if (args.length > 1 && headers && typeof headers === 'object') applyHeaders(this, headers);
  c.headCalled = true;
  if (!c.stillEligible()) c.release();
  return this;
}

function capturedFlushHeaders(this: CapturingResponse): void {
  const c = this[kCapture];
  c.release();
  c.flushHeaders.call(this);
}

function capturedWrite(this: CapturingResponse, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
  const c = this[kCapture];
  if (!c.passing && !c.stillEligible()) c.release();
  if (c.passing) return c.write.call(this, chunk, encoding, cb) as boolean;
  c.push(chunk, typeof encoding === 'string' ? encoding : undefined);
  const callback = typeof encoding === 'function' ? encoding : cb;
  if (typeof callback === 'function') process.nextTick(callback as () => void);
  if (c.size > c.limit) c.release();
  return true;
}

function capturedEnd(
  this: CapturingResponse,
  chunk?: unknown,
  encoding?: unknown,
  cb?: unknown,
): ServerResponse {
  if (typeof chunk === 'function') return capturedEnd.call(this, undefined, undefined, chunk);
  if (typeof encoding === 'function') return capturedEnd.call(this, chunk, undefined, encoding);
  const c = this[kCapture];
  if (!c.passing && !c.stillEligible()) c.release();
  if (c.passing) return c.end.call(this, chunk, encoding, cb) as ServerResponse;
  if (chunk != null) c.push(chunk, encoding);
  if (c.size > c.limit) {
    c.release(); // writes the last chunk too
    return c.end.call(this, undefined, undefined, cb) as ServerResponse;
  }
  c.passing = true; // from now on, writes go straight through
  c.body = c.chunks.length === 1 ? c.chunks[0]! : Buffer.concat(c.chunks, c.size);
  c.whole =
    c.chunks.length === 1 && typeof chunk === 'string' && chunk.length <= WHOLE_MAX ? chunk : undefined;
  c.encoding = encoding;
  c.callback = cb;
  c.chunks.length = 0;
  c.finish(c, c.context);
  return this;
}

/** A strong content tag (weak when asked) for a captured body. */
export function hashBody(body: Buffer, weak: boolean): string {
  const tag = etagFromContent(body);
  return weak ? `W/${tag}` : tag;
}
