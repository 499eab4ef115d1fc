/**
 * The framework-free heart of `conditional()`: given a request's method and headers and what `validate` said
 * about the current representation, decide whether to run the handler or answer 304 / 412 / 428 at once, and
 * describe that early answer (status, headers, body) so each adapter only has to write it.
 */
import {
  type EntityTag,
  evaluatePreconditions,
  formatHttpDate,
  getHeader,
  type HeaderSource,
  parseEntityTag,
  parseHttpDate,
} from '../core/index.ts';
import { normalizeConditionalHeaders, tagForEncoding } from './encoding.ts';
import { problem } from './problem.ts';

/** What `validate` knows, cheaply, about the current representation of the target resource. */
export interface Validators {
  /** Its entity-tag as a header value: `"v42"` or `W/"v42"` (see `etagFromVersion`). */
  etag?: string;
  /** Its modification date, sent as Last-Modified and compared with If-(Un)Modified-Since. */
  lastModified?: Date | number;
  /** False when the resource does not exist (GET → the handler's 404; PUT with `If-None-Match: *` proceeds). */
  exists?: boolean;
}

/**
 * Methods that must carry a precondition (If-Match, If-Unmodified-Since or If-None-Match), answered 428
 * otherwise (RFC 6585 §3). `true` means PUT, PATCH and DELETE.
 */
export type RequirePreconditions = boolean | readonly string[];

/** What to do with a request before its handler runs, and which header decided it. */
export type ServerDecision =
  | { action: 'proceed'; by?: undefined }
  | { action: 'not-modified'; by: 'if-none-match' | 'if-modified-since'; coding?: string }
  | { action: 'precondition-failed'; by: 'if-match' | 'if-unmodified-since' | 'if-none-match' }
  | { action: 'precondition-required'; by: 'require-preconditions' };

