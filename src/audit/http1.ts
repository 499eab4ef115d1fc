/**
 * An incremental HTTP/1.1 response reader (RFC 9112) for the auditor. It works on the bytes exactly as they
 * arrived, so it can say what `fetch` hides: the header lines as sent, a body on a response that cannot have one
 * (a 304 or a HEAD answer, RFC 9112 §6.3), and a body cut short. Pure: no sockets; `wire.ts` feeds it.
 */

/** Header lines as received: original case, in order. */
export type HeaderList = [string, string][];

export interface ResponseHead {
  version: string;
  status: number;
  reason: string;
  headers: HeaderList;
}

export interface ReaderLimits {
  /** Bytes of status line and header section before the response is refused. */
  maxHeaderBytes: number;
  /** Body bytes read before the rest is dropped (`truncated`). */
  maxBodyBytes: number;
}

/** What the reader concluded once done. */
export interface ReadResult {
  head: ResponseHead;
  /** Body bytes (after chunked decoding) handed to `onBody`, at most `maxBodyBytes`. */
  bodyBytes: number;
  /** The body was longer than `maxBodyBytes`; reading stopped there. */
  truncated: boolean;
  /**
   * Bytes that followed a response that has no body by definition (1xx, 204, 304, any answer to HEAD): on a
   * connection that closes afterwards, they can only be a body the server should not have sent.
   */
  strayBytes: number;
  /** How the body was delimited (RFC 9112 §6.3). */
  framing: 'none' | 'content-length' | 'chunked' | 'close';
}

/** A response that cannot be read: the message says what was wrong. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

type State =
  | { kind: 'head' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; remaining: number }
  | { kind: 'chunk-end' }
  | { kind: 'trailers' }
  | { kind: 'close' }
  | { kind: 'bodiless' }
  | { kind: 'done' };

const MAX_LINE = 8192;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/;

/**
 * Reads one response to `method`. Call `push` with each chunk and `end` at EOF; `done` turns true once the
 * response is complete (or the body cap was reached), after which the caller may close the connection. For a
 * bodiless response `done` stays false, so that stray bytes are still counted until the caller stops.
 */
export class ResponseReader {
  readonly #method: string;
  readonly #limits: ReaderLimits;
  readonly #onBody: (chunk: Uint8Array) => void;
  #state: State = { kind: 'head' };
  #pending: Buffer = Buffer.alloc(0);
  #headBytes = 0;
  #head: ResponseHead | undefined;
  #lines: string[] = [];
  #bodyBytes = 0;
  #truncated = false;
  #strayBytes = 0;
  #framing: ReadResult['framing'] = 'none';

  constructor(method: string, limits: ReaderLimits, onBody: (chunk: Uint8Array) => void = () => {}) {
    this.#method = method.toUpperCase();
    this.#limits = limits;
    this.#onBody = onBody;
  }

  /** The final head, once its header section was read (informational 1xx heads are skipped). */
  get head(): ResponseHead | undefined {
    return this.#head;
  }

  /** The message is complete (or truncated at the cap): nothing more needs reading. */
  get done(): boolean {
    return this.#state.kind === 'done';
  }

  /** The head is read and the response has no body (RFC 9112 §6.3 rules 1 and 2). */
  get bodiless(): boolean {
    return this.#state.kind === 'bodiless';
  }

  get bytesRead(): number {
    return this.#bodyBytes;
  }

