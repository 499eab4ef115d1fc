/**
 * Mapping a request path onto the file tree, safely: nothing outside the root (no `..`, no encoded slashes, no
 * symlinks leading out), no dotfiles.
 */
import { lstatSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { Lru } from './lru.ts';

export type PathResult =
  | { ok: true; segments: string[]; trailingSlash: boolean }
  | { ok: false; status: 400 | 404; reason: string };

/**
 * Decodes and checks a URL path (no query). Rejects with 400 what no file name can be (`..`, NUL, encoded `/` or
 * `\`, bad percent-encoding) and with 404 what is hidden (any segment starting with a dot).
 */
export function parseRequestPath(pathname: string): PathResult {
  if (!pathname.startsWith('/')) return { ok: false, status: 400, reason: 'the path must start with "/"' };
  // An encoded slash or backslash would let one segment name a path below it.
  if (/%(2f|5c)/i.test(pathname))
    return { ok: false, status: 400, reason: 'encoded "/" or "\\" in the path' };
  const segments: string[] = [];
  for (const raw of pathname.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { ok: false, status: 400, reason: `bad percent-encoding in ${JSON.stringify(raw)}` };
    }
    if (segment === '' || segment === '.') continue;
    if (segment === '..') return { ok: false, status: 400, reason: '".." in the path' };
    if (segment.includes('\0') || segment.includes('\\')) {
      return { ok: false, status: 400, reason: 'NUL or "\\" in the path' };
    }
    if (segment.startsWith('.')) return { ok: false, status: 404, reason: 'dotfiles are hidden' };
    segments.push(segment);
  }
  return { ok: true, segments, trailingSlash: pathname.endsWith('/') };
}

/**
 * How long a directory's resolved real path is reused. Files are always checked afresh; directories that are
 * symlinks are set up by the operator, so a second of reuse saves a realpath per request at no real risk.
 */
const DIRECTORY_TTL_MS = 1000;
/**
 * Directories whose real path is remembered, the least recently used forgotten first (lru.ts): about 250 bytes
 * each, so at most some 16 MB — enough for trees of a few hundred thousand files without a realpath per request.
 */
const DIRECTORY_CACHE_MAX = 65_536;

/** The root, resolved once, that every served path must stay inside. */
export class FileRoot {
  readonly path: string;
  readonly #prefix: string;
  readonly #directories: Lru<string, { real: string; until: number }>;
  readonly #clock: () => number;

  constructor(realRoot: string, { maxDirectories = DIRECTORY_CACHE_MAX, clock = Date.now } = {}) {
    this.path = realRoot;
    this.#prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
    this.#directories = new Lru(maxDirectories);
    this.#clock = clock;
  }

  /** How many directories' real paths are remembered. */
  get directoriesCached(): number {
    return this.#directories.size;
  }

  /** Resolves the root directory; throws a clear error when it does not exist. */
  static async open(root: string): Promise<FileRoot> {
    try {
      return new FileRoot(await realpath(root));
    } catch (error) {
      throw new Error(
        `cannot serve ${JSON.stringify(root)}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message}`,
      );
    }
  }

  /** The file system path for these segments (not yet resolved through symlinks). */
  join(segments: readonly string[]): string {
    return join(this.path, ...segments);
  }

  /**
   * Whether a real path (symlinks resolved) may be served or written: inside the root, and not hidden — no name
   * below the root starts with a dot, so a link such as `cfg -> .git` or `dotlink -> .env` hides its target just
   * as the request path `/.env` is hidden.
   */
  serves(realPath: string): boolean {
    if (realPath === this.path) return true;
    return realPath.startsWith(this.#prefix) && !realPath.includes(`${sep}.`, this.#prefix.length - 1);
  }

  /**
   * Resolves and stats in one step: the parent directory's real path (cached briefly), then `lstat` of the
   * entry itself, following it only when it is a symlink. One file system call per request in the common case.
   *
   * That call is synchronous on purpose: a metadata lookup the kernel has cached costs a few microseconds,
   * far less than a round trip through libuv's thread pool, and it is the whole cost of a 304. (Serve from
   * local disks; on a network file system a stat can block.)
   */
  async lookup(segments: readonly string[]): Promise<{ real: string; stats: Stats } | undefined> {
    if (segments.length === 0) return this.#statInside(this.path);
    const parent = await this.#directory(this.join(segments.slice(0, -1)));
    if (parent === undefined) return undefined;
    const path = join(parent, segments[segments.length - 1]!);
    let stats: Stats | undefined;
    try {
      stats = lstatSync(path, { throwIfNoEntry: false });
    } catch {
      return undefined; // ENOTDIR, EACCES...: nothing we can serve
    }
    if (stats === undefined) return undefined;
    return stats.isSymbolicLink() ? this.#statInside(path) : { real: path, stats };
  }

  async #statInside(path: string): Promise<{ real: string; stats: Stats } | undefined> {
    const real = await this.resolvePath(path);
    if (real === undefined) return undefined;
    try {
      return { real, stats: await stat(real) };
    } catch {
      return undefined;
    }
  }

  async #directory(path: string): Promise<string | undefined> {
    const now = this.#clock();
    const cached = this.#directories.get(path);
    if (cached && cached.until > now) return cached.real;
    const real = path === this.path ? this.path : await this.resolvePath(path);
    // Only hits are kept: a directory created a moment ago (by a PUT) must be found at once.
    if (real === undefined) return undefined;
    this.#directories.set(path, { real, until: now + DIRECTORY_TTL_MS });
    return real;
  }

  /**
   * Resolves symlinks and returns the real path when the root serves it; undefined when the file does not exist,
   * leads outside or to a hidden name (all answer 404: we do not reveal what lies outside).
   */
  async resolvePath(path: string): Promise<string | undefined> {
    try {
      const real = await realpath(path);
      return this.serves(real) ? real : undefined;
    } catch {
      return undefined;
    }
  }
}
