/**
 * Validator generators (RFC 9110 §8.8): entity-tags from content, from a version, or from file stats.
 *
 * Content tags use xxHash64 (WebAssembly, no `node:` import): it is non-cryptographic on purpose. An entity-tag
 * only has to change when the bytes change; nobody gains by forging one for their own cache. The byte length is
 * part of the tag, so a collision would also need equal lengths.
 */
import { formatEntityTag } from './entity-tag.ts';
import { createHasher64, hash64 } from './xxh64.ts';

const encoder = new TextEncoder();

function toBytes(content: string | ArrayBufferView | ArrayBuffer): Uint8Array {
  if (typeof content === 'string') return encoder.encode(content);
  if (content instanceof Uint8Array) return content;
  if (ArrayBuffer.isView(content))
    return new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
  return new Uint8Array(content);
}

function contentTag(hash: bigint, length: number): string {
  return `"${length.toString(36)}-${hash.toString(16).padStart(16, '0')}"`;
}

/**
 * A strong entity-tag for these exact bytes (a string is hashed as UTF-8).
 *
 * @example
 * etagFromContent('{"id":1}') // '"8-…16 hex digits…"'
 */
export function etagFromContent(content: string | ArrayBufferView | ArrayBuffer): string {
  const bytes = toBytes(content);
  if (bytes.byteLength <= ONE_SHOT_MAX) return contentTag(hash64(bytes), bytes.byteLength);
  return contentTag(feed(createHasher64(), bytes).digest(), bytes.byteLength);
}

/**
 * xxhash-wasm copies its input into WebAssembly memory, which grows to fit and never shrinks: one 1 GB body
 * would pin 1 GB for the life of the process, and past 4 GB it cannot grow at all. Larger inputs are therefore
 * hashed in slices through the streaming state (same xxHash64 value), which also keeps each copy in cache.
 */
const ONE_SHOT_MAX = 1024 * 1024;
const SLICE = 256 * 1024;

function feed<T extends { update(bytes: Uint8Array): T }>(hasher: T, bytes: Uint8Array): T {
  if (bytes.byteLength <= SLICE) return hasher.update(bytes);
  for (let offset = 0; offset < bytes.byteLength; offset += SLICE)
    hasher.update(bytes.subarray(offset, offset + SLICE));
  return hasher;
}

/** Incremental hasher for streamed bodies: `update` each chunk, then `digest` once. */
export interface ContentTagger {
  update(chunk: string | ArrayBufferView | ArrayBuffer): ContentTagger;
  /** The same tag `etagFromContent` gives for the concatenated chunks. */
  digest(): string;
}

/**
 * Starts an incremental content tag for a body that arrives in chunks.
 *
 * @example
 * const tagger = createContentTagger();
 * for await (const chunk of stream) tagger.update(chunk);
 * response.headers.set('etag', tagger.digest());
 */
export function createContentTagger(): ContentTagger {
  const hasher = createHasher64();
  let length = 0;
  return {
    update(chunk) {
      const bytes = toBytes(chunk);
      length += bytes.byteLength;
      feed(hasher, bytes);
      return this;
    },
    digest: () => contentTag(hasher.digest(), length),
  };
}

/**
 * An entity-tag from something that changes whenever the representation does — a version number, a revision
 * string, an `updatedAt` date — so that it can be computed without rendering the body.
 *
 * Strong by default: the same version must always render the same bytes. Pass `{ weak: true }` when it renders
 * only equivalent ones (for example JSON whose key order may vary). Strings made only of entity-tag characters
 * are used as they are; other strings are hashed.
 *
 * @example
 * etagFromVersion(user.updatedAt)      // '"lq6x8k0w"'
 * etagFromVersion(42, { weak: true })  // 'W/"42"'
 */
export function etagFromVersion(
  version: number | bigint | string | Date,
  options: { weak?: boolean } = {},
): string {
  let tag: string;
  if (version instanceof Date) {
    const ms = version.getTime();
    if (!Number.isFinite(ms)) throw new TypeError('etagFromVersion: the Date is invalid');
    tag = ms.toString(36);
  } else if (typeof version === 'number') {
    if (!Number.isFinite(version)) throw new TypeError(`etagFromVersion: ${version} is not a finite number`);
    tag = String(version);
  } else if (typeof version === 'bigint') {
    tag = version.toString();
  } else if (typeof version === 'string') {
    tag = /^[\x21\x23-\x7e]{1,64}$/.test(version)
      ? version
      : `h-${hash64(encoder.encode(version)).toString(16)}`;
  } else {
    throw new TypeError(`etagFromVersion: expected a number, bigint, string or Date, got ${typeof version}`);
  }
  return formatEntityTag(tag, options);
}

/** The file facts a stats tag is made of; node's `fs.Stats` fits. */
export interface FileStatsLike {
  size: number;
  mtimeMs: number;
}

/**
 * A strong entity-tag from size and modification time. No inode: the same file served by several machines
 * gets the same tag. Sub-millisecond precision is kept where the file system has it, so two writes within one
 * second still differ (`Last-Modified` alone cannot tell them apart).
 *
 * @example
 * etagFromStats(await fs.stat(path)) // '"2a-18c1f2b3a4d"'
 */
export function etagFromStats(
  stats: FileStatsLike,
  options: { weak?: boolean; suffix?: string } = {},
): string {
  const { size, mtimeMs } = stats;
  if (!Number.isFinite(size) || !Number.isFinite(mtimeMs))
    throw new TypeError('etagFromStats: size and mtimeMs must be finite numbers');
  // mtimeMs carries microseconds as a fraction: keep them as an integer count of microseconds.
  const micros = Math.round(mtimeMs * 1000);
  const tag = `${size.toString(36)}-${micros.toString(36)}${options.suffix ? `-${options.suffix}` : ''}`;
  return formatEntityTag(tag, options);
}
