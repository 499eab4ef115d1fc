/**
 * RFC 9111 caching policy as pure functions over header lines and an injected clock. No I/O: `fetch.ts` asks
 * these questions and acts on the answers, so every rule here is testable without a socket.
 */
import { createHash } from 'node:crypto';
import {
  type CacheDirectives,
  deltaSeconds,
  formatHttpDate,
  getHeader,
  type HeaderSource,
  parseCacheControl,
  parseEntityTag,
  parseHttpDate,
  weakCompare,
} from '../core/index.ts';

/** Header lines with lower-case names, in order (the shape stored in StoredResponse.headers). */
export type HeaderLines = readonly (readonly [string, string])[];

export interface PolicyOptions {
  /** Shared cache rules (s-maxage, private, Authorization, proxy-revalidate); false for a private cache. */
  shared: boolean;
}

/** The parts of a stored (or just received) response the policy reads. */
export interface ResponseMeta {
  status: number;
  headers: HeaderLines;
  /** When the request was sent and the response received (ms since epoch), for Age (§4.2.3). */
  requestTime: number;
  responseTime: number;
}

/** Upper bound on heuristic freshness (§4.2.2 leaves it to the cache): one day. */
export const HEURISTIC_MAX_SECONDS = 86400;

/** Status codes heuristically cacheable by default (RFC 9110 §15.1). */
const HEURISTIC_STATUSES = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Status codes defined by RFC 9110, which this cache "understands" for must-understand (RFC 9111 §5.2.2.3). */
const UNDERSTOOD_STATUSES = new Set([
  200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 406, 410, 411, 413, 414, 415, 421, 422,
  426, 500, 501, 502, 503, 504, 505,
]);

/** Fields a cache never stores (§3.1): hop-by-hop fields and proxy credentials. */
const UNSTORED_FIELDS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Fields a 304 does not update (§3.2, §4.3.4): the stored body decides them. Content-Length, and the metadata
 * that describes the stored bytes — coding, range, and their digests (RFC 9530 §2, §3: a 304's Content-Digest
 * is that of its own empty content; the legacy Digest and Content-MD5 likewise) — plus the validator the 304 was
 * matched on. Content-Type is updated: §3.2 lets only a cache that stores a parsed form keep it, and the bytes
 * are stored as they came (http-cache-tests' required `304-etag-update-response-Content-Type`).
 */
const NOT_UPDATED_BY_304 = new Set([
  'content-length',
  'content-encoding',
  'content-range',
  'content-digest',
  'repr-digest',
  'digest',
  'content-md5',
  'etag',
]);

/** Every hit re-reads the same stored field values: parsed forms of the most recent few hundred are kept. */
const MEMO_LIMIT = 512;
const directivesMemo = new Map<string, Readonly<CacheDirectives>>();
const datesMemo = new Map<string, number | undefined>();
const NO_DIRECTIVES: Readonly<CacheDirectives> = Object.freeze(Object.create(null));

function memo<T>(cache: Map<string, T>, key: string, compute: () => T): T {
  if (cache.has(key)) return cache.get(key) as T;
  const value = compute();
  if (cache.size >= MEMO_LIMIT) cache.clear();
  cache.set(key, value);
  return value;
}

/** Cache-Control directives of a field value (parsed by core, §5.2), frozen and shared. */
function directivesOf(value: string | undefined): Readonly<CacheDirectives> {
  if (value === undefined) return NO_DIRECTIVES;
  return memo(directivesMemo, value, () => Object.freeze(parseCacheControl(value)));
}

/**
 * An HTTP-date in ms, or undefined when invalid (RFC 9110 §5.6.7). rfc850 dates (with dashes) resolve their
 * two-digit year against `now`, so only the other formats are memoised.
 */
function dateMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (value.includes('-')) return parseHttpDate(value, now)?.getTime();
  return memo(datesMemo, value, () => parseHttpDate(value)?.getTime());
}

/** All values of `name` in `lines`, joined as one list (RFC 9110 §5.3). */
export function fieldValue(lines: HeaderLines, name: string): string | undefined {
  let out: string | undefined;
  for (const [n, v] of lines) if (n === name) out = out === undefined ? v : `${out}, ${v}`;
  return out;
}

/** Header lines from a Fetch `Headers` (Set-Cookie kept as separate lines). */
export function headerLines(headers: Headers): [string, string][] {
  return [...headers];
}

