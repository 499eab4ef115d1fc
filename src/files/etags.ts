/**
 * How the file server makes strong ETags (RFC 9110 §8.8.3):
 *
 * - `stats` (default): size and modification time (etagFromStats). Free to compute, but the modification time
 *   is when the file was written *here*: two machines serving the same files from separate git checkouts or
 *   copies give them different tags, and a client switching between them revalidates for nothing.
 * - `content`: a hash of the bytes (xxHash64 + length, as etagFromContent). The same bytes get the same tag on
 *   every machine; each version of a file is read once to hash it, and the tag is remembered while its size,
 *   modification time, change time and inode stay the same.
 */
import type { Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { createContentTagger, etagFromStats, formatEntityTag } from '../core/index.ts';
import { Lru } from './lru.ts';
import { type Fingerprint, fingerprint, sameVersion } from './representations.ts';

export type EtagMode = 'stats' | 'content';

/** Makes the ETags of files, and of bodies written by PUT. */
export interface FileTagger {
  /** The tag of the file at `path` whose stats are `stats`; `changed` when it changed while being hashed. */
  tag(path: string, stats: Stats, suffix?: string): string | Promise<string | 'changed'>;
  /** A tagger for a body as it is received; `digest` gets the stats of the file it was written to. */
  forBody(): { update(chunk: Uint8Array): void; digest(stats: Stats): string };
}

export const statsTagger: FileTagger = {
  tag: (_path, stats, suffix) => etagFromStats(stats, { suffix }),
  forBody: () => ({ update() {}, digest: (stats) => etagFromStats(stats) }),
};

/** Hashes read per chunk: large enough to keep system calls few, small enough to keep memory flat. */
const CHUNK = 256 * 1024;

export class ContentTagger implements FileTagger {
  /** The opaque part of each file version's tag, by real path; bounded by count. */
  readonly #tags: Lru<string, { version: Fingerprint; opaque: string }>;
  readonly #hashing = new Map<string, Promise<string | 'changed'>>();

  constructor(maxFiles = 65_536) {
    this.#tags = new Lru(maxFiles);
  }

  tag(path: string, stats: Stats, suffix?: string): string | Promise<string | 'changed'> {
    const known = this.#tags.get(path);
    if (known && sameVersion(known.version, fingerprint(stats))) return withSuffix(known.opaque, suffix);
    const key = `${path}\0${stats.ino}:${stats.ctimeMs}:${stats.mtimeMs}:${stats.size}`;
    let hashing = this.#hashing.get(key);
    if (!hashing) {
      hashing = this.#hash(path, stats).finally(() => this.#hashing.delete(key));
      this.#hashing.set(key, hashing);
    }
    return hashing.then((opaque) => (opaque === 'changed' ? opaque : withSuffix(opaque, suffix)));
  }

  forBody() {
    const tagger = createContentTagger();
    return {
      update: (chunk: Uint8Array) => void tagger.update(chunk),
      digest: () => tagger.digest(),
    };
  }

  /** Reads the file through once; `changed` when it is no longer (or not yet) the version `stats` describe. */
  async #hash(path: string, stats: Stats): Promise<string | 'changed'> {
    const handle = await open(path, 'r').catch(() => undefined);
    if (!handle) return 'changed';
    try {
      const tagger = createContentTagger();
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, stats.size)));
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, null);
        if (bytesRead === 0) break;
        tagger.update(buffer.subarray(0, bytesRead));
      }
      const after = await handle.stat();
      if (!sameVersion(fingerprint(after), fingerprint(stats))) return 'changed';
      const opaque = tagger.digest().slice(1, -1);
      this.#tags.set(path, { version: fingerprint(stats), opaque });
      return opaque;
    } finally {
      await handle.close();
    }
  }
}

function withSuffix(opaque: string, suffix: string | undefined): string {
  return formatEntityTag(suffix ? `${opaque}-${suffix}` : opaque);
}
