/**
 * Every finding the auditor can report: its severity, a title, the rule it rests on, and how to fix it on the
 * common stacks (`fixes.ts`). Severity, as in DESIGN.md: `error` breaks caches or clients, `warn` wastes
 * bandwidth or surprises, `info` is advice.
 */

export type Severity = 'error' | 'warn' | 'info';

export interface Rule {
  severity: Severity;
  /** One line, for SARIF `shortDescription` and the terminal report. */
  title: string;
  /** Where the rule comes from. */
  reference: string;
}

export const RULES = {
  // The URL itself.
  'fetch-failed': {
    severity: 'error',
    title: 'The URL could not be fetched, so nothing about its validators could be checked',
    reference: 'RFC 9112',
  },
  'status-not-ok': {
    severity: 'error',
    title: 'The URL does not answer 200, and preconditions apply only to 2xx responses',
    reference: 'RFC 9110 §13.2.1',
  },
  redirected: {
    severity: 'info',
    title: 'The URL redirects; the target was audited',
    reference: 'RFC 9110 §15.4',
  },
  'probe-failed': {
    severity: 'warn',
    title: 'A probe request failed, so some checks were not made',
    reference: 'RFC 9112',
  },
  'body-truncated': {
    severity: 'info',
    title: 'A body was longer than the read cap; content comparisons used its first bytes only',
    reference: 'RFC 9112 §6',
  },

  // Validators on the 200.
  'no-validator': {
    severity: 'warn',
    title: 'No ETag and no Last-Modified: every request downloads the whole body again',
    reference: 'RFC 9110 §8.8',
  },
  'etag-malformed': {
    severity: 'error',
    title: 'The ETag is not an entity-tag, so caches and clients cannot use it',
    reference: 'RFC 9110 §8.8.3',
  },
  'weak-etag-only': {
    severity: 'warn',
    title: 'Only a weak ETag: If-Match and If-Range compare strongly, so they can never match',
    reference: 'RFC 9110 §8.8.1, §13.1.1, §13.1.5',
  },
  'etag-unstable': {
    severity: 'warn',
    title: 'The same bytes came with different ETags, so conditional requests rarely match',
    reference: 'RFC 9110 §8.8.3',
  },
  'etag-reused': {
    severity: 'warn',
    title: 'Different bytes came with the same strong ETag',
    reference: 'RFC 9110 §8.8.1',
  },
  'last-modified-invalid': {
    severity: 'warn',
    title: 'Last-Modified is not an HTTP-date, so it is ignored',
    reference: 'RFC 9110 §5.6.7, §8.8.2',
  },
  'last-modified-future': {
    severity: 'error',
    title: 'Last-Modified is later than the response Date',
    reference: 'RFC 9110 §8.8.2.1',
  },
  'head-validators-differ': {
    severity: 'warn',
    title: 'HEAD and GET send different validators',
    reference: 'RFC 9110 §9.3.2',
  },
  'head-has-body': {
    severity: 'error',
    title: 'A HEAD response carried body bytes',
    reference: 'RFC 9110 §9.3.2, RFC 9112 §6.3',
  },

  // Conditional GET.
  'inm-ignored': {
    severity: 'warn',
    title: 'If-None-Match with the current ETag got the whole body instead of 304',
    reference: 'RFC 9110 §13.1.2',
  },
  'inm-false-304': {
    severity: 'error',
    title: 'If-None-Match with a tag that does not match got 304',
    reference: 'RFC 9110 §13.1.2',
  },
  'ims-overrides-inm': {
    severity: 'error',
    title: 'If-Modified-Since decided although If-None-Match was present and did not match',
    reference: 'RFC 9110 §13.2.2',
  },
  'inm-weak-comparison': {
    severity: 'warn',
    title: 'If-None-Match is compared strongly: the other form (W/) of the current tag got 200',
    reference: 'RFC 9110 §8.8.3.2, §13.1.2',
  },
  'inm-list-ignored': {
    severity: 'warn',
    title: 'If-None-Match with a list containing the current tag got 200',
    reference: 'RFC 9110 §13.1.2',
  },
  'inm-star-ignored': {
    severity: 'info',
    title: 'If-None-Match: * on a GET got 200 instead of 304',
    reference: 'RFC 9110 §13.1.2',
  },
  'ims-ignored': {
    severity: 'warn',
    title: 'If-Modified-Since equal to Last-Modified got the whole body instead of 304',
    reference: 'RFC 9110 §13.1.3',
  },
  'ims-false-304': {
    severity: 'error',
    title: 'If-Modified-Since earlier than Last-Modified got 304',
    reference: 'RFC 9110 §13.1.3',
  },
  'ims-invalid-date': {
    severity: 'warn',
    title: 'An If-Modified-Since that is not an HTTP-date was honoured',
    reference: 'RFC 9110 §13.1.3',
  },
  'if-match-ignored': {
    severity: 'warn',
    title: 'If-Match with a wrong tag on GET did not get 412',
    reference: 'RFC 9110 §13.1.1',
  },

  // The 304 itself.
  '304-missing-etag': {
    severity: 'error',
    title: 'A 304 came without the ETag the 200 carries',
    reference: 'RFC 9110 §15.4.5',
  },
  '304-etag-mismatch': {
    severity: 'error',
    title: 'A 304 carried a different ETag from the one that matched, so caches cannot use it',
    reference: 'RFC 9111 §4.3.4',
  },
  '304-has-body': {
    severity: 'error',
    title: 'A 304 carried body bytes on the wire',
    reference: 'RFC 9110 §15.4.5, RFC 9112 §6.3',
  },
  '304-missing-headers': {
    severity: 'warn',
    title: 'A 304 lacks fields the 200 carries (Cache-Control, Content-Location, Date, Expires, Vary)',
    reference: 'RFC 9110 §15.4.5',
  },
  '304-content-length': {
    severity: 'warn',
    title: "A 304's Content-Length differs from the length of the 200's body",
    reference: 'RFC 9110 §8.6',
  },

  // Content codings.
  'strong-etag-across-encodings': {
    severity: 'error',
    title: 'Compressed and identity responses share one strong ETag',
    reference: 'RFC 9110 §8.8.1, §8.8.3',
  },
  'vary-missing': {
    severity: 'error',
    title: 'The response depends on Accept-Encoding but does not say Vary: Accept-Encoding',
    reference: 'RFC 9110 §12.5.5',
  },
  'inm-ignored-encoded': {
    severity: 'warn',
    title: "If-None-Match with the compressed response's own ETag got the whole body",
    reference: 'RFC 9110 §13.1.2',
  },

  // Cache-Control advice.
  'cache-control-missing': {
    severity: 'info',
    title: 'No Cache-Control or Expires: caches guess a freshness lifetime from Last-Modified',
    reference: 'RFC 9111 §4.2.2',
  },
  'max-age-zero': {
    severity: 'info',
    title: 'max-age=0 without must-revalidate: no-cache says "always revalidate" exactly',
    reference: 'RFC 9111 §4.2.4, §5.2.2.4',
  },
  'immutable-missing': {
    severity: 'info',
    title: 'A fingerprinted asset URL that is revalidated instead of cached as immutable',
    reference: 'RFC 8246',
  },
  'private-missing': {
    severity: 'warn',
    title: 'A response that sets a cookie may be stored by shared caches and given to other users',
    reference: 'RFC 9111 §3, §5.2.2.7',
  },

  // Writes (--write-probe only).
  'write-if-match-ignored': {
    severity: 'error',
    title: 'A write with a stale If-Match was applied: concurrent writers lose updates',
    reference: 'RFC 9110 §13.1.1',
  },
  'write-inm-star-ignored': {
    severity: 'error',
    title: 'A create-only write (If-None-Match: *) replaced an existing resource',
    reference: 'RFC 9110 §13.1.2',
  },
  'write-if-match-rejected': {
    severity: 'error',
    title: 'A write with If-Match set to the current ETag got 412, so no client can ever write',
    reference: 'RFC 9110 §13.1.1',
  },
  'write-precondition-not-required': {
    severity: 'warn',
    title: 'Writes without any precondition are accepted',
    reference: 'RFC 6585 §3, RFC 9110 §13.1.1',
  },
  'write-no-etag': {
    severity: 'info',
    title: 'A successful write did not return the new ETag',
    reference: 'RFC 9110 §9.3.4',
  },
  'write-restore-failed': {
    severity: 'error',
    title: 'The write probe could not restore the resource it changed',
    reference: 'etagkit check --write-probe',
  },
} as const satisfies Record<string, Rule>;

export type FindingId = keyof typeof RULES;

export const FINDING_IDS = Object.keys(RULES) as FindingId[];

/** Severities from most to least serious. */
export const SEVERITIES: readonly Severity[] = ['error', 'warn', 'info'];

/** Whether `severity` is at least as serious as `threshold`. */
export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
}