/**
 * Request Cache-Control (§5.2.1); `Pragma: no-cache` counts as `no-cache` only when Cache-Control is absent
 * (§5.4).
 */
export function requestDirectives(headers: HeaderSource): Readonly<CacheDirectives> {
  const cc = getHeader(headers, 'cache-control');
  const directives = directivesOf(cc);
  if (cc === undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(getHeader(headers, 'pragma') ?? ''))
    return Object.assign(Object.create(null), directives, { 'no-cache': true });
  return directives;
}

/** Why a response may not be stored (§3). */
export type StorableDecision =
  | { storable: true }
  | {
      storable: false;
      reason:
        | 'method'
        | 'status'
        | 'no-store'
        | 'private'
        | 'authorization'
        | 'must-understand'
        | 'vary-star'
        | 'no-freshness-information';
    };

/**
 * Whether a response to `method` may be stored (RFC 9111 §3, §3.5, §5.2). Only GET responses are stored.
 *
 * @example
 * isStorable('GET', new Headers(), 200, [['cache-control', 'max-age=60']], { shared: false });
 * // → { storable: true }
 */
export function isStorable(
  method: string,
  requestHeaders: HeaderSource,
  status: number,
  headers: HeaderLines,
  options: PolicyOptions,
): StorableDecision {
  if (method !== 'GET') return { storable: false, reason: 'method' };
  // §3: a final status (RFC 9110 §15: 200-599); partial content and 304 are not stored as such (§3.3, §4.3.4).
  if (status < 200 || status > 599 || status === 206 || status === 304)
    return { storable: false, reason: 'status' };
  const res = directivesOf(fieldValue(headers, 'cache-control'));
  const req = requestDirectives(requestHeaders);
  if ('must-understand' in res) {
    // §5.2.2.3: must-understand overrides no-store, but only for status codes the cache understands.
    if (!UNDERSTOOD_STATUSES.has(status)) return { storable: false, reason: 'must-understand' };
  } else if ('no-store' in res) return { storable: false, reason: 'no-store' };
  if ('no-store' in req) return { storable: false, reason: 'no-store' };
  if (options.shared && 'private' in res) return { storable: false, reason: 'private' };
  // §3.5: a shared cache stores an authenticated response only when the response says it may.
  if (
    options.shared &&
    getHeader(requestHeaders, 'authorization') !== undefined &&
    !('must-revalidate' in res || 'public' in res || 's-maxage' in res)
  )
    return { storable: false, reason: 'authorization' };
  if (varyFieldNames(headers) === '*') return { storable: false, reason: 'vary-star' };
  const explicit =
    'public' in res ||
    (!options.shared && 'private' in res) ||
    'max-age' in res ||
    (options.shared && 's-maxage' in res) ||
    fieldValue(headers, 'expires') !== undefined;
  if (!explicit && !HEURISTIC_STATUSES.has(status))
    return { storable: false, reason: 'no-freshness-information' };
  return { storable: true };
}

/**
 * Removes the fields a cache must not store (§3.1): hop-by-hop ones and those named by Connection. The lines kept
 * are the same (immutable) pairs.
 */
export function storableHeaders(lines: HeaderLines): [string, string][] {
  const connection = fieldValue(lines, 'connection');
  const named =
    connection === undefined
      ? undefined
      : new Set(
          connection
            .toLowerCase()
            .split(',')
            .map((f) => f.trim()),
        );
  const out: [string, string][] = [];
  for (const line of lines)
    if (!UNSTORED_FIELDS.has(line[0]) && !named?.has(line[0])) out.push(line as [string, string]);
  return out;
}

/** Where a freshness lifetime came from (§4.2.1). */
export type FreshnessSource = 's-maxage' | 'max-age' | 'expires' | 'heuristic' | 'none';

/**
 * Freshness lifetime in seconds (RFC 9111 §4.2.1), first match wins: s-maxage (shared caches), max-age,
 * Expires − Date, then the heuristic of §4.2.2 (10% of Date − Last-Modified, capped) for heuristically
 * cacheable statuses or an explicit `public`. An invalid Expires means "already expired" (§5.3); an invalid
 * max-age also yields 0 rather than falling back to a longer lifetime.
 */
