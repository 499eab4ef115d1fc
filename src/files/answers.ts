/** The file server's answers that are not a file's bytes: errors as problem+json, and byte ranges of a file. */
import type { FileHandle } from 'node:fs/promises';
import { type ByteRange, formatContentRange, formatUnsatisfiedRange } from '../core/index.ts';
import { problem } from '../server/problem.ts';
import type { FileBody } from './body.ts';

export interface FilePlan {
  status: number;
  headers: Record<string, string>;
  body?: FileBody;
}

const encoder = new TextEncoder();

/**
 * The answer to a file system error the client caused or can act on, as problem+json; undefined for the rest,
 * which are server failures (500).
 */
export function fileSystemProblem(error: NodeJS.ErrnoException, pathname: string): FilePlan | undefined {
  switch (error.code) {
    case 'EACCES':
    case 'EPERM':
      return problem(403, 'Forbidden', `the server has no permission to access ${pathname}`);
    case 'EROFS':
      return problem(403, 'Forbidden', 'the served directory is on a read-only file system');
    case 'ELOOP':
      return problem(409, 'Conflict', 'a symbolic link on this path leads back to itself (a link loop)');
    case 'ENAMETOOLONG':
      // §15.5.15: longer than the server is willing (here: able) to interpret.
      return problem(
        414,
        'URI Too Long',
        'a name on this path is longer than the file system allows (255 bytes per name)',
      );
    case 'ENOSPC':
    case 'EDQUOT':
      // RFC 4918 §11.5: the server cannot store the representation.
      return problem(507, 'Insufficient Storage', 'the disk holding the served directory is full');
    default:
      return undefined;
  }
}

export function methodNotAllowed(writable: boolean): FilePlan {
  const plan = problem(
    405,
    'Method Not Allowed',
    writable
      ? 'use GET, HEAD, PUT or DELETE'
      : 'use GET or HEAD (start with --writable to allow PUT and DELETE)',
  );
  plan.headers.allow = writable ? 'GET, HEAD, PUT, DELETE' : 'GET, HEAD';
  return plan;
}

/** 412 (§15.5.13) with a problem+json body naming the precondition that failed, and the current ETag. */
export function preconditionFailed(by: string, etag: string): FilePlan {
  const plan = problem(412, 'Precondition Failed', `${by} did not match the current representation`, {
    precondition: by,
  });
  plan.headers.etag = etag;
  return plan;
}

/** §15.5.17: 416 says how long the representation is. */
export function rangeNotSatisfiable(size: number): FilePlan {
  return { status: 416, headers: { 'content-range': formatUnsatisfiedRange(size), 'content-length': '0' } };
}

/**
 * 206 to a GET (§14.2: Range is defined for GET only) with one range (§14.4) or multipart/byteranges (§14.6) of
 * a representation of `size` bytes. `headers` are the whole representation's; `bytes` are its bytes when they
 * are in memory; `open` opens its file, or says it changed since its ETag was computed.
 */
export async function partial(
  ranges: ByteRange[],
  size: number,
  headers: Record<string, string>,
  bytes: Uint8Array | undefined,
  open: () => Promise<FileHandle | 'changed'>,
): Promise<FilePlan | 'changed'> {
  const contentType = headers['content-type']!;
  const out = { ...headers };
  let body: (handle: FileHandle) => FileBody;
  if (ranges.length === 1) {
    const [range] = ranges as [ByteRange];
    out['content-range'] = formatContentRange(range, size);
    out['content-length'] = String(range.end - range.start + 1);
    if (bytes)
      return {
        status: 206,
        headers: out,
        body: { kind: 'bytes', data: bytes.subarray(range.start, range.end + 1) },
      };
    body = (handle) => ({ kind: 'file', handle, start: range.start, end: range.end });
  } else {
    const boundary = `etagkit-${crypto.randomUUID()}`;
    const parts = ranges.map((range) => ({
      range,
      head: encoder.encode(
        `\r\n--${boundary}\r\ncontent-type: ${contentType}\r\ncontent-range: ${formatContentRange(range, size)}\r\n\r\n`,
      ),
    }));
    const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
    const length = parts.reduce(
      (n, p) => n + p.head.byteLength + p.range.end - p.range.start + 1,
      tail.byteLength,
    );
    out['content-type'] = `multipart/byteranges; boundary=${boundary}`;
    out['content-length'] = String(length);
    body = (handle) => ({ kind: 'parts', handle, parts, tail });
  }
  // Several ranges are read from the file even when its bytes are in memory: a rare request, a simple body.
  const handle = await open();
  return handle === 'changed' ? handle : { status: 206, headers: out, body: body(handle) };
}
