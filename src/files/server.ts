/**
 * Static files with validators done right: strong ETags per content coding, Last-Modified, 304/412 (RFC 9110
 * §13), Range and If-Range (§14, §13.1.5), HEAD, and — when writable — guarded PUT/DELETE (see writes.ts).
 *
 * The logic answers with a `FilePlan` (status, headers, body description); `serveFiles` renders it as a Fetch
 * Response and `serveFilesNode` (node.ts) writes it straight to a node:http response.
 */
import type { Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliCompress, gzip, constants as zlib } from 'node:zlib';
import {
  etagFromStats,
  evaluatePreconditions,
  formatContentRange,
  formatHttpDate,
  formatUnsatisfiedRange,
  getHeader,
  type HeaderSource,
  type PreconditionDecision,
} from '../core/index.ts';
import { problem } from '../server/problem.ts';
import { type FileBody, fileBodyStream } from './body.ts';
import { ByteCache } from './byte-cache.ts';
import { contentTypeFor, isCompressible } from './mime.ts';
import { type ContentCoding, selectCoding } from './negotiate.ts';
import { FileRoot, parseRequestPath } from './paths.ts';
import { sweepTempFiles } from './temp-files.ts';
import { handleWrite, type WriteOptions } from './writes.ts';

export type { FileBody } from './body.ts';

export interface ServeFilesOptions extends WriteOptions {
  /** Allow PUT and DELETE. Default false. */
  writable?: boolean;
  /** Cache-Control on every file response. Default `no-cache`: caches store, but revalidate every use. */
  cacheControl?: string;
  /** Compress text-like files on the fly (gzip/br), each coding with its own strong ETag. Default true. */
  compress?: boolean;
}

/** A request as the file server needs it, independent of node:http or Fetch. */
export interface FileRequest {
  method: string;
  /** The URL path, still percent-encoded, without the query. */
  pathname: string;
  search: string;
  headers: HeaderSource;
  body?: AsyncIterable<Uint8Array> | null;
}

export interface FilePlan {
  status: number;
  headers: Record<string, string>;
  body?: FileBody;
}

/** Files up to this size are kept in memory (validated by ETag on every request). */
const SMALL_FILE = 64 * 1024;
const SMALL_CACHE_BYTES = 32 * 1024 * 1024;
/** On-the-fly compression is for files up to this size; larger ones go out as they are stored. */
const COMPRESS_MAX = 4 * 1024 * 1024;
const COMPRESS_MIN = 256;

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);
const encoder = new TextEncoder();

/** The representation selected for a request: which file, which coding, and its validators. */
interface Variant {
  path: string;
  stats: Stats;
  etag: string;
  coding?: ContentCoding;
  /** The coding is applied here, in memory (no Range on such a variant). */
  onTheFly: boolean;
}

export class FileServer {
  readonly root: FileRoot;
  readonly #options: Required<Pick<ServeFilesOptions, 'writable' | 'cacheControl' | 'compress'>> &
    ServeFilesOptions;
  readonly #memory = new ByteCache(SMALL_CACHE_BYTES);

  constructor(root: FileRoot, options: ServeFilesOptions = {}) {
    this.root = root;
    this.#options = { writable: false, cacheControl: 'no-cache', compress: true, ...options };
  }

  /**
   * Opens the directory `root` (a clear error when it does not exist). A writable server first removes the temp
   * files a crashed server left there (temp-files.ts), so they never pile up.
   */
  static async open(root: string, options: ServeFilesOptions = {}): Promise<FileServer> {
    const fileRoot = await FileRoot.open(root);
    if (options.writable) await sweepTempFiles(fileRoot.path);
    return new FileServer(fileRoot, options);
  }

  async respond(request: FileRequest): Promise<FilePlan> {
    try {
      return await this.#respond(request);
    } catch (error) {
      const answer = fileSystemProblem(error as NodeJS.ErrnoException, request.pathname);
      if (answer) return answer;
      throw error;
    }
  }

