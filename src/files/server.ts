/**
 * Static files with validators done right: strong ETags per content coding, Last-Modified, 304/412 (RFC 9110
 * §13), Range and If-Range (§14, §13.1.5), HEAD, and — when writable — guarded PUT/DELETE (see writes.ts).
 *
 * Each file served is remembered at its request path (representations.ts): its variants, their header blocks
 * and the bytes of small ones, in one LRU budget (`cacheBytes`). `respondNow` answers a GET or HEAD of an
 * unchanged remembered file synchronously, after one `stat`; everything else goes through `respond`. Both give
 * a `FilePlan` (status, headers, body description): `serveFiles` renders it as a Fetch Response and
 * `serveFilesNode` (node.ts) writes it straight to a node:http response.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { evaluatePreconditions, formatHttpDate, getHeader, type HeaderSource } from '../core/index.ts';
import { problem } from '../server/problem.ts';
import {
  type FilePlan,
  fileSystemProblem,
  methodNotAllowed,
  partial,
  preconditionFailed,
  rangeNotSatisfiable,
} from './answers.ts';
import { type FileBody, fileBodyStream } from './body.ts';
import { Compressor } from './compression.ts';
import { ContentTagger, type EtagMode, type FileTagger, statsTagger } from './etags.ts';
import { Lru } from './lru.ts';
import { contentTypeFor, isCompressible } from './mime.ts';
import { type ContentCoding, selectCoding } from './negotiate.ts';
import { FileRoot, parseRequestPath } from './paths.ts';
import {
  entryWeight,
  type FileEntry,
  type Fingerprint,
  fingerprint,
  makeVariant,
  type PreferenceKey,
  preferenceKey,
  sameVersion,
  type Variant,
} from './representations.ts';
import { sweepTempFiles } from './temp-files.ts';
import { handleWrite, type WriteOptions } from './writes.ts';

export type { FilePlan } from './answers.ts';
export type { FileBody } from './body.ts';

export interface ServeFilesOptions extends WriteOptions {
  /** Allow PUT and DELETE. Default false. */
  writable?: boolean;
  /** Cache-Control on every file response. Default `no-cache`: caches store, but revalidate every use. */
  cacheControl?: string;
  /** Compress text-like files on the fly (gzip/br), each coding with its own strong ETag. Default true. */
  compress?: boolean;
  /** ETags from `stats` (size + modification time, the default) or from `content` (a hash of the bytes). */
  etag?: EtagMode;
  /** Memory for file bytes, encodings and per-file headers kept between requests. Default 64 MiB. */
  cacheBytes?: number;
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

const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
/**
 * Files up to this size are kept in memory once read (checked against the file on every request): answering
 * from memory costs a tenth of reading the file again (1 MB 200s measured ~1.5 ms of CPU streamed vs ~0.15 ms).
 */
const KEEP_FILE_MAX = 1024 * 1024;
/** On-the-fly compression is for files from COMPRESS_MIN to COMPRESS_MAX bytes; others go out as stored. */
const COMPRESS_MIN = 256;
const COMPRESS_MAX = 4 * 1024 * 1024;
/** Once the cache is full, one new file in this many is remembered (see #admit). */
const ADMIT_WHEN_FULL = 8;
/** How long links and directories on the way, and which siblings exist, are trusted before a new lookup. */
const RECHECK_MS = 1000;

type Resolved = Required<Omit<ServeFilesOptions, 'maxBodyBytes'>> & ServeFilesOptions;

export class FileServer {
  readonly root: FileRoot;
  readonly #options: Resolved;
  readonly #tagger: FileTagger;
  readonly #entries: Lru<string, FileEntry>;
  readonly #compressor = new Compressor();
  readonly #preferences = new Lru<string, PreferenceKey>(1024);
  /** The largest body kept in memory, and the largest file compressed on the fly (its encoding is kept). */
  readonly #keepMax: number;
  readonly #compressMax: number;
  readonly #maxBytes: number;
  #refusedWhenFull = 0;

