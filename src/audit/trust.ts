/**
 * How far a client — a monitor deciding how to detect change — can rely on a URL's validators, drawn from the
 * findings: a wrong answer seen once makes a validator unreliable.
 */
import type { Validators } from './probes.ts';
import type { Finding, Reliance, Trust } from './report.ts';
import type { FindingId } from './rules.ts';

/** Findings that show If-None-Match (or the tag itself) giving wrong answers. */
const ETAG_UNRELIABLE: ReadonlySet<FindingId> = new Set([
  'inm-false-304',
  'etag-unstable',
  'etag-reused',
  '304-has-body',
  '304-etag-mismatch',
  'strong-etag-across-encodings',
]);

/** Findings that show If-Modified-Since (or the date itself) giving wrong answers. */
const DATE_UNRELIABLE: ReadonlySet<FindingId> = new Set([
  'ims-false-304',
  'ims-overrides-inm',
  'last-modified-future',
  '304-has-body',
]);

export function trustOf(findings: readonly Finding[], validators: Validators | undefined): Trust {
  const ids = new Set(findings.map((f) => f.id));
  const reliance = (present: boolean, unreliable: ReadonlySet<FindingId>, ignored: FindingId): Reliance =>
    !present
      ? 'absent'
      : [...unreliable].some((id) => ids.has(id))
        ? 'unreliable'
        : ids.has(ignored)
          ? 'ignored'
          : 'reliable';
  return {
    etag: reliance(validators?.etag !== undefined, ETAG_UNRELIABLE, 'inm-ignored'),
    lastModified: reliance(validators?.lastModified !== undefined, DATE_UNRELIABLE, 'ims-ignored'),
  };
}
