/**
 * One HTTP GET as the monitor needs it, over an undici Agent (a keep-alive Pool per origin): a timeout over the
 * whole exchange, redirects followed by hand up to a limit (loops named as such), a body size cap, and every
 * failure turned into a FetchError with a short code and a message a user can act on. A body is returned only
 * when it arrived whole.
 */
import { Agent, type Dispatcher, request } from 'undici';

export type FetchErrorCode =
  | 'dns'
  | 'refused'
  | 'tls'
  | 'timeout'
  | 'reset'
  | 'redirect-loop'
  | 'too-many-redirects'
  | 'bad-redirect'
  | 'body-too-large'
  | 'network';

export class FetchError extends Error {
  override name = 'FetchError';
  readonly code: FetchErrorCode;
  constructor(code: FetchErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface FetchedResponse {
  status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  headers: Record<string, string>;
  /** The whole body of a 2xx response (never of a 304 or an error status). */
  body: Uint8Array | undefined;
  /** The URL that answered, after redirects. */
  url: string;
  /** Bytes received: bodies (of redirects too) and an estimate of the header bytes. */
  bytes: number;
  requestTime: number;
  responseTime: number;
}

export interface FetchOptions {
  headers: Record<string, string>;
  dispatcher: Dispatcher;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  now: () => number;
}

/** Fields a redirect to another origin must not carry along (RFC 9110 §15.4: the new target is a new party). */
const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization'];
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** An Agent with keep-alive connections, at most `connections` per origin. */
export function createDispatcher(options: { connections: number; timeoutMs: number }): Agent {
  return new Agent({
    connections: options.connections,
    keepAliveTimeout: 30_000,
    connectTimeout: Math.min(options.timeoutMs, 10_000),
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    maxHeaderSize: 64 * 1024,
  });
}

/** GET `url`, following redirects. Resolves with the final response; rejects with a FetchError. */
export async function fetchResource(url: string, options: FetchOptions): Promise<FetchedResponse> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const requestTime = options.now();
  const visited = new Set<string>();
  let headers = { ...options.headers };
  let current = url;
  let bytes = 0;
  for (let redirects = 0; ; redirects++) {
    visited.add(current);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(current, { method: 'GET', headers, dispatcher: options.dispatcher, signal });
    } catch (error) {
      throw classify(error, current, signal, options.timeoutMs);
    }
    const responseHeaders = flatten(response.headers);
    bytes += headerBytes(responseHeaders);
    const location = responseHeaders.location;
    if (REDIRECTS.has(response.statusCode) && location !== undefined) {
      bytes += await drain(response.body);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new FetchError(
          'bad-redirect',
          `${current} redirects to ${JSON.stringify(location)}, which is not a URL`,
        );
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new FetchError(
          'bad-redirect',
          `${current} redirects to ${next.protocol} (only http and https are followed)`,
        );
      next.hash = '';
      if (visited.has(next.href))
        throw new FetchError('redirect-loop', `redirect loop: ${current} leads back to ${next.href}`);
      if (redirects >= options.maxRedirects)
        throw new FetchError('too-many-redirects', `more than ${options.maxRedirects} redirects from ${url}`);
      if (next.origin !== new URL(current).origin) {
        headers = { ...headers };
        for (const name of CREDENTIALS) delete headers[name];
      }
      current = next.href;
      continue;
    }
    let body: Uint8Array | undefined;
    if (response.statusCode >= 200 && response.statusCode < 300) {
      body = await readCapped(response.body, options.maxBytes, current, signal, options.timeoutMs);
      bytes += body.byteLength;
    } else {
      bytes += await drain(response.body);
    }
    return {
      status: response.statusCode,
      headers: responseHeaders,
      body,
      url: current,
      bytes,
      requestTime,
      responseTime: options.now(),
    };
  }
}

async function readCapped(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
  url: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        body.destroy();
        throw new FetchError(
          'body-too-large',
          `${url}: the body is larger than ${maxBytes} bytes (raise --max-body)`,
        );
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof FetchError) throw error;
    throw classify(error, url, signal, timeoutMs, true);
  }
  return Buffer.concat(chunks, total);
}

/** Reads and discards a body we do not keep (redirects, 304s, errors); counts its bytes; never throws. */
async function drain(body: Dispatcher.ResponseData['body']): Promise<number> {
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > 64 * 1024) {
        body.destroy();
        break;
      }
    }
  } catch {}
  return total;
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** Status line, fields and the blank line, as they were on the wire (to within the field order). */
function headerBytes(headers: Record<string, string>): number {
  let n = 17 + 2;
  for (const [name, value] of Object.entries(headers)) n += name.length + value.length + 4;
  return n;
}

const TLS_CODES =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$|HOSTNAME_MISMATCH|ERR_OSSL)/;

function classify(
  error: unknown,
  url: string,
  signal: AbortSignal,
  timeoutMs: number,
  midBody = false,
): FetchError {
  const e = error as {
    code?: string;
    message?: string;
    cause?: { code?: string; message?: string };
    name?: string;
  };
  const code = e.code ?? e.cause?.code ?? '';
  const detail = e.cause?.message ?? e.message ?? String(error);
  const host = safeHost(url);
  if (signal.aborted || e.name === 'TimeoutError' || /TIMEOUT/.test(code))
    return new FetchError('timeout', `${url}: no complete answer within ${timeoutMs} ms (--timeout)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME')
    return new FetchError('dns', `${host}: the host name does not resolve (${code})`);
  if (code === 'ECONNREFUSED') return new FetchError('refused', `${host}: connection refused`);
  if (TLS_CODES.test(code)) return new FetchError('tls', `${host}: TLS failed: ${detail} (${code})`);
  if (midBody || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')
    return new FetchError(
      'reset',
      `${url}: the connection closed before the response was complete (${code || detail})`,
    );
  return new FetchError('network', `${url}: ${detail}${code ? ` (${code})` : ''}`);
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