  constructor(root: FileRoot, options: ServeFilesOptions = {}) {
    this.root = root;
    this.#options = {
      ...options,
      writable: options.writable ?? false,
      cacheControl: options.cacheControl ?? 'no-cache',
      compress: options.compress ?? true,
      etag: options.etag ?? 'stats',
      cacheBytes: options.cacheBytes ?? DEFAULT_CACHE_BYTES,
      requirePreconditions: options.requirePreconditions ?? false,
    };
    const { cacheBytes, etag } = this.#options;
    if (!(Number.isSafeInteger(cacheBytes) && cacheBytes >= 0))
      throw new RangeError(`cacheBytes must be a whole number of bytes, not ${cacheBytes}`);
    if (etag !== 'stats' && etag !== 'content')
      throw new RangeError(`etag must be "stats" or "content", not ${JSON.stringify(etag)}`);
    this.#tagger = etag === 'content' ? new ContentTagger() : statsTagger;
    this.#entries = new Lru(cacheBytes, entryWeight);
    this.#maxBytes = cacheBytes;
    // One file's bytes may take an eighth of the budget, so a few large files cannot push out all the rest.
    this.#keepMax = Math.floor(cacheBytes / 8);
    this.#compressMax = Math.min(COMPRESS_MAX, this.#keepMax);
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

  /** How much the cache holds: request paths remembered and their weight in bytes. */
  get cached(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#entries.weight };
  }

  /**
   * The answer to a GET or HEAD of a remembered file that has not changed (one `stat`), when it needs no I/O:
   * a 304, or a 200 whose bytes are in memory (HEAD: any size). Undefined for anything else — Range,
   * If-Match, If-Unmodified-Since, an encoding not made yet — which `respond` handles.
   *
   * The plan's headers are the entry's own header block, shared by every response (do not change them), and
   * carry no Date: answered within the request's own event, the server's Date (node's, or the runtime's) is
   * stamped microseconds after the stat, well within the second of margin writes.ts relies on.
   */
  respondNow(request: FileRequest): FilePlan | undefined {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    const entry = this.#entries.get(request.pathname);
    if (entry === undefined) return undefined;
    const now = Date.now();
    if (now >= entry.until) return undefined;
    const h = request.headers;
    if (
      getHeader(h, 'range') !== undefined ||
      getHeader(h, 'if-match') !== undefined ||
      getHeader(h, 'if-unmodified-since') !== undefined
    )
      return undefined;
    const preference = entry.compressible ? this.#preference(getHeader(h, 'accept-encoding')) : '';
    const variant = preference === '' ? entry.identity : entry.chosen[preference];
    if (variant === undefined || !unchanged(entry.path, entry.version)) return undefined;
    if (variant.path !== entry.path && !unchanged(variant.path, variant.version)) return undefined;
    const inm = getHeader(h, 'if-none-match');
    // The common revalidation — If-None-Match with exactly the current tag — needs no parsing (§13.1.2).
    if (
      inm === variant.etag ||
      ((inm !== undefined || getHeader(h, 'if-modified-since') !== undefined) &&
        evaluatePreconditions(
          { method, headers: h },
          { etag: variant.etag, lastModified: variant.version.mtimeMs, now },
        ).action === 'not-modified')
    )
      return { status: 304, headers: variant.notModified };
    if (method === 'HEAD') return { status: 200, headers: variant.ok };
    if (variant.bytes === undefined) return undefined;
    return { status: 200, headers: variant.ok, body: { kind: 'bytes', data: variant.bytes } };
  }

  /** The answer to any request (try `respondNow` first: this one does not). */
  async respond(request: FileRequest): Promise<FilePlan> {
    const now = Date.now();
    try {
      return await this.#respond(request, now);
    } catch (error) {
      const answer = fileSystemProblem(error as NodeJS.ErrnoException, request.pathname);
      if (answer) return answer;
      throw error;
    }
  }

  async #respond(request: FileRequest, now: number): Promise<FilePlan> {
    const method = request.method.toUpperCase();
    const path = parseRequestPath(request.pathname);
    if (!path.ok) return problem(path.status, path.status === 400 ? 'Bad path' : 'Not Found', path.reason);
    if (method === 'PUT' || method === 'DELETE') {
      if (!this.#options.writable) return methodNotAllowed(false);
      return handleWrite(this.root, { ...request, method }, path.segments, {
        ...this.#options,
        tagger: this.#tagger,
      });
    }
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(this.#options.writable);
    // A file can change between stat and open; then start again (twice at most) so body and ETag agree.
    for (let attempt = 0; ; attempt++) {
      const plan = await this.#read(method, request, path.segments, path.trailingSlash, now);
      if (plan !== 'changed') return plan;
      this.#entries.delete(request.pathname);
      if (attempt === 2) return problem(503, 'File busy', 'the file kept changing while it was read; retry');
      now = Date.now();
    }
  }

  async #read(
    method: string,
    request: FileRequest,
    segments: string[],
    trailingSlash: boolean,
    now: number,
  ): Promise<FilePlan | 'changed'> {
    const entry = await this.#entry(request, segments, trailingSlash, now);
    if (entry === 'changed' || !('identity' in entry)) return entry;
    const preference = entry.compressible
      ? this.#preference(getHeader(request.headers, 'accept-encoding'))
      : '';
    let variant = await this.#choose(entry, preference);
    if (variant === 'changed') return variant;
    // A byte range of an on-the-fly encoding would need the whole encoding first: serve identity ranges.
    if (variant.onTheFly && getHeader(request.headers, 'range') !== undefined) variant = entry.identity;
    return this.#answer(method, request, entry, preference, variant, now);
  }

