/**
 * The framework-free heart of `conditional()`: given a request's method and headers and what `validate` said
 * about the current representation, decide whether to run the handler or answer 304 / 412 / 428 at once.
 * early-response.ts describes that answer so each adapter only has to write it.
 */
import {
  type EntityTag,
  evaluatePreconditions,
  getHeader,
  type HeaderSource,
  parseEntityTag,
  parseHttpDate,
} from '../core/index.ts';
import { normalizeConditionalHeaders } from './encoding.ts';

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
 * Methods that must carry If-Match (or If-None-Match), answered 428 otherwise (RFC 6585 §3); If-Unmodified-Since
 * alone does not count (see `missingPrecondition`). `true` means PUT, PATCH and DELETE.
 */
export type RequirePreconditions = boolean | readonly string[];

/** What to do with a request before its handler runs, and which header decided it. */
export type ServerDecision =
  | { action: 'proceed'; by?: undefined }
  | { action: 'not-modified'; by: 'if-none-match' | 'if-modified-since'; coding?: string }
  | { action: 'precondition-failed'; by: 'if-match' | 'if-unmodified-since' | 'if-none-match' }
  /** RFC 6585 §3: no precondition at all, or only a date that cannot prevent a lost update. */
  | { action: 'precondition-required'; by: 'require-preconditions' | 'if-unmodified-since' };

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
  if (required.has(m)) {
    const missing = missingPrecondition(headers);
    if (missing) return missing;
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

/** Whether any of the four §13.1 conditional headers is present, `HeaderSource` read in one go. */
/** Whether the request carries any of the four preconditions `decide` evaluates. */
export function isConditional(headers: HeaderSource): boolean {
  if (typeof headers.get === 'function') {
    return (
      getHeader(headers, 'if-none-match') !== undefined ||
      getHeader(headers, 'if-modified-since') !== undefined ||
      getHeader(headers, 'if-match') !== undefined ||
      getHeader(headers, 'if-unmodified-since') !== undefined
    );
  }
  const h = headers as Record<string, string | string[] | undefined>;
  return (
    h['if-none-match'] !== undefined ||
    h['if-modified-since'] !== undefined ||
    h['if-match'] !== undefined ||
    h['if-unmodified-since'] !== undefined
  );
}

const REQUIRED: ServerDecision = Object.freeze({
  action: 'precondition-required',
  by: 'require-preconditions',
});
const DATE_ONLY: ServerDecision = Object.freeze({
  action: 'precondition-required',
  by: 'if-unmodified-since',
});

/**
 * RFC 6585 §3: 428 says the origin requires the request to be conditional, "to avoid the 'lost update'
 * problem". If-Match (strong comparison, §13.1.1) detects every change; If-None-Match: * makes a write
 * create-only (§13.1.2). If-Unmodified-Since alone is refused with its own 428: it compares Last-Modified at
 * the one-second resolution of an HTTP-date (§13.1.4, §5.6.7), so a change made in the same second as the
 * client's read leaves the condition true and is overwritten — a Last-Modified that may change within its
 * second is only a weak validator (§8.8.2.2), and §13.1.4 itself names it the guard for resources "that do not
 * supply entity tags".
 *
 * Accepting the date once Last-Modified is a second older than the server's clock is not enough: the server
 * cannot know when the client read. Modified at 10:00:00.1; B reads (Last-Modified 10:00:00); A writes with
 * If-Match at 10:00:00.5; B writes at 10:00:02 with If-Unmodified-Since 10:00:00. The current Last-Modified
 * is 1.5 s old yet still in second 10:00:00, so §13.1.4 is true and A's change is lost. The same holds for
 * changes made by any other path (another route, a job, a transaction whose updated_at was taken before it
 * committed). `etagkit serve` accepts a date at least a second after the file's modification time, because it
 * stamps its Date before looking at the file; conditional() cannot rely on that: node stamps Date after the
 * handler ran, other runtimes stamp it themselves, and `lastModified` often comes from another machine's clock
 * (the database's). Without requirePreconditions, If-Unmodified-Since is evaluated as §13.1.4 says.
 */
function missingPrecondition(headers: HeaderSource): ServerDecision | undefined {
  if (getHeader(headers, 'if-match') !== undefined || getHeader(headers, 'if-none-match') !== undefined)
    return undefined;
  return getHeader(headers, 'if-unmodified-since') === undefined ? REQUIRED : DATE_ONLY;
}
