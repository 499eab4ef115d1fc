/**
 * Conditional request evaluation (RFC 9110 §13.1, §13.2). One small function per header, each returning a
 * three-valued result, composed in exactly the order of §13.2.2.
 */
import { type EntityTag, parseEntityTag, parseEntityTagList } from './entity-tag.ts';
import { parseHttpDate, toHttpSeconds } from './http-date.ts';
import { type ByteRange, parseRange, resolveRanges } from './range.ts';

/** Request headers: a Fetch `Headers`, or a plain object with lower-case names (node's `IncomingHttpHeaders`). */
export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | string[] | undefined>>;

export interface ConditionalRequest {
  method: string;
  headers: HeaderSource;
}

/** What the server knows, cheaply, about the current representation of the target resource. */
export interface CurrentRepresentation {
  /** Whether a current representation exists (§13.1.1 `*`). Defaults to true. */
  exists?: boolean;
  /** Its entity-tag, as a header value (`"abc"`, `W/"abc"`) or parsed. */
  etag?: string | EntityTag;
  /** Its modification date (Last-Modified). An invalid Date or a non-finite number is ignored, as if absent. */
  lastModified?: Date | number;
  /** Its length in bytes; needed to answer Range requests. Anything but a safe integer ≥ 0 is ignored. */
  size?: number;
  /**
   * Whether Last-Modified is a strong validator (§8.8.2.2). When omitted it is strong only if it lies at least
   * one second before `now`, since a change within that second could go unnoticed.
   */
  lastModifiedIsStrong?: boolean;
  /** The clock, for the rule above and for two-digit rfc850 years (§5.6.7). Defaults to Date.now(). */
  now?: number;
}

export type PreconditionHeader = 'if-match' | 'if-unmodified-since' | 'if-none-match' | 'if-modified-since';

/** The outcome of §13.2.2, with the header that decided it. */
export type PreconditionDecision =
  | { action: 'proceed'; by?: undefined }
  | { action: 'not-modified'; by: 'if-none-match' | 'if-modified-since' }
  | { action: 'precondition-failed'; by: 'if-match' | 'if-unmodified-since' | 'if-none-match' }
  /** Range was present but If-Range did not hold: send the whole representation (§13.1.5). */
  | { action: 'ignore-range'; by: 'if-range' }
  /** Send 206 with these ranges (§14.2). */
  | { action: 'partial'; by: 'range'; ranges: ByteRange[] }
  /** No range is satisfiable: 416 with `Content-Range: bytes *\/size` (§15.5.17). */
  | { action: 'range-not-satisfiable'; by: 'range' };

/** Three-valued result of one precondition, as in §13.2.2: absent/ignored, true or false. */
type Condition = 'none' | true | false;

const PROCEED: PreconditionDecision = Object.freeze({ action: 'proceed' });

/** Reads one header from either kind of header source. */
export function getHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers.get === 'function')
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const v = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Evaluates the preconditions of a request against the current representation (§13.2.2), then Range (§14.2)
 * when `current.size` is known.
 *
 * Call it only when the unconditional response would be 2xx or 412 (§13.2.1): for a GET or HEAD of a resource
 * that does not exist (`exists: false`) it returns `proceed`, so the handler answers 404 as usual.
 *
 * @example
 * const decision = evaluatePreconditions(request, { etag: '"v42"', lastModified: user.updatedAt });
 * if (decision.action === 'not-modified') return new Response(null, { status: 304, headers: { etag: '"v42"' } });
 */
