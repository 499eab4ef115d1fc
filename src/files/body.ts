/** File bodies as streams: one range or multipart/byteranges parts read on demand from an open file. */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ByteRange } from '../core/index.ts';

export type FileBody =
  | { kind: 'bytes'; data: Uint8Array }
  /** Bytes start..end (inclusive) of an open file; render it with `fileBodyStream`, which closes the handle. */
  | { kind: 'file'; handle: FileHandle; start: number; end: number }
  /** multipart/byteranges (§14.6): each part's header, then its bytes; `tail` closes the multipart body. */
  | { kind: 'parts'; handle: FileHandle; parts: { head: Uint8Array; range: ByteRange }[]; tail: Uint8Array };

/** Read size: 256 KiB costs fewer round trips than 64 KiB on large files (measured: 1 MB 200s about 1.3× faster). */
const CHUNK = 256 * 1024;

/**
 * A file body (one range or multipart parts) as a stream read on demand, in CHUNK-sized reads. The handle is closed
 * however the stream ends: sent in full, failed, or destroyed before its first read (a client gone early).
 * A file that shrinks while it is sent fails the stream, so the response is cut off rather than left short of
 * its Content-Length on a connection that would then be reused.
 */
export function fileBodyStream(body: Exclude<FileBody, { kind: 'bytes' }>): Readable {
  const chunks = fileBodyChunks(body);
  return new Readable({
    read() {
      chunks.next().then(
        ({ done, value }) => this.push(done ? null : value),
        (error: Error) => this.destroy(error),
      );
    },
    destroy(error, callback) {
      body.handle.close().then(() => callback(error), callback);
    },
  });
}

async function* fileBodyChunks(body: Exclude<FileBody, { kind: 'bytes' }>): AsyncGenerator<Uint8Array> {
  const parts =
    body.kind === 'file' ? [{ head: undefined, range: { start: body.start, end: body.end } }] : body.parts;
  for (const { head, range } of parts) {
    if (head) yield head;
    for (let pos = range.start; pos <= range.end; ) {
      const length = Math.min(CHUNK, range.end - pos + 1);
      const { bytesRead, buffer } = await body.handle.read(Buffer.allocUnsafe(length), 0, length, pos);
      if (bytesRead === 0) throw new Error('file shrank while it was being sent');
      yield buffer.subarray(0, bytesRead);
      pos += bytesRead;
    }
  }
  if (body.kind === 'parts') yield body.tail;
}