  /** The remembered entry for this request path, looked up again when due or when the file changed. */
  async #entry(
    request: FileRequest,
    segments: string[],
    trailingSlash: boolean,
    now: number,
  ): Promise<FileEntry | FilePlan | 'changed'> {
    const key = request.pathname;
    const cached = this.#entries.get(key);
    if (cached && now < cached.until && unchanged(cached.path, cached.version)) return cached;
    let found = await this.root.lookup(segments);
    if (found?.stats.isDirectory()) {
      // A directory is served by its index.html, at a URL ending in "/" so that relative links resolve.
      // Leading slashes collapse to one: "//host/" would be a network-path reference to another host (§4.2.1).
      const location = `${request.pathname.replace(/^\/+/, '/')}/${request.search}`;
      if (!trailingSlash) return { status: 301, headers: { location } };
      found = await this.root.lookup([...segments, 'index.html']);
    }
    if (!found?.stats.isFile()) return problem(404, 'Not Found', `no file at ${request.pathname}`);
    const version = fingerprint(found.stats);
    if (cached && cached.path === found.real && sameVersion(cached.version, version)) {
      // Same file, same version: keep its bytes and encodings; which siblings exist is looked at again.
      cached.until = now + RECHECK_MS;
      cached.chosen = {};
      this.#entries.reweigh(key);
      return cached;
    }
    const etag = await this.#tagger.tag(found.real, found.stats);
    if (etag === 'changed') return etag;
    const contentType = contentTypeFor(found.real);
    const file = {
      contentType,
      compressible: this.#options.compress && isCompressible(contentType),
      cacheControl: this.#options.cacheControl,
    };
    const entry: FileEntry = {
      key,
      path: found.real,
      version,
      ...file,
      identity: makeVariant({ path: found.real, version, etag, onTheFly: false }, file),
      encoded: {},
      chosen: {},
      until: now + RECHECK_MS,
    };
    this.#admit(entry);
    return entry;
  }

  /**
   * Remembers a new entry. Once the cache is full, only one new file in ADMIT_WHEN_FULL is let in (each pushes
   * out older ones): a file asked for again and again gets in after a few requests and then stays while it is
   * used, but a stream of files asked for once — a crawler, a tree larger than the cache — no longer replaces
   * the whole cache, and the garbage of evicted entries no longer keeps the garbage collector busy (measured at
   * 100k files requested at random: ~40 % less CPU per request).
   */
  #admit(entry: FileEntry): void {
    const body = entry.version.size <= Math.min(KEEP_FILE_MAX, this.#keepMax) ? entry.version.size : 0;
    const full = this.#entries.weight + entryWeight(entry) + body > this.#maxBytes;
    if (full && this.#entries.size > 0 && ++this.#refusedWhenFull % ADMIT_WHEN_FULL !== 0) return;
    this.#entries.set(entry.key, entry);
  }

  /** The coding preference an Accept-Encoding field expresses, parsed once per distinct value. */
  #preference(acceptEncoding: string | undefined): PreferenceKey {
    if (acceptEncoding === undefined) return '';
    let key = this.#preferences.get(acceptEncoding);
    if (key === undefined) {
      const wanted = selectCoding(acceptEncoding);
      key = preferenceKey(wanted, wanted === 'br' && selectCoding(acceptEncoding, ['gzip']) === 'gzip');
      this.#preferences.set(acceptEncoding, key);
    }
    return key;
  }

  /**
   * Chooses identity, a pre-compressed sibling (`x.br`, `x.gz`, not older than `x`) or an on-the-fly encoding.
   * Each coding gets its own strong ETag: a strong tag names one exact byte sequence (§8.8.1). An encoding not
   * made yet is returned without bytes and not remembered: a 304 or 412 needs none.
   */
  async #choose(entry: FileEntry, preference: PreferenceKey): Promise<Variant | 'changed'> {
    if (preference === '') return entry.identity;
    const chosen = entry.chosen[preference];
    if (chosen) return chosen;
    const size = entry.version.size;
    const codings = preference.split(',') as ContentCoding[];
    let variant: Variant | undefined;
    for (const coding of size < COMPRESS_MIN ? [] : codings) {
      const sibling = await this.#sibling(entry, coding);
      if (sibling === 'changed') return sibling;
      variant = sibling;
      if (variant) break;
    }
    if (variant === undefined) {
      const wanted = codings[0]!;
      const encoded = entry.encoded[wanted];
      if (encoded === 'incompressible' || size < COMPRESS_MIN || size > this.#compressMax)
        variant = entry.identity;
      else if (encoded === undefined) return this.#encodedVariant(entry, wanted, undefined);
      else variant = this.#encodedVariant(entry, wanted, encoded);
    }
    this.#remember(entry, preference, variant);
    return variant;
  }

  #remember(entry: FileEntry, preference: PreferenceKey, variant: Variant): void {
    entry.chosen[preference] = variant;
    this.#entries.reweigh(entry.key);
  }

  async #sibling(entry: FileEntry, coding: ContentCoding): Promise<Variant | undefined | 'changed'> {
    const path = await this.root.resolvePath(`${entry.path}.${coding === 'br' ? 'br' : 'gz'}`);
    const stats = path ? await stat(path).catch(() => undefined) : undefined;
    if (!path || !stats?.isFile() || stats.mtimeMs < entry.version.mtimeMs) return undefined;
    const etag = await this.#tagger.tag(path, stats, coding);
    if (etag === 'changed') return etag;
    return makeVariant({ path, version: fingerprint(stats), etag, coding, onTheFly: false }, entry);
  }

  /** The variant of the source file encoded in `coding` on the fly; its tag is the identity tag + `-coding`. */
  #encodedVariant(entry: FileEntry, coding: ContentCoding, bytes: Uint8Array | undefined): Variant {
    const etag = `${entry.identity.etag.slice(0, -1)}-${coding}"`;
    return makeVariant(
      { path: entry.path, version: entry.version, etag, coding, onTheFly: true, bytes },
      entry,
    );
  }

  async #answer(
    method: string,
    request: FileRequest,
    entry: FileEntry,
    preference: PreferenceKey,
    variant: Variant,
    now: number,
  ): Promise<FilePlan | 'changed'> {
    const size = variant.version.size;
    const decision = evaluatePreconditions(
      { method, headers: request.headers },
      {
        etag: variant.etag,
        lastModified: variant.version.mtimeMs,
        size: variant.onTheFly ? undefined : size,
        now,
      },
    );
    const date = httpDate(now);
    // §15.4.5: only the fields a cache needs to update its stored response; no Last-Modified next to an ETag.
    if (decision.action === 'not-modified') return { status: 304, headers: { ...variant.notModified, date } };
    if (decision.action === 'precondition-failed') return preconditionFailed(decision.by, variant.etag);
    if (decision.action === 'range-not-satisfiable') return rangeNotSatisfiable(size);

    if (variant.onTheFly && variant.bytes === undefined) {
      const encoded = await this.#encode(entry, variant.coding!);
      if (encoded === 'changed') return encoded;
      if (encoded !== 'busy') this.#remember(entry, preference, encoded);
      // Busy, or not smaller: the bytes as stored, judged by their own validators.
      if (encoded === 'busy' || encoded === entry.identity)
        return this.#answer(method, request, entry, '', entry.identity, now);
      variant = encoded;
    }
    const headers = { ...variant.ok, date };
    if (decision.action === 'partial') {
      const chosen = variant;
      return partial(decision.ranges, size, headers, chosen.bytes, () => openUnchanged(chosen));
    }
    if (method === 'HEAD') return { status: 200, headers };
    let bytes: Uint8Array | 'changed' | undefined = variant.bytes;
    if (bytes === undefined && size <= Math.min(KEEP_FILE_MAX, this.#keepMax))
      bytes = await this.#keep(entry, variant);
    if (bytes === 'changed') return bytes;
    if (bytes) return { status: 200, headers, body: { kind: 'bytes', data: bytes } };
    const handle = await openUnchanged(variant);
    if (handle === 'changed') return handle;
    return { status: 200, headers, body: { kind: 'file', handle, start: 0, end: size - 1 } };
  }

  /** Reads a small variant's bytes and keeps them with its entry. */
  async #keep(entry: FileEntry, variant: Variant): Promise<Uint8Array | 'changed'> {
    const bytes =
      variant.version.size <= READ_NOW_MAX
        ? readNow(variant.path, variant.version)
        : await readWhole(variant.path, variant.version);
    if (bytes === 'changed') return bytes;
    variant.bytes = bytes;
    this.#entries.reweigh(entry.key);
    return bytes;
  }

  /**
   * The on-the-fly variant in `coding` with its bytes — compressed now, or shared with a compression running —
   * or identity when encoding does not make the file smaller; `busy` when every compression slot is taken.
   */
  async #encode(entry: FileEntry, coding: ContentCoding): Promise<Variant | 'busy' | 'changed'> {
    let encoded = entry.encoded[coding];
    if (encoded === undefined) {
      const job = this.#compressor.encode(`${entry.path}\0${entry.identity.etag}\0${coding}`, coding, () =>
        readWhole(entry.path, entry.version),
      );
      if (job === 'busy') return job;
      const result = await job;
      if (result === 'changed') return result;
      encoded = result;
      entry.encoded[coding] = encoded;
    }
    return encoded === 'incompressible' ? entry.identity : this.#encodedVariant(entry, coding, encoded);
  }
}

