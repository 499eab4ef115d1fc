/**
 * Mapping a request path onto the file tree, safely: nothing outside the root (no `..`, no encoded slashes, no
 * symlinks leading out), no dotfiles.
 */
import { realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';

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

/** The root, resolved once, that every served path must stay inside. */
export class FileRoot {
  readonly path: string;
  readonly #prefix: string;

  constructor(realRoot: string) {
    this.path = realRoot;
    this.#prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
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

  contains(realPath: string): boolean {
    return realPath === this.path || realPath.startsWith(this.#prefix);
  }

  /**
   * Resolves symlinks and returns the real path when it stays inside the root; undefined when the file does not
   * exist or leads outside (both answer 404: we do not reveal what lies outside).
   */
  resolve(segments: readonly string[]): Promise<string | undefined> {
    return this.resolvePath(this.join(segments));
  }

  /** `resolve` for a file system path. */
  async resolvePath(path: string): Promise<string | undefined> {
    try {
      const real = await realpath(path);
      return this.contains(real) ? real : undefined;
    } catch {
      return undefined;
    }
  }
}
