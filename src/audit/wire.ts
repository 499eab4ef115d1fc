/**
 * One request, one connection, the exact bytes. The auditor speaks HTTP/1.1 on a plain `node:net` / `node:tls`
 * socket because `fetch` decompresses, adds headers of its own and hides what follows a 304. Every failure —
 * DNS, refusal, TLS, timeouts, a connection closed mid-response, oversized headers — comes back as a `Fault`
 * with a sentence a person can act on; `exchange` never rejects and never outlives its deadline.
 */
import { createHash } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type HeaderList, ProtocolError, ResponseReader } from './http1.ts';

export interface WireRequest {
  method: string;
  url: URL;
  /** Sent in order after Host; the auditor adds `Connection: close` (and Content-Length for a body). */
  headers: HeaderList;
  body?: Uint8Array;
}

export interface WireResponse {
  version: string;
  status: number;
  reason: string;
  headers: HeaderList;
  bodyBytes: number;
  /** SHA-256 of the body bytes read (all of them unless `truncated`), hex. */
  bodySha256: string;
  /** The body, when asked for (`keepBody`). */
  body?: Buffer;
  truncated: boolean;
  /** Bytes after a response that has no body (304, HEAD): a body the server should not have sent. */
  strayBytes: number;
}

export type FaultCode = 'dns' | 'refused' | 'tls' | 'timeout' | 'reset' | 'protocol' | 'network';

export interface Fault {
  code: FaultCode;
  message: string;
}

export interface Exchange {
  request: WireRequest;
  /** Present once a response head was read, even when a fault came after it. */
  response?: WireResponse;
  fault?: Fault;
  /** Wall time from connecting to the last byte, in ms. */
  ms: number;
}

export interface WireOptions {
  /** Deadline for the whole exchange: connect, response and body. */
  timeoutMs: number;
  maxBodyBytes: number;
  maxHeaderBytes?: number;
  keepBody?: boolean;
  /**
   * After the head of a bodiless response, how long to keep listening for stray body bytes when the server
   * does not close the connection as asked.
   */
  strayGraceMs?: number;
}

const USER_AGENT = 'etagkit-check (+https://www.npmjs.com/package/etagkit)';

/** Sends `request` on a fresh connection and reads one response. Never rejects. */
export function exchange(request: WireRequest, options: WireOptions): Promise<Exchange> {
  const { url } = request;
  const secure = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = Number(url.port) || (secure ? 443 : 80);
  const where = `${url.hostname}:${port}`;
  const started = performance.now();
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  const reader = new ResponseReader(
    request.method,
    { maxHeaderBytes: options.maxHeaderBytes ?? 64 * 1024, maxBodyBytes: options.maxBodyBytes },
    (chunk) => {
      hash.update(chunk);
      if (options.keepBody) kept.push(Buffer.from(chunk));
    },
  );

  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    const socket: Socket = secure
      ? tlsConnect({
          host,
          port,
          servername: isIpLiteral(host) ? undefined : host,
          ALPNProtocols: ['http/1.1'],
        })
      : netConnect({ host, port });

    const finish = (fault?: Fault) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(grace);
      socket.destroy();
      let response: WireResponse | undefined;
      if (reader.head) {
        const r = reader.result();
        response = {
          ...r.head,
          bodyBytes: r.bodyBytes,
          bodySha256: hash.digest('hex'),
          truncated: r.truncated,
          strayBytes: r.strayBytes,
          ...(options.keepBody ? { body: Buffer.concat(kept) } : {}),
        };
      }
      resolve({ request, response, fault, ms: Math.round(performance.now() - started) });
    };

    const seconds = `${options.timeoutMs / 1000} s`;
    const deadline = setTimeout(() => {
      if (reader.bodiless) return finish(); // the server kept the connection open after a 304: that is fine
      const message = !connected
        ? `could not connect to ${where} within ${seconds}`
        : !reader.head
          ? `${where} accepted the connection but sent no complete response head within ${seconds}`
          : `the response body was still incomplete after ${seconds} (${reader.bytesRead} bytes read)`;
      finish({ code: 'timeout', message });
    }, options.timeoutMs);

    socket.setNoDelay(true);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      connected = true;
      socket.write(serialize(request));
      if (request.body) socket.write(request.body);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        return finish(protocolFault(error));
      }
      if (reader.done) finish();
      else if (reader.bodiless && !grace) grace = setTimeout(finish, options.strayGraceMs ?? 300);
    });
    const onEnd = () => {
      if (settled) return;
      try {
        reader.end();
        finish();
      } catch (error) {
        finish(protocolFault(error));
      }
    };
    socket.on('end', onEnd);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after a complete bodiless response loses nothing.
      if (reader.bodiless) return finish();
      finish(socketFault(error, { where, host, secure, connected, headRead: reader.head !== undefined }));
    });
    socket.on('close', onEnd);
  });
}

/** The request head: request line, Host, the probe's fields, then `Connection: close` (RFC 9112 §3, §9.6). */
export function serialize(request: WireRequest): string {
  const { url } = request;
  const lines = [`${request.method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  const names = new Set(request.headers.map(([n]) => n.toLowerCase()));
  if (!names.has('user-agent')) lines.push(`User-Agent: ${USER_AGENT}`);
  if (!names.has('accept')) lines.push('Accept: */*');
  for (const [name, value] of request.headers) {
    if (/[\r\n]/.test(name + value)) throw new TypeError(`header ${name} may not contain CR or LF`);
    lines.push(`${name}: ${value}`);
  }
  if (request.body) lines.push(`Content-Length: ${request.body.byteLength}`);
  lines.push('Connection: close', '', '');
  return lines.join('\r\n');
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

function protocolFault(error: unknown): Fault {
  if (error instanceof ProtocolError) return { code: 'protocol', message: error.message };
  throw error;
}

function socketFault(
  error: NodeJS.ErrnoException,
  at: { where: string; host: string; secure: boolean; connected: boolean; headRead: boolean },
): Fault {
  const code = error.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NODATA')
    return { code: 'dns', message: `DNS lookup of ${at.host} failed (${code})` };
  if (code === 'ECONNREFUSED') return { code: 'refused', message: `connection refused by ${at.where}` };
  const tlsCode = !code.startsWith('E') || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS');
  if (at.secure && !at.connected && tlsCode)
    return { code: 'tls', message: `TLS handshake with ${at.where} failed: ${error.message}` };
  if (code === 'ECONNRESET' || code === 'EPIPE')
    return {
      code: 'reset',
      message: at.headRead
        ? `${at.where} reset the connection in the middle of the response body`
        : `${at.where} reset the connection before sending a response`,
    };
  return { code: 'network', message: `${at.where}: ${error.message}` };
}