  async #respond(request: FileRequest): Promise<FilePlan> {
    const method = request.method.toUpperCase();
    const path = parseRequestPath(request.pathname);
    if (!path.ok) return problem(path.status, path.status === 400 ? 'Bad path' : 'Not Found', path.reason);
    if (method === 'PUT' || method === 'DELETE') {
      if (!this.#options.writable) return methodNotAllowed(false);
      return handleWrite(this.root, { ...request, method }, path.segments, this.#options);
    }
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(this.#options.writable);
    // A file can change between stat and open; then start again (twice at most) so body and ETag agree.
    for (let attempt = 0; ; attempt++) {
      const plan = await this.#read(method, request, path.segments, path.trailingSlash, Date.now());
      if (plan !== 'changed') return plan;
      if (attempt === 2) return problem(503, 'File busy', 'the file kept changing while it was read; retry');
    }
  }

  async #read(
    method: string,
    request: FileRequest,
    segments: string[],
    trailingSlash: boolean,
    now: number,
  ): Promise<FilePlan | 'changed'> {
    let found = await this.root.lookup(segments);
    if (found?.stats.isDirectory()) {
      // A directory is served by its index.html, at a URL ending in "/" so that relative links resolve.
      // Leading slashes collapse to one: "//host/" would be a network-path reference to another host (§4.2.1).
      const location = `${request.pathname.replace(/^\/+/, '/')}/${request.search}`;
      if (!trailingSlash) return { status: 301, headers: { location } };
      found = await this.root.lookup([...segments, 'index.html']);
    }
    if (!found?.stats.isFile()) return problem(404, 'Not Found', `no file at ${request.pathname}`);
    const { real, stats } = found;

    const contentType = contentTypeFor(real);
    const compressible = this.#options.compress && isCompressible(contentType);
    const hasRange = getHeader(request.headers, 'range') !== undefined;
    const variant = await this.#selectVariant(
      real,
      stats,
      compressible,
      getHeader(request.headers, 'accept-encoding'),
      hasRange,
    );

    const headers: Record<string, string> = {
      etag: variant.etag,
      'cache-control': this.#options.cacheControl,
      // §6.6.1, taken before the file was looked at: a change after this read gets a later modification time,
      // which is what lets If-Unmodified-Since with this date guard a write (writes.ts, dateGuardHolds).
      date: httpDate(now),
    };
    // §12.5.5: the response depends on Accept-Encoding whenever the file could be sent compressed.
    if (compressible) headers.vary = 'Accept-Encoding';

    // §8.8.2.1: the date of the bytes sent. A sibling is never older than its source, but may be newer.
    const lastModified = variant.stats.mtimeMs;
    const decision = evaluatePreconditions(
      { method, headers: request.headers },
      { etag: variant.etag, lastModified, size: variant.onTheFly ? undefined : variant.stats.size, now },
    );
    if (decision.action === 'not-modified') {
      // §15.4.5: only the fields a cache needs to update its stored response; no Last-Modified next to an ETag.
      return { status: 304, headers };
    }
    if (decision.action === 'precondition-failed') return preconditionFailed(decision, headers);

    headers['last-modified'] = formatHttpDate(lastModified);
    headers['content-type'] = contentType;
    if (variant.coding) headers['content-encoding'] = variant.coding;
    if (!variant.onTheFly) headers['accept-ranges'] = 'bytes';

    if (variant.onTheFly) {
      const data = await this.#compressed(variant, stats);
      if (data === 'changed') return 'changed';
      headers['content-length'] = String(data.byteLength);
      return { status: 200, headers, body: method === 'HEAD' ? undefined : { kind: 'bytes', data } };
    }
    return this.#fromFile(method, variant, decision, headers, contentType);
  }

