/**
 * What the file server remembers about a file between requests: its representations (identity, a pre-compressed
 * sibling, an on-the-fly encoding), each with its strong ETag and its header blocks computed once, and the
 * bytes of small ones. A request whose file is unchanged — one `stat` says so — is answered from here without
 * any other file system call, parsing or formatting.
 */
import type { Stats } from 'node:fs';
import { formatHttpDate } from '../core/index.ts';
import type { ContentCoding } from './negotiate.ts';

/** What identifies one version of a file: any write changes ctime, a replacement changes the inode. */
export interface Fingerprint {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export function fingerprint(stats: Stats): Fingerprint {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
}

export function sameVersion(a: Fingerprint, b: Fingerprint): boolean {
  return a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino && a.ctimeMs === b.ctimeMs;
}

/** One representation of a file: the bytes of one content coding. */
export interface Variant {
  /** The file holding its bytes: the file itself, or its pre-compressed sibling. */
  path: string;
  version: Fingerprint;
  etag: string;
  coding?: ContentCoding;
  /** The coding is applied in memory (no Range on such a variant). */
  onTheFly: boolean;
  /** Headers of a 200 with the whole body (no Date: it is per request). */
  ok: Record<string, string>;
  /** Headers of a 304 (§15.4.5). */
  notModified: Record<string, string>;
  /** The whole body, when it is small enough to keep (on the fly: the encoding, also in `FileEntry.encoded`). */
  bytes?: Uint8Array;
}

/** A file as served at one request path. */
export interface FileEntry {
  /** The request path (still percent-encoded) it is remembered at. */
  key: string;
  /** The file's real path (links inside the root resolved). */
  path: string;
  version: Fingerprint;
  contentType: string;
  compressible: boolean;
  cacheControl: string;
  identity: Variant;
  /** On-the-fly encodings of this version, or the finding that encoding does not make it smaller. */
  encoded: { [coding in ContentCoding]?: Uint8Array | 'incompressible' };
  /** The variant chosen for each coding preference (see `preferenceKey`). Plain objects: lighter than Maps. */
  chosen: { [preference in PreferenceKey]?: Variant };
  /** Until when links and directories on the way and the siblings' presence are trusted (then looked up again). */
  until: number;
}

/**
 * Bookkeeping counted against the cache budget besides the bytes kept, measured on V8's heap (Node 24): about
 * 1.1 KB for a file's entry with its identity variant (objects, header blocks, strings, the kept Buffer's own
 * objects, its LRU slot), about 0.4 KB for each further variant.
 */
const ENTRY_OVERHEAD = 1152;
const VARIANT_OVERHEAD = 512;

/** What an entry costs the cache: the bytes it keeps plus its bookkeeping. */
export function entryWeight(entry: FileEntry): number {
  let weight = ENTRY_OVERHEAD + (entry.identity.bytes?.byteLength ?? 0);
  for (const encoded of Object.values(entry.encoded))
    if (encoded !== 'incompressible') weight += VARIANT_OVERHEAD + encoded.byteLength;
  // Siblings keep their own bytes; one sibling may be chosen for two preferences.
  for (const variant of new Set(Object.values(entry.chosen)))
    if (!variant.onTheFly && variant !== entry.identity)
      weight += VARIANT_OVERHEAD + (variant.bytes?.byteLength ?? 0);
  return weight;
}

export interface VariantSpec {
  path: string;
  version: Fingerprint;
  etag: string;
  coding?: ContentCoding;
  onTheFly: boolean;
  /** The encoded bytes of an on-the-fly variant, once made. */
  bytes?: Uint8Array;
}

/** Builds a variant and its header blocks. */
export function makeVariant(
  spec: VariantSpec,
  file: { contentType: string; compressible: boolean; cacheControl: string },
): Variant {
  const notModified: Record<string, string> = { etag: spec.etag, 'cache-control': file.cacheControl };
  // §12.5.5: the response depends on Accept-Encoding whenever the file could be sent compressed.
  if (file.compressible) notModified.vary = 'Accept-Encoding';
  const ok: Record<string, string> = {
    ...notModified,
    // §8.8.2.1: the date of the bytes sent. A sibling is never older than its source, but may be newer.
    'last-modified': formatHttpDate(spec.version.mtimeMs),
    'content-type': file.contentType,
  };
  if (spec.coding) ok['content-encoding'] = spec.coding;
  if (!spec.onTheFly) ok['accept-ranges'] = 'bytes';
  const length = spec.onTheFly ? spec.bytes?.byteLength : spec.version.size;
  if (length !== undefined) ok['content-length'] = String(length);
  return { ...spec, ok, notModified };
}

/**
 * The codings a client's Accept-Encoding lets us try, best first, as a short key: `''` (identity only), `'br'`,
 * `'gzip'` or `'br,gzip'` (br preferred, gzip acceptable).
 */
export type PreferenceKey = '' | 'br' | 'gzip' | 'br,gzip';

export function preferenceKey(wanted: ContentCoding | undefined, gzipToo: boolean): PreferenceKey {
  if (wanted === undefined) return '';
  if (wanted === 'gzip') return 'gzip';
  return gzipToo ? 'br,gzip' : 'br';
}
