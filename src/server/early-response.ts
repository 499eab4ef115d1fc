/**
 * The answers `conditional()` gives instead of running the handler — 304, 412, 428, 500 — described as data
 * (status, headers, body), so that every adapter only has to write them in its framework's idiom.
 */
import { formatHttpDate } from '../core/index.ts';
import type { ServerDecision, Validators } from './decide.ts';
import { tagForEncoding } from './encoding.ts';
import { problem } from './problem.ts';

/** A response described as data; adapters write it in their framework's idiom. */
export interface EarlyResponse {
  status: 304 | 412 | 428 | 500;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

/** Whether a header of the handler's 200 stays on the 304 that replaces it (§15.4.5; Set-Cookie: the handler ran). */
export function keptOnNotModified(name: string, hasEtag: boolean): boolean {
  return NOT_MODIFIED_HEADERS.has(name) || name === 'set-cookie' || (!hasEtag && name === 'last-modified');
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
export function preconditionRequired(
  method: string,
  by: 'require-preconditions' | 'if-unmodified-since' = 'require-preconditions',
): EarlyResponse {
  const m = method.toUpperCase();
  const detail =
    by === 'if-unmodified-since'
      ? `If-Unmodified-Since cannot guard this ${m}: HTTP dates have one-second resolution, so a change made ` +
        'in the same second as your read would be overwritten. GET the resource, then send its ETag in If-Match ' +
        '(or If-None-Match: * to create)'
      : `${m} requires If-Match (or If-None-Match: * to create): GET the resource, then send its ETag in ` +
        'If-Match so a concurrent change is not lost';
  // `precondition` names what to send: any precondition, or (the date being refused) If-Match, as serve does.
  const precondition = by === 'if-unmodified-since' ? 'if-match' : 'required';
  const plan = problem(428, 'Precondition Required', detail, { precondition });
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
      return preconditionRequired(method, decision.by);
  }
}
