/**
 * Guarded writes for the file server: PUT creates or replaces, DELETE removes, both under If-Match /
 * If-None-Match / If-Unmodified-Since (RFC 9110 §13.1) and optionally 428 Precondition Required (RFC 6585 §3).
 *
 * Writes are atomic (temp file in the same directory, then rename: see temp-files.ts) and serialised per file —
 * by its real path, so links inside the root that lead to one file share one lock — and two writers holding the
 * same ETag can never both succeed: the second one is evaluated against the first one's result. A write through
 * a link replaces (or deletes) the file the link leads to.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, open, realpath, rename, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  etagFromStats,
  evaluatePreconditions,
  formatHttpDate,
  getHeader,
  type HeaderSource,
  parseHttpDate,
} from '../core/index.ts';
import { problem } from '../server/problem.ts';
import type { FileTagger } from './etags.ts';
import type { FileRoot } from './paths.ts';
import { tempPath } from './temp-files.ts';

export interface WriteOptions {
  /** Answer 428 to a PUT or DELETE of an existing file that carries no precondition. Default false. */
  requirePreconditions?: boolean;
  /** Largest request body accepted by PUT, in bytes; larger ones get 413. Default 64 MiB. */
  maxBodyBytes?: number;
}

interface WriteRequest {
  method: string;
  pathname: string;
  headers: HeaderSource;
  body?: AsyncIterable<Uint8Array> | null;
}

type Plan = { status: number; headers: Record<string, string>; body?: { kind: 'bytes'; data: Uint8Array } };

/** The options, and how the server makes ETags (the same tags its reads send). */
type WriteContext = WriteOptions & { tagger: FileTagger };

const DEFAULT_MAX_BODY = 64 * 1024 * 1024;
const locks = new Map<string, Promise<unknown>>();

/** Runs `task` after every earlier task for the same path has finished. */
async function withLock<T>(path: string, task: () => Promise<T>): Promise<T> {
  const previous = locks.get(path) ?? Promise.resolve();
  const current = previous.then(task, task);
  const settled = current.catch(() => {});
  locks.set(path, settled);
  try {
    return await current;
  } finally {
    if (locks.get(path) === settled) locks.delete(path);
  }
}

export async function handleWrite(
  root: FileRoot,
  request: WriteRequest,
  segments: string[],
  options: WriteContext,
): Promise<Plan> {
  if (segments.length === 0) {
    const plan = problem(405, 'Method Not Allowed', 'the root directory cannot be written');
    plan.headers.allow = 'GET, HEAD'; // §15.5.6: a 405 lists the methods the target supports
    return plan;
  }
  const target = await writeTarget(root, segments);
  if ('refused' in target) return target.refused;
  // §10.2.2: Location names the file as stored, a path on this host. Built from the decoded segments, never from
  // the request path, in which "//evil.example/x" would be a network-path reference to another host.
  const location = `/${segments.map(encodeURIComponent).join('/')}`;
  return request.method === 'PUT'
    ? put(request, target, location, options)
    : remove(request, target.path, options);
}

interface Target {
  /** The real path of the file written (through any links inside the root). */
  path: string;
  /** Whether its directory exists; a PUT creates it, after its preconditions pass. */
  parentExists: boolean;
}

/**
 * Where a write lands, found without creating anything: the real path of the deepest existing ancestor (which
 * must be a directory the root serves), the missing names below it, and the file — through a link, if it is
 * one that leads to a file the root serves. File system errors other than "missing" (a link loop, a name too
 * long) are thrown for the caller to answer.
 */
async function writeTarget(root: FileRoot, segments: string[]): Promise<Target | { refused: Plan }> {
  const forbidden = {
    refused: problem(403, 'Forbidden', 'the path leads outside the served directory or to a hidden file'),
  };
  const names = segments.slice(0, -1);
  const name = segments[segments.length - 1]!;
  for (let depth = names.length; depth >= 0; depth--) {
    const real = await realpath(root.join(names.slice(0, depth))).catch(missingOrThrow);
    if (real === undefined) continue;
    if (!root.serves(real)) return forbidden;
    if (!(await stat(real)).isDirectory())
      return { refused: problem(409, 'Conflict', 'a parent of this path is a file, not a directory') };
    const path = join(real, ...names.slice(depth), name);
    if (depth < names.length) return { path, parentExists: false };
    if (!(await lstat(path).catch(missingOrThrow))?.isSymbolicLink()) return { path, parentExists: true };
    const linked = await realpath(path).catch(missingOrThrow);
    return linked !== undefined && root.serves(linked) ? { path: linked, parentExists: true } : forbidden;
  }
  throw new Error(`the served directory ${root.path} is gone`);
}