  async #fromFile(
    method: string,
    variant: Variant,
    decision: PreconditionDecision,
    headers: Record<string, string>,
    contentType: string,
  ): Promise<FilePlan | 'changed'> {
    const size = variant.stats.size;
    if (decision.action === 'range-not-satisfiable') {
      // §15.5.17: 416 says how long the representation is.
      return {
        status: 416,
        headers: { 'content-range': formatUnsatisfiedRange(size), 'content-length': '0' },
      };
    }
    const ranges = decision.action === 'partial' ? decision.ranges : undefined;
    let status = 200;
    if (ranges?.length === 1) {
      status = 206;
      headers['content-range'] = formatContentRange(ranges[0]!, size);
      headers['content-length'] = String(ranges[0]!.end - ranges[0]!.start + 1);
    } else if (ranges) {
      status = 206;
      const boundary = `etagkit-${crypto.randomUUID()}`;
      const parts = ranges.map((range) => ({
        range,
        head: encoder.encode(
          `\r\n--${boundary}\r\ncontent-type: ${contentType}\r\ncontent-range: ${formatContentRange(range, size)}\r\n\r\n`,
        ),
      }));
      const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
      const length = parts.reduce(
        (n, p) => n + p.head.byteLength + p.range.end - p.range.start + 1,
        tail.byteLength,
      );
      headers['content-type'] = `multipart/byteranges; boundary=${boundary}`;
      headers['content-length'] = String(length);
      if (method === 'HEAD') return { status, headers };
      const handle = await this.#openUnchanged(variant);
      return handle === 'changed'
        ? handle
        : { status, headers, body: { kind: 'parts', handle, parts, tail } };
    } else {
      headers['content-length'] = String(size);
    }
    if (method === 'HEAD') return { status, headers };

    const start = ranges?.[0]?.start ?? 0;
    const end = ranges?.[0]?.end ?? size - 1;
    if (size <= SMALL_FILE) {
      const data = await this.#small(variant);
      if (data === 'changed') return data;
      return {
        status,
        headers,
        body: { kind: 'bytes', data: ranges ? data.subarray(start, end + 1) : data },
      };
    }
    const handle = await this.#openUnchanged(variant);
    return handle === 'changed' ? handle : { status, headers, body: { kind: 'file', handle, start, end } };
  }

  /**
   * Chooses identity, a pre-compressed sibling (`x.br`, `x.gz`, not older than `x`) or on-the-fly compression.
   * Each coding gets its own strong ETag: a strong tag names one exact byte sequence (§8.8.1).
   */
  async #selectVariant(
    path: string,
    stats: Stats,
    compressible: boolean,
    acceptEncoding: string | undefined,
    hasRange: boolean,
  ): Promise<Variant> {
    const identity: Variant = { path, stats, etag: etagFromStats(stats), onTheFly: false };
    if (!compressible || !acceptEncoding || stats.size < COMPRESS_MIN) return identity;
    const wanted = selectCoding(acceptEncoding);
    if (!wanted) return identity;
    for (const coding of wanted === 'br' ? (['br', 'gzip'] as const) : (['gzip'] as const)) {
      if (selectCoding(acceptEncoding, [coding]) !== coding) continue;
      const siblingPath = await this.root.resolvePath(`${path}.${coding === 'br' ? 'br' : 'gz'}`);
      const sibling = siblingPath ? await statOrUndefined(siblingPath) : undefined;
      if (siblingPath && sibling?.isFile() && sibling.mtimeMs >= stats.mtimeMs) {
        return {
          path: siblingPath,
          stats: sibling,
          etag: etagFromStats(sibling, { suffix: coding }),
          coding,
          onTheFly: false,
        };
      }
    }
    // A byte range of an on-the-fly encoding would need the whole encoding first; serve identity ranges instead.
    if (hasRange || stats.size > COMPRESS_MAX) return identity;
    return { path, stats, etag: etagFromStats(stats, { suffix: wanted }), coding: wanted, onTheFly: true };
  }

  async #compressed(variant: Variant, stats: Stats): Promise<Uint8Array | 'changed'> {
    const key = `${variant.path}\0${variant.coding}`;
    const cached = this.#memory.get(key, variant.etag);
    if (cached) return cached;
    const handle = await this.#openUnchanged(variant);
    if (handle === 'changed') return handle;
    let raw: Buffer;
    try {
      raw = await handle.readFile();
    } finally {
      await handle.close();
    }
    if (raw.byteLength !== stats.size) return 'changed';
    const data =
      variant.coding === 'br'
        ? await brotliAsync(raw, {
            params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.byteLength },
          })
        : await gzipAsync(raw, { level: 6 });
    this.#memory.set(key, variant.etag, data);
    return data;
  }

  async #small(variant: Variant): Promise<Uint8Array | 'changed'> {
    const cached = this.#memory.get(variant.path, variant.etag);
    if (cached) return cached;
    const handle = await this.#openUnchanged(variant);
    if (handle === 'changed') return handle;
    try {
      const data = await handle.readFile();
      if (data.byteLength !== variant.stats.size) return 'changed';
      this.#memory.set(variant.path, variant.etag, data);
      return data;
    } finally {
      await handle.close();
    }
  }

  /**
   * Opens the variant's file and checks it is still the one whose ETag we are about to send. A file gone since
   * the lookup is 'changed' (look it up again); other errors, such as EACCES, are thrown.
   */
  async #openUnchanged(variant: Variant): Promise<FileHandle | 'changed'> {
    let handle: FileHandle;
    try {
      handle = await open(variant.path, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return 'changed';
      throw error;
    }
    const now = await handle.stat();
    if (now.size !== variant.stats.size || now.mtimeMs !== variant.stats.mtimeMs) {
      await handle.close();
      return 'changed';
    }
    return handle;
  }
}

