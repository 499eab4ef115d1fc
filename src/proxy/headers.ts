/**
 * Header fields on their way through the proxy: what a proxy removes in each direction (hop-by-hop fields and
 * those named by Connection, RFC 9110 §7.6.1), what it adds (Via §7.6.3, Date §6.6.1, X-Forwarded-*), and the
 * flat `[name, value, …]` arrays that node's `writeHead` takes without building an object.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderLines } from '../client/policy.ts';
import { formatHttpDate } from '../core/index.ts';
import { SURROGATE_CAPABILITY } from './surrogate.ts';

/** Fields that describe one connection, never forwarded (RFC 9110 §7.6.1), plus this proxy's own credentials. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Request fields the proxy never forwards besides the hop-by-hop ones: Host names the proxy (the upstream's own
 * goes instead), Expect is answered by node itself, and X-Forwarded-* are rebuilt from what the proxy saw.
 */
const NOT_FORWARDED = new Set(['host', 'expect', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);

/** Conditional request fields (RFC 9110 §13.1). */
export const CONDITIONAL_FIELDS = [
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
] as const;

/** The name under which a stored entry keeps an entity-tag the proxy made (never sent under this name). */
export const GENERATED_ETAG = 'etagkit-etag';

/** Lower-case names listed in Connection (RFC 9110 §7.6.1): they are hop-by-hop for this message too. */
function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const names = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(','))
    if (part.trim()) names.add(part.trim().toLowerCase());
  return names;
}

/** Whether a field crosses the proxy: neither hop-by-hop nor listed in Connection. */
function endToEnd(name: string, listed: Set<string> | undefined): boolean {
  return !HOP_BY_HOP.has(name) && !listed?.has(name);
}

export interface ForwardContext {
  /** `host[:port]` of the upstream, sent as Host. */
  upstreamHost: string;
  /** The client's address, appended to X-Forwarded-For. */
  remoteAddress: string | undefined;
  /** Fields to leave out as well (the client's validators when the proxy fetches for its cache). */
  omit?: ReadonlySet<string>;
  /** Fields to set (the proxy's own validators when it revalidates). */
  set?: Readonly<Record<string, string>>;
}

/**
 * The header fields of a request as the proxy forwards it upstream: end-to-end fields of the client's request
 * (RFC 9110 §7.6.1), Host of the upstream, Via (§7.6.3: a gateway must add it to requests) and X-Forwarded-For,
 * -Host and -Proto so that the origin still knows who asked for what.
 */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  context: ForwardContext,
): Record<string, string | string[]> {
  const listed = connectionListed(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || NOT_FORWARDED.has(name) || !endToEnd(name, listed)) continue;
    if (context.omit?.has(name) || context.set?.[name] !== undefined) continue;
    out[name] = value;
  }
  if (context.set) Object.assign(out, context.set);
  out.host = context.upstreamHost;
  out.via = headers.via ? `${headers.via}, 1.1 etagkit` : '1.1 etagkit';
  // Edge Architecture §2.1: each surrogate on the way appends its device token and what it understands.
  const capability = requestField(headers, 'surrogate-capability');
  out['surrogate-capability'] = capability ? `${capability}, ${SURROGATE_CAPABILITY}` : SURROGATE_CAPABILITY;
  const forwardedFor = headers['x-forwarded-for'];
  if (context.remoteAddress)
    out['x-forwarded-for'] = forwardedFor
      ? `${forwardedFor}, ${context.remoteAddress}`
      : context.remoteAddress;
  if (headers.host) out['x-forwarded-host'] = headers.host;
  out['x-forwarded-proto'] = 'http';
  return out;
}

/**
 * Header lines of an upstream response that go on downstream: end-to-end fields only (RFC 9110 §7.6.1), names
 * lower-case, repeated fields as separate lines (Set-Cookie!), and never a field named like the proxy's own
 * stored tag. Adds Date when the upstream sent none (§6.6.1: a recipient with a clock must).
 */
export function responseLines(headers: IncomingHttpHeaders, now: number): [string, string][] {
  const listed = connectionListed(headers.connection);
  const lines: [string, string][] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name === GENERATED_ETAG || !endToEnd(name, listed)) continue;
    if (Array.isArray(value)) for (const v of value) lines.push([name, v]);
    else lines.push([name, value]);
  }
  if (headers.date === undefined) lines.push(['date', formatHttpDate(now)]);
  return lines;
}

/** `[[n, v], …]` → `[n, v, …]`, leaving out `skip`ped names, for `writeHead`. */
export function flatten(lines: HeaderLines, skip?: ReadonlySet<string>): string[] {
  const flat: string[] = [];
  for (const [name, value] of lines) if (!skip?.has(name)) flat.push(name, value);
  return flat;
}

/** The first value of a request field (node joins most repeated fields; Cookie with `; `). */
export function requestField(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
