/**
 * Whether an entry read from a store can be turned into a Response. A store is outside this process's control (a
 * file another program may write, a Redis key anyone may set, an older or newer etagkit, a custom store with a
 * bug): an entry that cannot be served is a miss, never a failed request.
 */
import type { StoredResponse } from './store.ts';

/**
 * An entry createFetch built from a Response it received (or from a checked entry and such a Response): valid by
 * construction, so a store that hands the same object back (the memory store) costs no check.
 */
export class FetchedEntry implements StoredResponse {
  readonly key: string;
  readonly variant: string;
  readonly status: number;
  readonly headers: [string, string][];
  readonly varyHeaders: Record<string, string>;
  readonly body: Uint8Array;
  readonly requestTime: number;
  readonly responseTime: number;
  constructor(
    key: string,
    variant: string,
    status: number,
    headers: [string, string][],
    varyHeaders: Record<string, string>,
    body: Uint8Array,
    requestTime: number,
    responseTime: number,
  ) {
    this.key = key;
    this.variant = variant;
    this.status = status;
    this.headers = headers;
    this.varyHeaders = varyHeaders;
    this.body = body;
    this.requestTime = requestTime;
    this.responseTime = responseTime;
  }
}

/** A field name: an RFC 9110 §5.1 token. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a field value may not hold (RFC 9110 §5.5; Fetch's Headers refuses them, and any code point > 0xFF). */
const BAD_FIELD_VALUE = /[\0\r\n]|[^\0-\xff]/;

/**
 * Why `entry` (read for `key`) cannot be served, or undefined when it can. Checked: the key; a final status that
 * a cache stores as such (200–599, not 206 or 304: RFC 9111 §3.3, §4.3.4); header lines of valid names and values;
 * the Vary-selected request values; a byte body; finite times.
 */
export function unusableEntry(entry: StoredResponse, key: string): string | undefined {
  if (entry instanceof FetchedEntry) return entry.key === key ? undefined : 'stored for another key';
  if (typeof entry !== 'object' || entry === null) return 'not an object';
  if (entry.key !== key) return `stored for another key (${JSON.stringify(entry.key)})`;
  if (typeof entry.variant !== 'string') return 'variant is not a string';
  const { status } = entry;
  if (!Number.isInteger(status) || status < 200 || status > 599 || status === 206 || status === 304)
    return `status ${JSON.stringify(status)} is not a final status a cache stores`;
  if (!Array.isArray(entry.headers)) return 'headers is not a list';
  for (const line of entry.headers) {
    if (!Array.isArray(line) || line.length !== 2)
      return `header line ${JSON.stringify(line)} is not [name, value]`;
    const [name, value] = line;
    if (typeof name !== 'string' || !FIELD_NAME.test(name))
      return `invalid header name ${JSON.stringify(name)}`;
    if (typeof value !== 'string' || BAD_FIELD_VALUE.test(value))
      return `invalid value for header ${name}: ${JSON.stringify(value)}`;
  }
  const vary = entry.varyHeaders;
  if (typeof vary !== 'object' || vary === null) return 'varyHeaders is not an object';
  for (const name in vary) if (typeof vary[name] !== 'string') return `varyHeaders.${name} is not a string`;
  if (!(entry.body instanceof Uint8Array)) return 'body is not bytes';
  if (!Number.isFinite(entry.requestTime) || !Number.isFinite(entry.responseTime))
    return 'requestTime or responseTime is not a number';
  return undefined;
}