let lastDate = { second: Number.NaN, text: '' };

/** formatHttpDate, computed once a second. */
function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== lastDate.second) lastDate = { second, text: formatHttpDate(second * 1000) };
  return lastDate.text;
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/**
 * The answer to a file system error the client caused or can act on, as problem+json; undefined for the rest,
 * which are server failures (500).
 */
function fileSystemProblem(error: NodeJS.ErrnoException, pathname: string): FilePlan | undefined {
  switch (error.code) {
    case 'EACCES':
    case 'EPERM':
      return problem(403, 'Forbidden', `the server has no permission to access ${pathname}`);
    case 'EROFS':
      return problem(403, 'Forbidden', 'the served directory is on a read-only file system');
    case 'ELOOP':
      return problem(409, 'Conflict', 'a symbolic link on this path leads back to itself (a link loop)');
    case 'ENAMETOOLONG':
      // §15.5.15: longer than the server is willing (here: able) to interpret.
      return problem(
        414,
        'URI Too Long',
        'a name on this path is longer than the file system allows (255 bytes per name)',
      );
    case 'ENOSPC':
    case 'EDQUOT':
      // RFC 4918 §11.5: the server cannot store the representation.
      return problem(507, 'Insufficient Storage', 'the disk holding the served directory is full');
    default:
      return undefined;
  }
}

function methodNotAllowed(writable: boolean): FilePlan {
  const plan = problem(
    405,
    'Method Not Allowed',
    writable
      ? 'use GET, HEAD, PUT or DELETE'
      : 'use GET or HEAD (start with --writable to allow PUT and DELETE)',
  );
  plan.headers.allow = writable ? 'GET, HEAD, PUT, DELETE' : 'GET, HEAD';
  return plan;
}

/** 412 (§15.5.13) with a problem+json body naming the precondition that failed, and the current ETag. */
export function preconditionFailed(decision: { by: string }, headers: Record<string, string>): FilePlan {
  const plan = problem(
    412,
    'Precondition Failed',
    `${decision.by} did not match the current representation`,
    {
      precondition: decision.by,
    },
  );
  if (headers.etag) plan.headers.etag = headers.etag;
  return plan;
}

/**
 * A Fetch-API handler serving the files under `root`.
 *
 * @example
 * const handler = await serveFiles('./public', { writable: true, requirePreconditions: true });
 * Deno.serve(handler); // or Bun.serve({ fetch: handler }), or etagkit/node
 */
export async function serveFiles(
  root: string,
  options: ServeFilesOptions = {},
): Promise<(request: Request) => Promise<Response>> {
  const server = await FileServer.open(root, options);
  return async (request) => {
    const url = new URL(request.url);
    const plan = await server.respond({
      method: request.method,
      pathname: rawPathname(request.url),
      search: url.search,
      headers: request.headers,
      body: request.body as AsyncIterable<Uint8Array> | null,
    });
    return new Response(planBody(plan.body), { status: plan.status, headers: plan.headers });
  };
}

/** The path as sent (URL parsing would resolve `..` and decode, hiding what we must reject). */
function rawPathname(url: string): string {
  const afterScheme = url.indexOf('//');
  const start = url.indexOf('/', afterScheme < 0 ? 0 : afterScheme + 2);
  if (start < 0) return '/';
  const end = url.slice(start).search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, start + end);
}

function planBody(body: FileBody | undefined): BodyInit | null {
  if (!body) return null;
  if (body.kind === 'bytes') return body.data as Uint8Array<ArrayBuffer>;
  return Readable.toWeb(fileBodyStream(body)) as ReadableStream<Uint8Array<ArrayBuffer>>;
}