/** A response described as data; adapters write it in their framework's idiom. */
export interface EarlyResponse {
  status: 304 | 412 | 428 | 500;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

const PROCEED: ServerDecision = Object.freeze({ action: 'proceed' });
const WRITES_REQUIRING_PRECONDITIONS: readonly string[] = ['PUT', 'PATCH', 'DELETE'];

/** §9.2.1: GET and HEAD are the methods whose 304 replaces a response body. */
export function isSafe(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** Resolves `requirePreconditions` once into the upper-case methods it names. */
export function requiredMethods(option: RequirePreconditions | undefined): ReadonlySet<string> {
  if (option === true) return new Set(WRITES_REQUIRING_PRECONDITIONS);
  if (!option) return new Set();
  return new Set(option.map((m) => m.toUpperCase()));
}

/** The last tag `parseCurrentTag` parsed (frozen: it is shared by every request that returns it). */
let lastTag: { value: string | undefined; parsed: EntityTag | undefined } = {
  value: undefined,
  parsed: undefined,
};

/** Parses the validate result's ETag once; a malformed one is a programming error worth an actionable message. */
export function parseCurrentTag(validators: Validators | undefined): EntityTag | undefined {
  const etag = validators?.etag;
  if (etag === undefined) return undefined;
  // `validate` usually returns the same tag request after request: parse each distinct value once.
  if (etag === lastTag.value) return lastTag.parsed;
  const tag = parseEntityTag(etag);
  if (!tag) {
    throw new TypeError(
      `validate() returned etag ${JSON.stringify(etag)}, which is not an entity-tag; ` +
        'return a quoted value such as \'"v42"\' (etagFromVersion builds one)',
    );
  }
  lastTag = { value: etag, parsed: Object.freeze(tag) };
  return tag;
}

/** The range of an IMF-fixdate: years 0000 to 9999 (§5.6.7). */
const FIRST_HTTP_DATE = -62_167_219_200_000; // 0000-01-01T00:00:00Z
const LAST_HTTP_DATE = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/**
 * A Last-Modified from `validate` that no HTTP-date can carry (an invalid Date, NaN, a string from a database
 * driver) is a programming error: thrown here, inside the step that turns `validate` errors into a 500, rather
 * than later while the 200's head is written, where nothing would catch it.
 */
function checkLastModified(value: Date | number | undefined): void {
  if (value === undefined) return;
  const ms = typeof value === 'number' ? value : value instanceof Date ? value.getTime() : Number.NaN;
  if (ms >= FIRST_HTTP_DATE && ms <= LAST_HTTP_DATE) return;
  const shown =
    value instanceof Date
      ? Number.isFinite(ms)
        ? value.toISOString()
        : 'Invalid Date'
      : typeof value === 'string'
        ? JSON.stringify(value)
        : String(value);
  throw new TypeError(
    `validate() returned lastModified ${shown}, ` +
      'which is not a date an HTTP-date can carry; return a valid Date or milliseconds since the epoch ' +
      '(years 0000-9999; convert text columns with new Date(value))',
  );
}

/**
 * The ETag to send after a successful write, from `validate` asked again: undefined when the resource is gone,
 * has no tag, or the tag is malformed (the write happened; only its new ETag is unknown, and a header that
 * node or the Fetch API would refuse must not turn the write's answer into an error).
 */
export function tagAfterWrite(validators: Validators | undefined): string | undefined {
  if (!validators || validators.exists === false || validators.etag === undefined) return undefined;
  return parseEntityTag(validators.etag) === undefined ? undefined : validators.etag;
}

/**
 * Decides before the handler runs. `required` is the result of `requiredMethods`. Range is not evaluated here:
 * `conditional()` serves whole representations (use `serveFiles` for byte ranges).
 *
 * @example
 * const d = decide('GET', { 'if-none-match': '"v42"' }, { etag: '"v42"' }, new Set());
 * // { action: 'not-modified', by: 'if-none-match' }
 */
export function decide(
  method: string,
  headers: HeaderSource,
  validators: Validators | undefined,
  required: ReadonlySet<string>,
  now?: number,
): ServerDecision {
  const m = method === 'GET' || method === 'HEAD' ? method : method.toUpperCase();
  // RFC 6585 §3: the origin requires the request to be conditional.
  if (required.has(m) && !hasPrecondition(headers)) {
    return { action: 'precondition-required', by: 'require-preconditions' };
  }
  if (validators === undefined) return PROCEED;
  checkLastModified(validators.lastModified);
  const current = parseCurrentTag(validators);
  // Nothing to evaluate: the common unconditional request costs no parsing.
  if (!isConditional(headers)) return PROCEED;
  const normalized = normalizeConditionalHeaders(headers, current);
  const decision = evaluatePreconditions(
    { method: m, headers: normalized.headers },
    { etag: current, lastModified: validators.lastModified, exists: validators.exists, now },
  );
  switch (decision.action) {
    case 'not-modified':
      return normalized.coding && decision.by === 'if-none-match'
        ? { action: 'not-modified', by: decision.by, coding: normalized.coding }
        : decision;
    case 'precondition-failed':
      return decision;
    default:
      return PROCEED;
  }
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Decides after the handler ran, from the validators its response carries (a hashed ETag, its Last-Modified).
 * Only for a 200 to GET/HEAD, or for 2xx to other methods; `decide` already applied `requirePreconditions`.
 */
export function decideAfter(
  method: string,
  headers: HeaderSource,
  etag: string | undefined,
  lastModified: string | undefined,
): ServerDecision {
  if (etag === undefined && lastModified === undefined) return PROCEED;
  if (!isConditional(headers)) return PROCEED;
  const date = lastModified === undefined ? undefined : parseHttpDate(lastModified);
  if (etag !== undefined && parseEntityTag(etag) === undefined) return PROCEED; // not a validator at all
  return decide(method, headers, { etag, lastModified: date }, NONE);
}

/** Whether a header of the handler's 200 stays on the 304 that replaces it (§15.4.5; Set-Cookie: the handler ran). */
export function keptOnNotModified(name: string, hasEtag: boolean): boolean {
  return NOT_MODIFIED_HEADERS.has(name) || name === 'set-cookie' || (!hasEtag && name === 'last-modified');
}

/** Whether any of the four §13.1 conditional headers is present, `HeaderSource` read in one go. */
function isConditional(headers: HeaderSource): boolean {
  if (typeof headers.get === 'function') {
    return hasPrecondition(headers) || getHeader(headers, 'if-modified-since') !== undefined;
  }
  const h = headers as Record<string, string | string[] | undefined>;
  return (
    h['if-none-match'] !== undefined ||
    h['if-modified-since'] !== undefined ||
    h['if-match'] !== undefined ||
    h['if-unmodified-since'] !== undefined
  );
}

function hasPrecondition(headers: HeaderSource): boolean {
  return (
    getHeader(headers, 'if-match') !== undefined ||
    getHeader(headers, 'if-unmodified-since') !== undefined ||
    getHeader(headers, 'if-none-match') !== undefined
  );
}

/**
 * §15.4.5: a 304 carries the fields a 200 would have carried among Content-Location, Date, ETag, Vary,
 * Cache-Control and Expires; Date is added by the server. Last-Modified only guides a cache when no ETag is
 * sent. Nothing else: no body, no Content-Type, no Content-Length.
 */
export const NOT_MODIFIED_HEADERS: ReadonlySet<string> = new Set([
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
]);

/**
 * The 304 for validators known before the handler ran. `routeHeaders` are the route's fixed headers
 * (Cache-Control, Vary, …); only those §15.4.5 allows are kept.
 */
export function notModified(
  validators: Validators,
  routeHeaders: Readonly<Record<string, string>> | undefined,
  coding?: string,
): EarlyResponse {
  const headers: Record<string, string> = {};
  if (routeHeaders) {
    for (const name in routeHeaders) {
      const lower = name.toLowerCase();
      if (NOT_MODIFIED_HEADERS.has(lower)) headers[lower] = routeHeaders[name]!;
    }
  }
  if (validators.etag !== undefined) headers.etag = tagForEncoding(validators.etag, coding);
  else if (validators.lastModified !== undefined)
    headers['last-modified'] = formatHttpDate(validators.lastModified);
  return { status: 304, headers, body: undefined };
}

const FAILED_DETAIL: Record<'if-match' | 'if-unmodified-since' | 'if-none-match', string> = {
  'if-match': 'If-Match does not match the current entity-tag of the resource',
  'if-unmodified-since': 'the resource was modified after the If-Unmodified-Since date',
  'if-none-match': 'If-None-Match matched: the resource exists (or has that entity-tag)',
};

/** 412 (§15.5.13) with a problem+json body naming the precondition that failed, and the current ETag. */
export function preconditionFailed(
  by: 'if-match' | 'if-unmodified-since' | 'if-none-match',
  validators: Validators | undefined,
): EarlyResponse {
  const plan = problem(412, 'Precondition Failed', FAILED_DETAIL[by], {
    precondition: by,
    ...(validators?.etag !== undefined ? { etag: validators.etag } : {}),
  });
  const headers = { ...plan.headers };
  if (validators?.etag !== undefined && validators.exists !== false) headers.etag = validators.etag;
  return { status: 412, headers, body: plan.body.data };
}

/** 428 (RFC 6585 §3) saying which headers would make the request acceptable. */
export function preconditionRequired(method: string): EarlyResponse {
  const plan = problem(
    428,
    'Precondition Required',
    `${method.toUpperCase()} requires If-Match (or If-Unmodified-Since, or If-None-Match: * to create): ` +
      'GET the resource, then send its ETag in If-Match so a concurrent change is not lost',
    { precondition: 'required' },
  );
  return { status: 428, headers: plan.headers, body: plan.body.data };
}

/** 500 when `validate` throws: no precondition is applied and the handler does not run. */
export function validateFailed(): EarlyResponse {
  const plan = problem(500, 'Internal Server Error', 'validating the current representation failed');
  return { status: 500, headers: plan.headers, body: plan.body.data };
}

/** The early response for a decision other than `proceed`. */
export function earlyResponse(
  decision: Exclude<ServerDecision, { action: 'proceed' }>,
  method: string,
  validators: Validators | undefined,
  routeHeaders: Readonly<Record<string, string>> | undefined,
): EarlyResponse {
  switch (decision.action) {
    case 'not-modified':
      return notModified(validators ?? {}, routeHeaders, decision.coding);
    case 'precondition-failed':
      return preconditionFailed(decision.by, validators);
    case 'precondition-required':
      return preconditionRequired(method);
  }
}
