/** A small in-memory cache of file bytes (whole small files, on-the-fly encodings) keyed by path. */

/** Bytes by key, each valid for one ETag, least recently used dropped first once over budget. */
export class ByteCache {
  readonly #entries = new Map<string, { etag: string; data: Uint8Array }>();
  #bytes = 0;
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get(key: string, etag: string): Uint8Array | undefined {
    const entry = this.#entries.get(key);
    if (!entry || entry.etag !== etag) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.data;
  }

  set(key: string, etag: string, data: Uint8Array): void {
    const old = this.#entries.get(key);
    if (old) {
      this.#bytes -= old.data.byteLength;
      this.#entries.delete(key);
    }
    if (data.byteLength > this.#maxBytes / 8) return;
    this.#entries.set(key, { etag, data });
    this.#bytes += data.byteLength;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= v.data.byteLength;
    }
  }
}