/**
 * Whether the file at `path` (a real path: no links on the way) is still the version `version` describes: one
 * stat, no exception on absence. stat rather than lstat because node's statSync costs about a third less (1.3
 * against 2.0 µs measured), and following a link is harmless here: a link put in the file's place passes only if
 * it leads to the very same inode, unchanged.
 */
function unchanged(path: string, version: Fingerprint): boolean {
  try {
    const now = statSync(path, STAT_OPTIONS);
    return now !== undefined && sameVersion(now, version);
  } catch {
    return false;
  }
}

const STAT_OPTIONS = { throwIfNoEntry: false } as const;

/**
 * Files up to this size are read synchronously: four system calls on a file in the page cache cost a few
 * microseconds, while the same read through libuv's thread pool costs about a hundred microseconds of CPU in
 * round trips (measured: 100k files of 1 KB requested at random). Like the per-request stat, this assumes
 * local disks.
 */
const READ_NOW_MAX = 64 * 1024;

/** The whole (small) file, read synchronously, when it is still the version `version` describes. */
function readNow(path: string, version: Fingerprint): Uint8Array | 'changed' {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'changed';
    throw error;
  }
  try {
    if (!sameVersion(fstatSync(fd), version)) return 'changed';
    const bytes = Buffer.allocUnsafeSlow(version.size);
    for (let read = 0; read < bytes.byteLength; ) {
      const n = readSync(fd, bytes, read, bytes.byteLength - read, read);
      if (n === 0) return 'changed'; // shorter than its stats said: written meanwhile
      read += n;
    }
    // Written in place while it was read: these bytes may be half old, half new.
    return sameVersion(fstatSync(fd), version) ? bytes : 'changed';
  } finally {
    closeSync(fd);
  }
}