/** For `.catch`: a name that does not exist (or whose parent is a file) is undefined; other errors go on. */
function missingOrThrow(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
  throw error;
}

interface Current {
  stats?: Stats;
  etag?: string;
  refused?: Plan;
}

/** The file at `path`, if any, with its ETag, as the evaluator sees it; a directory is refused. */
async function current(path: string, tagger: FileTagger): Promise<Current> {
  // A file changed by another program while it is hashed (`--etag content`) is looked at again.
  for (let attempt = 0; attempt < 3; attempt++) {
    let stats: Stats;
    try {
      stats = await stat(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return {};
      throw error;
    }
    if (!stats.isFile())
      return { refused: problem(409, 'Conflict', 'the path names a directory, not a file') };
    const etag = await tagger.tag(path, stats);
    if (etag !== 'changed') return { stats, etag };
  }
  return { refused: problem(503, 'File busy', 'the file kept changing while it was read; retry') };
}

/** The current file and, when the write must not go ahead, the answer that says why. */
async function check(request: WriteRequest, path: string, options: WriteContext): Promise<Current> {
  const found = await current(path, options.tagger);
  return { ...found, refused: found.refused ?? checkWrite(request, found, options) };
}

/**
 * Whether the request carries a precondition that is evaluated (RFC 6585 §3). An If-Unmodified-Since that is
 * not a valid date is ignored (§13.1.4), so it does not count.
 */
function isConditional(headers: HeaderSource): boolean {
  return (
    getHeader(headers, 'if-match') !== undefined ||
    getHeader(headers, 'if-none-match') !== undefined ||
    parseHttpDate(getHeader(headers, 'if-unmodified-since')) !== undefined
  );
}

/**
 * Whether If-Unmodified-Since alone can guard this write against a lost update, under `requirePreconditions`.
 *
 * HTTP dates have one-second precision (§5.6.7), so a client that read the file and sends back its Last-Modified
 * cannot tell the version it read from a later one written within the same second: §13.1.4 would let it
 * overwrite that change. Comparing with the server's clock does not help (the client may have read long ago).
 * The date must instead prove that the client's read came after the file's last change: the file's modification
 * time (full precision) must lie at least one second before the date sent. A client gets such a date from the
 * `Date` of the response it read, never from Last-Modified itself (that one gets 428 and is told to use
 * If-Match). Why a read's Date is safe: the server stamps it before it looks at the file (server.ts, the
 * asynchronous path) or microseconds after, in the same event (the synchronous path: node's own Date), so any
 * change after the read gets a modification time later than that Date minus a second. The second of margin
 * covers that gap and file system clocks that lag the system clock by a tick.
 */
export function dateGuardHolds(modifiedMs: number, ifUnmodifiedSince: Date): boolean {
  return modifiedMs <= ifUnmodifiedSince.getTime() - 1000;
}

/** Evaluates §13.2.2 and RFC 6585 §3 for a write; returns the refusal, if any. */
function checkWrite(
  request: WriteRequest,
  { stats, etag }: Current,
  options: WriteOptions,
): Plan | undefined {
  const decision = evaluatePreconditions(request, {
    exists: stats !== undefined,
    etag,
    lastModified: stats?.mtimeMs,
  });
  if (decision.action === 'precondition-failed') {
    const plan = problem(412, 'Precondition Failed', `${decision.by} did not match the current file`, {
      precondition: decision.by,
    });
    if (etag) plan.headers.etag = etag;
    return plan;
  }
  if (!options.requirePreconditions || !stats) return undefined;
  if (!isConditional(request.headers)) {
    return problem(
      428,
      'Precondition Required',
      `${request.method} of an existing file must carry If-Match with the ETag you read ` +
        '(or If-None-Match: * to create only)',
      { precondition: 'required' },
    );
  }
  const ifUnmodifiedSince = parseHttpDate(getHeader(request.headers, 'if-unmodified-since'));
  if (
    getHeader(request.headers, 'if-match') === undefined &&
    ifUnmodifiedSince !== undefined &&
    !dateGuardHolds(stats.mtimeMs, ifUnmodifiedSince)
  ) {
    return problem(
      428,
      'Precondition Required',
      'If-Unmodified-Since cannot protect this write: the file changed less than a second before that date, ' +
        'and a change within the same second would go unnoticed (HTTP dates have one-second precision). ' +
        'Send If-Match with the ETag you read (or, as If-Unmodified-Since, the Date of the response you read)',
      { precondition: 'if-match' },
    );
  }
  return undefined;
}

async function put(
  request: WriteRequest,
  target: Target,
  location: string,
  options: WriteContext,
): Promise<Plan> {
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const declared = Number(getHeader(request.headers, 'content-length') ?? 0);
  if (declared > maxBytes) return tooLarge(maxBytes);
  // Fail fast: a refused write receives no body and creates no directory (§13.1.1: the method is not performed).
  // The answer is only final under the lock below.
  const early = await check(request, target.path, options);
  if (early.refused) return early.refused;
  const directory = dirname(target.path);
  if (!target.parentExists && !(await makeDirectory(directory)))
    return problem(409, 'Conflict', 'a parent of this path is not a directory');

  // Receive the body before taking the lock, so a slow upload never blocks other writers.
  const temp = tempPath(directory);
  const tagger = options.tagger.forBody();
  let keepTemp = false;
  try {
    if (!(await receive(request.body, temp, maxBytes, tagger))) return tooLarge(maxBytes);
    return await withLock(target.path, async () => {
      const { stats: before, refused } = await check(request, target.path, options);
      if (refused) return refused;
      const written = await distinctFrom(temp, before);
      await rename(temp, target.path);
      keepTemp = true;
      await syncDirectory(directory);
      const headers = { etag: tagger.digest(written), 'last-modified': formatHttpDate(written.mtimeMs) };
      // §9.3.4: 201 when the PUT created the file, 204 when it replaced one (§8.6: no Content-Length in a 204).
      return before
        ? { status: 204, headers }
        : { status: 201, headers: { ...headers, location, 'content-length': '0' } };
    });
  } finally {
    if (!keepTemp) await unlink(temp).catch(() => {});
  }
}

async function remove(request: WriteRequest, path: string, options: WriteContext): Promise<Plan> {
  return withLock(path, async () => {
    const found = await current(path, options.tagger);
    if (found.refused) return found.refused;
    // §13.2.1: the unconditional response would be 404, so preconditions are not evaluated.
    if (!found.stats) return problem(404, 'Not Found', `no file at ${request.pathname}`);
    const failed = checkWrite(request, found, options);
    if (failed) return failed;
    await unlink(path);
    return { status: 204, headers: {} };
  });
}

/** Makes a rename in `directory` durable before the write is acknowledged (a power cut must not undo it). */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates a directory and its missing parents; false when a name on the way is not a directory (a file made by
 * another writer meanwhile, or a dangling link, which mkdir never follows).
 */
async function makeDirectory(path: string): Promise<boolean> {
  try {
    await mkdir(path, { recursive: true });
    return true;
  } catch (error) {
    if (['EEXIST', 'ENOTDIR', 'ENOENT'].includes((error as NodeJS.ErrnoException).code!)) return false;
    throw error;
  }
}

/** Streams the body into `path`, durably, and through `tagger`. Returns false when it exceeds `maxBytes`. */
async function receive(
  body: AsyncIterable<Uint8Array> | null | undefined,
  path: string,
  maxBytes: number,
  tagger: { update(chunk: Uint8Array): void },
): Promise<boolean> {
  const handle = await open(path, 'wx');
  try {
    let received = 0;
    for await (const chunk of body ?? []) {
      received += chunk.byteLength;
      if (received > maxBytes) return false;
      tagger.update(chunk);
      await handle.write(chunk);
    }
    await handle.sync();
    return true;
  } finally {
    await handle.close();
  }
}

/**
 * Makes sure the new file's stats ETag differs from the old file's. File systems stamp mtimes with a coarse clock
 * (a few ms), so two quick writes of the same size could otherwise share a tag and a stale If-Match would pass.
 */
export async function distinctFrom(temp: string, before: Stats | undefined): Promise<Stats> {
  let written = await stat(temp);
  if (!before) return written;
  const old = etagFromStats(before);
  for (
    let bumpMs = 1;
    bumpMs <= 10 && (etagFromStats(written) === old || written.mtimeMs <= before.mtimeMs);
    bumpMs++
  ) {
    const mtime = (before.mtimeMs + bumpMs) / 1000;
    await utimes(temp, written.atimeMs / 1000, mtime);
    written = await stat(temp);
  }
  return written;
}

function tooLarge(maxBytes: number): Plan {
  const plan = problem(413, 'Content Too Large', `the body exceeds the limit of ${maxBytes} bytes`);
  // The rest of the body is not read: close the connection rather than leave it in an unknown state.
  plan.headers.connection = 'close';
  return plan;
}
