/**
 * On-the-fly compression with bounded cost. A compression reads a whole file and encodes it on libuv's thread
 * pool, which file reads share; unbounded, a burst of requests for large text files would take every thread
 * and hundreds of megabytes, and stall every other client. So:
 *
 * - at most `limit` compressions run at once (half the thread pool: reads always find a free thread);
 * - requests for the same file, version and coding while one runs wait for that one (one compression, shared);
 * - when all slots are taken, the caller is told `busy` and sends the file as it is stored (identity): correct,
 *   since the response already says `Vary: Accept-Encoding`, and free of queueing delay.
 *
 * Each compression is announced on diagnostics_channel `etagkit:files:compression`.
 */
import { channel } from 'node:diagnostics_channel';
import { promisify } from 'node:util';
import { brotliCompress, gzip, constants as zlib } from 'node:zlib';
import type { ContentCoding } from './negotiate.ts';

export const COMPRESSION_CHANNEL = 'etagkit:files:compression';

/** What diagnostics_channel subscribers receive. */
export type CompressionEvent =
  | { phase: 'start'; key: string; coding: ContentCoding; running: number }
  | { phase: 'end'; key: string; coding: ContentCoding; bytesIn: number; bytesOut: number; running: number }
  | { phase: 'busy' | 'join'; key: string; coding: ContentCoding; running: number };

/** The encoded bytes; `incompressible` when encoding does not make them smaller; `changed` when the file did. */
export type Encoded = Uint8Array | 'incompressible' | 'changed';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);
const events = channel(COMPRESSION_CHANNEL);

/** Half of libuv's thread pool (UV_THREADPOOL_SIZE, default 4), at least one. */
export function defaultCompressionLimit(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.floor(pool / 2));
}

export class Compressor {
  readonly #running = new Map<string, Promise<Encoded>>();
  readonly #limit: number;

  constructor(limit = defaultCompressionLimit()) {
    this.#limit = limit;
  }

  /**
   * Encodes the bytes `read` returns, unless a compression with the same `key` (file, version and coding) is
   * running — then its result is shared — or `limit` are running: then `busy`, and nothing is read.
   */
  encode(
    key: string,
    coding: ContentCoding,
    read: () => Promise<Uint8Array | 'changed'>,
  ): Promise<Encoded> | 'busy' {
    const running = this.#running.get(key);
    if (running) {
      publish({ phase: 'join', key, coding, running: this.#running.size });
      return running;
    }
    if (this.#running.size >= this.#limit) {
      publish({ phase: 'busy', key, coding, running: this.#running.size });
      return 'busy';
    }
    const job = this.#run(key, coding, read).finally(() => this.#running.delete(key));
    this.#running.set(key, job);
    publish({ phase: 'start', key, coding, running: this.#running.size });
    return job;
  }

  async #run(
    key: string,
    coding: ContentCoding,
    read: () => Promise<Uint8Array | 'changed'>,
  ): Promise<Encoded> {
    const raw = await read();
    if (raw === 'changed') return raw;
    const encoded = await compress(raw, coding);
    publish({
      phase: 'end',
      key,
      coding,
      bytesIn: raw.byteLength,
      bytesOut: encoded.byteLength,
      running: this.#running.size,
    });
    return encoded.byteLength < raw.byteLength ? encoded : 'incompressible';
  }
}

function compress(raw: Uint8Array, coding: ContentCoding): Promise<Uint8Array> {
  return coding === 'br'
    ? brotliAsync(raw, {
        params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.byteLength },
      })
    : gzipAsync(raw, { level: 6 });
}

function publish(event: CompressionEvent): void {
  if (events.hasSubscribers) events.publish(event);
}
