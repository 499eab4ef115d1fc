/**
 * Guarded writes for the file server: PUT creates or replaces, DELETE removes, both under If-Match /
 * If-None-Match / If-Unmodified-Since (RFC 9110 §13.1) and optionally 428 Precondition Required (RFC 6585 §3).
 *
 * Writes are atomic (temp file in the same directory, then rename) and serialised per path, so two writers
 * holding the same ETag can never both succeed: the second one is evaluated against the first one's result.
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
} from '../core/index.ts';
import type { FileRoot } from './file-paths.ts';
import { problem } from './problem.ts';

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
  options: WriteOptions,
): Promise<Plan> {
  if (segments.length === 0)
    return problem(405, 'Method Not Allowed', 'the root directory cannot be written');
  const target = root.join(segments);
  return request.method === 'PUT'
    ? put(root, request, target, options)
    : remove(root, request, target, options);
}

/** The current file at `target`, if any, as the evaluator sees it. Directories and paths leading out are refused. */
async function current(root: FileRoot, target: string): Promise<{ stats?: Stats; refused?: Plan }> {
  let stats: Stats;
  try {
    stats = await lstat(target);
  } catch {
    return {};
  }
  if (stats.isSymbolicLink()) {
    const real = await root.resolvePath(target);
    if (!real)
      return {
        refused: problem(403, 'Forbidden', 'the path is a link that leads outside the served directory'),
      };
    stats = await stat(real);
  }
  if (!stats.isFile()) return { refused: problem(409, 'Conflict', 'the path names a directory, not a file') };
  return { stats };
}

function isConditional(headers: HeaderSource): boolean {
  return ['if-match', 'if-none-match', 'if-unmodified-since'].some(
    (name) => getHeader(headers, name) !== undefined,
  );
}

/** Evaluates §13.2.2 and RFC 6585 §3 for a write; returns the refusal, if any. */
function checkWrite(
  request: WriteRequest,
  stats: Stats | undefined,
  options: WriteOptions,
): Plan | undefined {
  const etag = stats ? etagFromStats(stats) : undefined;
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
  if (options.requirePreconditions && stats && !isConditional(request.headers)) {
    return problem(
      428,
      'Precondition Required',
      `${request.method} of an existing file must carry If-Match (the ETag you read) or If-Unmodified-Since`,
    );
  }
  return undefined;
}

async function put(
  root: FileRoot,
  request: WriteRequest,
  target: string,
  options: WriteOptions,
): Promise<Plan> {
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const declared = Number(getHeader(request.headers, 'content-length') ?? 0);
  if (declared > maxBytes) return tooLarge(maxBytes);
  const parentProblem = await ensureParent(root, dirname(target));
  if (parentProblem) return parentProblem;

  // Receive the body before taking the lock, so a slow upload never blocks other writers.
  const temp = join(dirname(target), `.etagkit-${crypto.randomUUID()}.tmp`);
  let keepTemp = false;
  try {
    if (!(await receive(request.body, temp, maxBytes))) return tooLarge(maxBytes);
    return await withLock(target, async () => {
      const { stats: before, refused } = await current(root, target);
      if (refused) return refused;
      const failed = checkWrite(request, before, options);
      if (failed) return failed;
      const written = await distinctFrom(temp, before);
      await rename(temp, target);
      keepTemp = true;
      const headers = {
        etag: etagFromStats(written),
        'last-modified': formatHttpDate(written.mtimeMs),
        'content-length': '0',
      };
      // §9.3.4: 201 when the PUT created the file, 204 when it replaced one.
      return {
        status: before ? 204 : 201,
        headers: before ? headers : { ...headers, location: request.pathname },
      };
    });
  } finally {
    if (!keepTemp) await unlink(temp).catch(() => {});
  }
}

async function remove(
  root: FileRoot,
  request: WriteRequest,
  target: string,
  options: WriteOptions,
): Promise<Plan> {
  return withLock(target, async () => {
    const { stats, refused } = await current(root, target);
    if (refused) return refused;
    // §13.2.1: the unconditional response would be 404, so preconditions are not evaluated.
    if (!stats) return problem(404, 'Not Found', `no file at ${request.pathname}`);
    const failed = checkWrite(request, stats, options);
    if (failed) return failed;
    await unlink(target);
    return { status: 204, headers: {} };
  });
}

/** Creates missing parent directories, refusing parents that lead outside the root or are not directories. */
async function ensureParent(root: FileRoot, parent: string): Promise<Plan | undefined> {
  try {
    await mkdir(parent, { recursive: true });
    const real = await realpath(parent);
    if (!root.contains(real))
      return problem(403, 'Forbidden', 'the parent directory leads outside the served directory');
    return undefined;
  } catch {
    return problem(409, 'Conflict', 'a parent of this path is a file, not a directory');
  }
}

/** Streams the body into `path`, durably. Returns false when it exceeds `maxBytes`. */
async function receive(
  body: AsyncIterable<Uint8Array> | null | undefined,
  path: string,
  maxBytes: number,
): Promise<boolean> {
  const handle = await open(path, 'wx');
  try {
    let received = 0;
    for await (const chunk of body ?? []) {
      received += chunk.byteLength;
      if (received > maxBytes) return false;
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