/** The whole file, when it is still the version `version` describes. */
async function readWhole(path: string, version: Fingerprint): Promise<Uint8Array | 'changed'> {
  const handle = await openUnchanged({ path, version });
  if (handle === 'changed') return handle;
  try {
    const data = await handle.readFile();
    // Shorter, longer or written in place while it was read: not the bytes of this version.
    return data.byteLength === version.size && sameVersion(await handle.stat(), version) ? data : 'changed';
  } finally {
    await handle.close();
  }
}

/**
 * Opens a variant's file and checks it is still the version whose ETag we are about to send. A file gone since
 * the lookup is 'changed' (look it up again); other errors, such as EACCES, are thrown.
 */
async function openUnchanged(variant: {
  path: string;
  version: Fingerprint;
}): Promise<FileHandle | 'changed'> {
  let handle: FileHandle;
  try {
    handle = await open(variant.path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'changed';
    throw error;
  }
  if (!sameVersion(fingerprint(await handle.stat()), variant.version)) {
    await handle.close();
    return 'changed';
  }
  return handle;
}

let lastDate = { second: Number.NaN, text: '' };

/**
 * The Date field (§6.6.1), formatted once a second. Taken before the file is looked at: a change after this
 * read gets a later modification time, which is what lets If-Unmodified-Since with this date guard a write
 * (writes.ts, dateGuardHolds).
 */
function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== lastDate.second) lastDate = { second, text: formatHttpDate(second * 1000) };
  return lastDate.text;
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
    const fileRequest: FileRequest = {
      method: request.method,
      pathname: rawPathname(request.url),
      search: url.search,
      headers: request.headers,
      body: request.body as AsyncIterable<Uint8Array> | null,
    };
    const plan = server.respondNow(fileRequest) ?? (await server.respond(fileRequest));
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