  /** Feeds bytes from the connection; throws ProtocolError on a response that cannot be read. */
  push(chunk: Uint8Array): void {
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#pending.length > 0) {
      data = Buffer.concat([this.#pending, data]);
      this.#pending = Buffer.alloc(0);
    }
    let i = 0;
    while (i < data.length) {
      const s = this.#state;
      if (s.kind === 'done') return;
      if (s.kind === 'bodiless') {
        this.#strayBytes += data.length - i;
        return;
      }
      if (s.kind === 'close') {
        i += this.#body(data.subarray(i));
        continue;
      }
      if (s.kind === 'length' || s.kind === 'chunk-data') {
        const take = Math.min(s.remaining, data.length - i);
        const taken = this.#body(data.subarray(i, i + take));
        s.remaining -= taken;
        i += taken;
        if (this.#truncated) return;
        if (s.remaining === 0) this.#state = s.kind === 'length' ? { kind: 'done' } : { kind: 'chunk-end' };
        continue;
      }
      // Line-oriented states: head, chunk-size, chunk-end, trailers.
      const nl = data.indexOf(0x0a, i);
      if (nl < 0) {
        this.#pending = data.subarray(i);
        if (s.kind === 'head' && this.#headBytes + this.#pending.length > this.#limits.maxHeaderBytes)
          throw new ProtocolError(headersTooLong(this.#limits));
        if (this.#pending.length > MAX_LINE) throw new ProtocolError(lineTooLong(s.kind));
        return;
      }
      this.#count(nl + 1 - i, s.kind);
      // RFC 9112 §2.2: a recipient may accept a bare LF as the line terminator.
      const end = nl > i && data[nl - 1] === 0x0d ? nl - 1 : nl;
      if (end - i > MAX_LINE) throw new ProtocolError(lineTooLong(s.kind));
      this.#line(data.toString('latin1', i, end));
      i = nl + 1;
    }
  }

  /** The connection closed. Returns the result, or throws ProtocolError when the response was incomplete. */
  end(): ReadResult {
    const s = this.#state;
    if (s.kind === 'close' || s.kind === 'bodiless') this.#state = { kind: 'done' };
    if (this.#state.kind !== 'done' || !this.#head) {
      if (s.kind === 'head')
        throw new ProtocolError(
          this.#headBytes === 0 && this.#lines.length === 0
            ? 'the server closed the connection without sending a response'
            : 'the server closed the connection in the middle of the response headers',
        );
      if (s.kind === 'length')
        throw new ProtocolError(
          `the server closed the connection after ${this.#bodyBytes} of ${this.#bodyBytes + s.remaining} body bytes (Content-Length)`,
        );
      throw new ProtocolError(
        `the server closed the connection in the middle of a chunked body, after ${this.#bodyBytes} bytes`,
      );
    }
    return this.result();
  }

  /** What was read so far (for a response the caller stops reading once `done`). */
  result(): ReadResult {
    if (!this.#head) throw new ProtocolError('no response head was read');
    return {
      head: this.#head,
      bodyBytes: this.#bodyBytes,
      truncated: this.#truncated,
      strayBytes: this.#strayBytes,
      framing: this.#framing,
    };
  }

  #count(bytes: number, kind: State['kind']): void {
    if (kind !== 'head') return;
    this.#headBytes += bytes;
    if (this.#headBytes > this.#limits.maxHeaderBytes) throw new ProtocolError(headersTooLong(this.#limits));
  }

  /** Hands body bytes to the sink up to the cap; returns how many were consumed. */
  #body(chunk: Buffer): number {
    const room = this.#limits.maxBodyBytes - this.#bodyBytes;
    if (chunk.length > room) {
      if (room > 0) this.#onBody(chunk.subarray(0, room));
      this.#bodyBytes += Math.max(0, room);
      this.#truncated = true;
      this.#state = { kind: 'done' };
      return chunk.length;
    }
    if (chunk.length > 0) this.#onBody(chunk);
    this.#bodyBytes += chunk.length;
    return chunk.length;
  }

  #line(line: string): void {
    const s = this.#state;
    if (s.kind === 'head') {
      if (line.length > 0) {
        // RFC 9112 §2.2: empty lines before the status line are ignored; so is obs-fold joined (§5.2).
        if (this.#lines.length > 0 && (line[0] === ' ' || line[0] === '\t'))
          this.#lines[this.#lines.length - 1] += ` ${line.trim()}`;
        else this.#lines.push(line);
      } else if (this.#lines.length > 0) this.#endOfHead();
      return;
    }
    if (s.kind === 'chunk-size') {
      // chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1); extensions are ignored.
      const semi = line.indexOf(';');
      const size = (semi < 0 ? line : line.slice(0, semi)).trim();
      if (!/^[0-9A-Fa-f]{1,12}$/.test(size))
        throw new ProtocolError(`invalid chunk size ${JSON.stringify(line.slice(0, 40))}`);
      const n = Number.parseInt(size, 16);
      this.#state = n === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', remaining: n };
      return;
    }
    if (s.kind === 'chunk-end') {
      if (line.length > 0) throw new ProtocolError('chunk data is longer than its chunk size');
      this.#state = { kind: 'chunk-size' };
      return;
    }
    if (s.kind === 'trailers' && line.length === 0) this.#state = { kind: 'done' };
  }

  #endOfHead(): void {
    const [statusLine, ...fieldLines] = this.#lines;
    this.#lines = [];
    const m = STATUS_LINE.exec(statusLine!);
    if (!m)
      throw new ProtocolError(`not an HTTP/1.x status line: ${JSON.stringify(statusLine!.slice(0, 80))}`);
    const headers: HeaderList = [];
    for (const [i, field] of fieldLines.entries()) {
      const colon = field.indexOf(':');
      const name = colon > 0 ? field.slice(0, colon) : '';
      // Placed, never shown: a line that is not `name: value` may hold a cookie or a token anywhere in it.
      if (!TOKEN.test(name))
        throw new ProtocolError(
          `malformed header line: field line ${i + 1} of the response (${field.length} bytes, not shown) ` +
            (colon > 0 ? 'has no valid field name before its colon' : 'has no colon'),
        );
      headers.push([name, field.slice(colon + 1).trim()]);
    }
    const status = Number(m[2]);
    // 1xx responses are interim (RFC 9110 §15.2): the final response follows. 101 switches protocols, which
    // an audit never asks for.
    if (status >= 100 && status < 200 && status !== 101) {
      this.#headBytes = 0;
      return;
    }
    this.#head = { version: m[1]!, status, reason: m[3] ?? '', headers };
    this.#state = this.#framingFor(this.#head);
  }

  /** RFC 9112 §6.3: how the body of this response is delimited. */
  #framingFor(head: ResponseHead): State {
    if (this.#method === 'HEAD' || head.status === 204 || head.status === 304 || head.status === 101)
      return { kind: 'bodiless' };
    const te = values(head.headers, 'transfer-encoding');
    if (te.length > 0) {
      if (te.at(-1)!.toLowerCase() === 'chunked') {
        this.#framing = 'chunked';
        return { kind: 'chunk-size' };
      }
      this.#framing = 'close';
      return { kind: 'close' };
    }
    const lengths = [...new Set(values(head.headers, 'content-length'))];
    if (lengths.length > 0) {
      if (lengths.length > 1 || !/^\d{1,15}$/.test(lengths[0]!))
        throw new ProtocolError(`invalid Content-Length ${JSON.stringify(lengths.join(', ').slice(0, 80))}`);
      this.#framing = 'content-length';
      const n = Number(lengths[0]);
      return n === 0 ? { kind: 'done' } : { kind: 'length', remaining: n };
    }
    this.#framing = 'close';
    return { kind: 'close' };
  }
}

function headersTooLong(limits: ReaderLimits): string {
  return `the response headers exceed ${limits.maxHeaderBytes} bytes`;
}

function lineTooLong(kind: State['kind']): string {
  return kind === 'head'
    ? `a response header line is longer than ${MAX_LINE} bytes`
    : `a chunk-size or trailer line is longer than ${MAX_LINE} bytes`;
}

/** The list members of every field named `name` (case-insensitive), split on commas (RFC 9110 §5.3). */
function values(headers: HeaderList, name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers)
    if (n.toLowerCase() === name) for (const part of v.split(',')) if (part.trim()) out.push(part.trim());
  return out;
}