export function evaluatePreconditions(
  request: ConditionalRequest,
  current: CurrentRepresentation = {},
): PreconditionDecision {
  const method = request.method.toUpperCase();
  const safe = method === 'GET' || method === 'HEAD';
  const exists = current.exists ?? true;
  // §13.2.1: preconditions apply only when the unconditional response would be 2xx; a missing resource
  // would be 404 for GET/HEAD.
  if (safe && !exists) return PROCEED;

  const h = request.headers;
  // One clock for the whole decision: it resolves two-digit rfc850 years and the strength of Last-Modified.
  const now = current.now ?? Date.now();
  // An invalid modification date compares false with everything: without this, any valid If-Modified-Since
  // would give 304 and any If-Unmodified-Since 412. Ignore it, as a resource without a date (§13.1.3, §13.1.4).
  const lastModified = timeOf(current.lastModified);
  const ifMatch = getHeader(h, 'if-match');
  const ifNoneMatch = getHeader(h, 'if-none-match');
  const etag =
    current.etag === undefined
      ? undefined
      : typeof current.etag === 'string'
        ? parseEntityTag(current.etag)
        : current.etag;

  // Step 1: If-Match; step 2: otherwise If-Unmodified-Since.
  if (ifMatch !== undefined) {
    if (checkIfMatch(ifMatch, exists, etag) === false)
      return { action: 'precondition-failed', by: 'if-match' };
  } else if (
    checkIfUnmodifiedSince(getHeader(h, 'if-unmodified-since'), exists, lastModified, now) === false
  ) {
    return { action: 'precondition-failed', by: 'if-unmodified-since' };
  }

  // Step 3: If-None-Match; step 4: otherwise, for GET/HEAD, If-Modified-Since.
  if (ifNoneMatch !== undefined) {
    if (checkIfNoneMatch(ifNoneMatch, exists, etag) === false) {
      return safe
        ? { action: 'not-modified', by: 'if-none-match' }
        : { action: 'precondition-failed', by: 'if-none-match' };
    }
  } else if (safe && checkIfModifiedSince(getHeader(h, 'if-modified-since'), lastModified, now) === false) {
    return { action: 'not-modified', by: 'if-modified-since' };
  }

  // Step 5: If-Range, then Range — GET only (§14.2: range handling is defined for GET alone). A size that is
  // not a byte count (negative, fractional, NaN, past 2^53) would resolve to nonsense ranges: serve it whole.
  const size = current.size;
  if (method !== 'GET' || size === undefined || !Number.isSafeInteger(size) || size < 0) return PROCEED;
  const range = getHeader(h, 'range');
  if (range === undefined) return PROCEED; // §13.1.5: If-Range without Range is ignored
  const strong = current.lastModifiedIsStrong;
  if (checkIfRange(getHeader(h, 'if-range'), etag, lastModified, strong, now) === false)
    return { action: 'ignore-range', by: 'if-range' };
  const specs = parseRange(range);
  if (!specs) return PROCEED; // an invalid Range is ignored (§14.2)
  const ranges = resolveRanges(specs, size);
  if (ranges.length === 0) return { action: 'range-not-satisfiable', by: 'range' };
  return { action: 'partial', by: 'range', ranges };
}

/** §13.1.1: `*` is true when a current representation exists; a list is true when one tag matches strongly. */
function checkIfMatch(value: string, exists: boolean, etag: EntityTag | undefined): Condition {
  const list = parseEntityTagList(value);
  if (list === '*') return exists;
  if (!exists || etag === undefined || etag.weak) return false;
  return list.some((t) => !t.weak && t.tag === etag.tag);
}

/**
 * §13.1.4: true when the representation was not modified after the date. Ignored (`none`) when the date is
 * invalid or the resource has no modification date. A missing resource has not been modified since: evaluate
 * as true so that e.g. a PUT that creates proceeds.
 */
function checkIfUnmodifiedSince(
  value: string | undefined,
  exists: boolean,
  lastModified: number | undefined,
  now: number,
): Condition {
  if (value === undefined) return 'none';
  const date = parseHttpDate(value, now);
  if (date === undefined || !exists || lastModified === undefined) return 'none';
  return toHttpSeconds(lastModified) <= toHttpSeconds(date);
}

/** §13.1.2: `*` is false when a current representation exists; a list is false when one tag matches weakly. */
function checkIfNoneMatch(value: string, exists: boolean, etag: EntityTag | undefined): Condition {
  const list = parseEntityTagList(value);
  if (list === '*') return !exists;
  if (!exists || etag === undefined) return true;
  return !list.some((t) => t.tag === etag.tag);
}

/** §13.1.3: true when modified after the date; ignored for an invalid date or an unknown modification date. */
function checkIfModifiedSince(
  value: string | undefined,
  lastModified: number | undefined,
  now: number,
): Condition {
  if (value === undefined || lastModified === undefined) return 'none';
  const date = parseHttpDate(value, now);
  if (date === undefined) return 'none';
  return toHttpSeconds(lastModified) > toHttpSeconds(date);
}

/**
 * §13.1.5: an entity-tag must match strongly; a date must exactly equal a strong Last-Modified. An If-Range
 * that is neither (or a weak tag, which a client must not send) is false: the whole representation is sent.
 */
function checkIfRange(
  value: string | undefined,
  etag: EntityTag | undefined,
  lastModified: number | undefined,
  lastModifiedIsStrong: boolean | undefined,
  now: number,
): Condition {
  if (value === undefined) return 'none';
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) {
    const tag = parseEntityTag(trimmed);
    return tag !== undefined && etag !== undefined && !tag.weak && !etag.weak && tag.tag === etag.tag;
  }
  const date = parseHttpDate(trimmed, now);
  if (date === undefined || lastModified === undefined) return false;
  const modified = toHttpSeconds(lastModified);
  const strong = lastModifiedIsStrong ?? modified < toHttpSeconds(now);
  return strong && modified === toHttpSeconds(date);
}

/** A modification date as milliseconds; an invalid Date, a non-finite number or another type is no date. */
function timeOf(value: Date | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'number' ? value : value instanceof Date ? value.getTime() : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}