export function freshnessLifetime(
  status: number,
  headers: HeaderLines,
  responseTime: number,
  options: PolicyOptions,
): { seconds: number; source: FreshnessSource } {
  const cc = directivesOf(fieldValue(headers, 'cache-control'));
  if (options.shared && 's-maxage' in cc)
    return { seconds: deltaSeconds(cc, 's-maxage') ?? 0, source: 's-maxage' };
  if ('max-age' in cc) return { seconds: deltaSeconds(cc, 'max-age') ?? 0, source: 'max-age' };
  const dateValue = dateOf(headers, responseTime);
  const expires = fieldValue(headers, 'expires');
  if (expires !== undefined) {
    const at = dateMs(expires, responseTime);
    const seconds = at === undefined ? 0 : Math.max(0, (at - dateValue) / 1000);
    return { seconds, source: 'expires' };
  }
  const lastModified = dateMs(fieldValue(headers, 'last-modified'), responseTime);
  if (lastModified !== undefined && (HEURISTIC_STATUSES.has(status) || 'public' in cc)) {
    const seconds = Math.max(0, (dateValue - lastModified) / 10000);
    return { seconds: Math.min(seconds, HEURISTIC_MAX_SECONDS), source: 'heuristic' };
  }
  return { seconds: 0, source: 'none' };
}

/** The Date header's value in ms, or the receipt time when it is absent or invalid (§4.2.3, §6.6.1 of 9110). */
function dateOf(headers: HeaderLines, responseTime: number): number {
  return dateMs(fieldValue(headers, 'date'), responseTime) ?? responseTime;
}

/**
 * The Age field's value in seconds (§5.1): the first member of a list is used, and anything that is not a
 * non-negative integer is ignored (treated as 0).
 */
export function ageValue(headers: HeaderLines): number {
  const raw = fieldValue(headers, 'age');
  if (raw === undefined) return 0;
  const first = raw.split(',')[0]!.trim();
  return /^\d+$/.test(first) ? Math.min(Number(first), 2147483648) : 0;
}

/**
 * current_age in seconds, exactly as RFC 9111 §4.2.3:
 *
 *   apparent_age = max(0, response_time - date_value)
 *   corrected_age_value = age_value + (response_time - request_time)
 *   corrected_initial_age = max(apparent_age, corrected_age_value)
 *   current_age = corrected_initial_age + (now - response_time)
 */
export function currentAge(response: ResponseMeta, now: number): number {
  return ageAt(correctedInitialAge(response), response.responseTime, now);
}

/** corrected_initial_age of §4.2.3: what a response's age was when it was received, fixed once it is stored. */
function correctedInitialAge(response: ResponseMeta): number {
  const apparentAge =
    Math.max(0, response.responseTime - dateOf(response.headers, response.responseTime)) / 1000;
  const responseDelay = (response.responseTime - response.requestTime) / 1000;
  const correctedAgeValue = ageValue(response.headers) + responseDelay;
  return Math.max(apparentAge, correctedAgeValue);
}

/** current_age = corrected_initial_age + resident_time (§4.2.3). */
function ageAt(initialAge: number, responseTime: number, now: number): number {
  const residentTime = Math.max(0, now - responseTime) / 1000;
  return initialAge + residentTime;
}

/**
 * What the reuse rules read of a stored response that does not change while it stays stored: its directives,
 * freshness lifetime, corrected initial age (§4.2.3) and Vary field names (§4.1). A cache that keeps its entries
 * as unchanging objects works these out once per entry and hands them to `evaluateReuse` and `matchesVary`,
 * instead of scanning the header lines on every request.
 */
export interface StoredFacts {
  readonly directives: Readonly<CacheDirectives>;
  readonly lifetime: number;
  readonly initialAge: number;
  readonly varyNames: readonly string[] | '*';
}

export function storedFacts(stored: ResponseMeta, options: PolicyOptions): StoredFacts {
  return {
    directives: directivesOf(fieldValue(stored.headers, 'cache-control')),
    lifetime: freshnessLifetime(stored.status, stored.headers, stored.responseTime, options).seconds,
    initialAge: correctedInitialAge(stored),
    varyNames: varyFieldNames(stored.headers),
  };
}

/** Why a stored response cannot be used without contacting the origin. */
export type RevalidateReason =
  | 'stale'
  | 'no-cache'
  | 'request-no-cache'
  | 'request-max-age'
  | 'request-min-fresh'
  | 'must-revalidate';

/** What to do with a stored response that matches the request (§4, §4.2, RFC 5861). */
export type ReuseDecision = { age: number; ttl: number; staleIfError: boolean } & (
  | { action: 'fresh' }
  /** Stale, but the request's max-stale allows it (§5.2.1.2). */
  | { action: 'stale-allowed' }
  /** Stale within stale-while-revalidate: serve it and revalidate in the background (RFC 5861 §3). */
  | { action: 'stale-while-revalidate' }
  | { action: 'revalidate'; reason: RevalidateReason }
);

/**
 * Decides whether a stored response may satisfy a request now (RFC 9111 §4.2, §5.2; RFC 5861; RFC 8246).
 * `ttl` is lifetime − age in seconds (negative when stale); `staleIfError` says whether, should the origin fail,
 * the stored response may still be served (RFC 5861 §4). `facts`, when given, are `storedFacts(stored, options)`.
 *
 * @example
 * const stored = { status: 200, headers: [['cache-control', 'max-age=60']], requestTime: 0, responseTime: 0 };
 * evaluateReuse(new Headers(), stored, 30_000, { shared: false }).action; // → 'fresh'
 */
export function evaluateReuse(
  requestHeaders: HeaderSource,
  stored: ResponseMeta,
  now: number,
  options: PolicyOptions,
  facts?: StoredFacts,
): ReuseDecision {
  const res = facts?.directives ?? directivesOf(fieldValue(stored.headers, 'cache-control'));
  const req = requestDirectives(requestHeaders);
  const lifetime =
    facts?.lifetime ?? freshnessLifetime(stored.status, stored.headers, stored.responseTime, options).seconds;
  const age = ageAt(facts?.initialAge ?? correctedInitialAge(stored), stored.responseTime, now);
  const ttl = lifetime - age;
  const staleness = -ttl;
  // §4.2.4: must-revalidate (and for shared caches proxy-revalidate, s-maxage) forbid serving stale at all.
  const noStale =
    'must-revalidate' in res || (options.shared && ('proxy-revalidate' in res || 's-maxage' in res));
  const sieWindow = Math.max(
    deltaSeconds(res, 'stale-if-error') ?? -1,
    deltaSeconds(req, 'stale-if-error') ?? -1,
  );
  const staleIfError = !noStale && !('no-cache' in res) && (ttl > 0 || staleness <= sieWindow);
  const base = { age, ttl, staleIfError };
  const revalidate = (reason: RevalidateReason): ReuseDecision => ({ ...base, action: 'revalidate', reason });

  if ('no-cache' in res) return revalidate('no-cache'); // §5.2.2.4 (qualified forms treated as unqualified)
  if ('no-cache' in req) return revalidate('request-no-cache'); // §5.2.1.4
  const immutableAndFresh = 'immutable' in res && ttl > 0; // RFC 8246 §2: no revalidation while fresh
  const reqMaxAge = deltaSeconds(req, 'max-age');
  if (reqMaxAge !== undefined && age > reqMaxAge && !immutableAndFresh) return revalidate('request-max-age');
  const minFresh = deltaSeconds(req, 'min-fresh');
  if (minFresh !== undefined && ttl < minFresh) return revalidate('request-min-fresh');
  if (ttl > 0) return { ...base, action: 'fresh' };
  if (noStale) return revalidate('must-revalidate');
  if ('max-stale' in req) {
    const maxStale = req['max-stale'] === true ? Number.POSITIVE_INFINITY : deltaSeconds(req, 'max-stale');
    if (maxStale !== undefined && staleness <= maxStale) return { ...base, action: 'stale-allowed' };
  }
  const swr = deltaSeconds(res, 'stale-while-revalidate');
  if (swr !== undefined && staleness <= swr) return { ...base, action: 'stale-while-revalidate' };
  return revalidate('stale');
}

/**
 * Validators for a conditional request that revalidates `stored` (§4.3.1): If-None-Match with its entity-tag and
 * If-Modified-Since with its Last-Modified. Returns undefined when the stored response has neither.
 */
export function revalidationHeaders(
  stored: Pick<ResponseMeta, 'headers'>,
): { 'if-none-match'?: string; 'if-modified-since'?: string } | undefined {
  const out: { 'if-none-match'?: string; 'if-modified-since'?: string } = {};
  const etag = fieldValue(stored.headers, 'etag');
  if (etag !== undefined && parseEntityTag(etag)) out['if-none-match'] = etag.trim();
  const lastModified = parseHttpDate(fieldValue(stored.headers, 'last-modified'));
  if (lastModified) out['if-modified-since'] = formatHttpDate(lastModified);
  return out['if-none-match'] === undefined && out['if-modified-since'] === undefined ? undefined : out;
}

/**
 * Whether a 304 identifies `stored` for update (§4.3.4): a strong ETag must match strongly, a weak one weakly;
 * without an ETag a Last-Modified must be equal; a 304 without validators updates the response it validated.
 */
export function notModifiedMatches(stored: HeaderLines, notModified: HeaderLines): boolean {
  const newTag = parseEntityTag(fieldValue(notModified, 'etag'));
  if (newTag) {
    const oldTag = parseEntityTag(fieldValue(stored, 'etag'));
    if (!oldTag) return false;
    return newTag.weak ? weakCompare(oldTag, newTag) : !oldTag.weak && oldTag.tag === newTag.tag;
  }
  const newLm = fieldValue(notModified, 'last-modified');
  if (newLm !== undefined)
    return parseHttpDate(newLm)?.getTime() === parseHttpDate(fieldValue(stored, 'last-modified'))?.getTime();
  return true;
}

/**
 * Whether a 304 that answered a request *without* validators identifies `stored` (§4.3.4): by its validators as
 * in notModifiedMatches; without any, only a stored response that has none either (the third rule of §4.3.4).
 */
export function unconditionalNotModifiedMatches(stored: HeaderLines, notModified: HeaderLines): boolean {
  const hasValidator =
    fieldValue(notModified, 'etag') !== undefined || fieldValue(notModified, 'last-modified') !== undefined;
  if (!hasValidator) return revalidationHeaders({ headers: stored }) === undefined;
  return notModifiedMatches(stored, notModified);
}

/**
 * Freshens stored header lines with those of a 304 (§3.2, §4.3.4): every field in the 304 replaces the stored
 * field of that name, except fields never stored (§3.1) and those describing the stored body (Content-Length
 * and friends).
 */
export function mergeNotModified(stored: HeaderLines, notModified: HeaderLines): [string, string][] {
  const updates = storableHeaders(notModified).filter(([n]) => !NOT_UPDATED_BY_304.has(n));
  // A 304 carries a handful of fields: a scan of them beats building a Set on every revalidation.
  const replaced = (name: string) => updates.some((update) => update[0] === name);
  const out: [string, string][] = [];
  for (const line of stored) if (!replaced(line[0])) out.push(line as [string, string]);
  for (const line of updates) out.push(line);
  return out;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * URIs a cache must invalidate after a request with an unsafe method got a non-error response (§4.4): the target
 * URI, and Location / Content-Location when they share its origin.
 */
export function invalidationTargets(
  method: string,
  url: string,
  status: number,
  headers: HeaderLines,
): string[] {
  if (SAFE_METHODS.has(method) || status < 200 || status >= 400) return [];
  const target = new URL(url);
  const out = [stripFragment(target)];
  for (const name of ['location', 'content-location']) {
    const value = fieldValue(headers, name);
    if (value === undefined) continue;
    try {
      const u = new URL(value.trim(), target);
      if (u.origin === target.origin) out.push(stripFragment(u));
    } catch {
      // an unparsable URI names nothing to invalidate
    }
  }
  return [...new Set(out)];
}

function stripFragment(u: URL): string {
  const copy = new URL(u);
  copy.hash = '';
  return copy.href;
}

/** The field names a response varies on, lower-cased, sorted and deduplicated; `'*'` when any member is `*` (§4.1). */
export function varyFieldNames(headers: HeaderLines): string[] | '*' {
  const raw = fieldValue(headers, 'vary');
  if (raw === undefined) return [];
  const names = raw
    .split(',')
    .map((f) => f.trim().toLowerCase())
    .filter(Boolean);
  if (names.includes('*')) return '*';
  return [...new Set(names)].sort();
}

/** Request fields whose values are case-insensitive tokens (RFC 9110 §12.5: media types, charsets, codings, language tags). */
const CASE_INSENSITIVE_FIELDS = new Set(['accept', 'accept-charset', 'accept-encoding', 'accept-language']);

/**
 * Normalises a request field value for Vary matching (§4.1 allows normalising by the field's syntax): trims, folds
 * whitespace and list separators, and lower-cases the values of the content-negotiation fields. One pass over
 * the value: request headers are attacker-controlled, and a regex such as `[ \t]*,[ \t]*` rescans every run
 * of whitespace from each of its positions (quadratic).
 */
export function normalizeFieldValue(value: string, name = ''): string {
  const folded = foldListWhitespace(value.trim());
  return CASE_INSENSITIVE_FIELDS.has(name) ? folded.toLowerCase() : folded;
}

/** `a ,\t b  c` → `a, b c`: OWS around commas becomes `, `, other runs of SP/HTAB one SP (RFC 9110 §5.6.1, §5.6.3). */
function foldListWhitespace(value: string): string {
  let out = '';
  let from = 0; // start of the text not yet copied to `out`
  let i = 0;
  while (i < value.length) {
    const c = value.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x2c) {
      i++;
      continue;
    }
    // A run of SP / HTAB / comma: copy what precedes it, then its folded form.
    out += value.slice(from, i);
    // Each comma becomes `, ` and the whitespace around it goes; a run of whitespace alone becomes one SP.
    let fold = '';
    for (; i < value.length; i++) {
      const d = value.charCodeAt(i);
      if (d === 0x2c) fold += ', ';
      else if (d !== 0x20 && d !== 0x09) break;
    }
    out += fold === '' ? ' ' : fold;
    from = i;
  }
  return from === 0 ? value : out + value.slice(from);
}

/**
 * Request fields that carry credentials (RFC 9110 §11.6.2, RFC 6265 §5.4). A cache keeps a digest of them, never
 * their values: a stored response must not become a store of passwords and session tokens.
 */
const CREDENTIAL_FIELDS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** A SHA-256 digest (hex, 128 bits kept) naming a set of credentials without revealing them. */
export function credentialsDigest(values: readonly string[]): string {
  const hash = createHash('sha256').update('etagkit credentials\n');
  for (const value of values) hash.update(value).update('\n');
  return hash.digest('hex').slice(0, 32);
}

/**
 * The value a request field is matched on for Vary (§4.1): normalised, and for credential fields their digest,
 * which is what the store keeps.
 */
function varyValue(name: string, value: string): string {
  const normalized = normalizeFieldValue(value, name);
  return CREDENTIAL_FIELDS.has(name) ? `sha256:${credentialsDigest([normalized])}` : normalized;
}

/**
 * The partition of a private cache that a request belongs to: '' without credentials, else a digest of its
 * Authorization and Cookie. A private cache acting for many users (a server calling an API on their behalf) keys
 * entries by it, so that one user's response never answers another's request.
 */
export function credentialsPartition(requestHeaders: HeaderSource): string {
  const authorization = getHeader(requestHeaders, 'authorization');
  const cookie = getHeader(requestHeaders, 'cookie');
  if (authorization === undefined && cookie === undefined) return '';
  return credentialsDigest([`authorization:${authorization ?? ''}`, `cookie:${cookie ?? ''}`]);
}

/**
 * The secondary key of a request for a response that varies on `names` (§4.1): the normalised request values
 * (a digest for credential fields), and a stable string naming the variant ('' when the response does not vary).
 */
export function varyKey(
  names: readonly string[],
  requestHeaders: HeaderSource,
): { variant: string; varyHeaders: Record<string, string> } {
  const varyHeaders: Record<string, string> = {};
  const parts: string[] = [];
  for (const name of names) {
    const value = getHeader(requestHeaders, name);
    if (value === undefined) parts.push(name);
    else {
      varyHeaders[name] = varyValue(name, value);
      parts.push(`${name}=${encodeURIComponent(varyHeaders[name])}`);
    }
  }
  return { variant: parts.join('&'), varyHeaders };
}

/**
 * Whether a stored response's Vary-selected request headers match this request (§4.1). `names` are its Vary
 * field names when already known (`storedFacts`).
 */
export function matchesVary(
  stored: { headers: HeaderLines; varyHeaders: Record<string, string> },
  requestHeaders: HeaderSource,
  names: readonly string[] | '*' = varyFieldNames(stored.headers),
): boolean {
  if (names === '*') return false;
  for (const name of names) {
    const value = getHeader(requestHeaders, name);
    const storedValue = Object.hasOwn(stored.varyHeaders, name) ? stored.varyHeaders[name] : undefined;
    if ((value === undefined ? undefined : varyValue(name, value)) !== storedValue) return false;
  }
  return true;
}
