/**
 * The detection cascade for a full response, and what it teaches about the URL's validators. Pure: the previous
 * state and what just arrived in, a decision out.
 *
 *   304 (decided in check.ts) → same validator → same raw digest → same normalised digest → changed
 *
 * The body is always digested when it arrives, so a validator never decides alone: "same ETag" is reported as
 * the deciding stage only when the bytes agree. Disagreements are findings about the server:
 * - same bytes, new ETag: the ETag is unstable (not a change); If-None-Match is no longer worth sending;
 * - new content, same validator: the validator lies (a strong ETag names one exact byte sequence, RFC 9110
 *   §8.8.3; a Last-Modified must move when the representation does, §8.8.2.1). The URL's 304s cannot be
 *   trusted any more, so it is polled unconditionally from now on.
 */
import type { Extracted } from './extract.ts';
import type { CheckReason, CheckStatus, DetectedBy, Trust, WatchState } from './types.ts';

/** A full (2xx) response as the cascade sees it. */
export interface Observation {
  etag: string | undefined;
  lastModified: string | undefined;
  rawDigest: string;
  extracted: Extracted;
  /** extractionKey() of the watch's current options. */
  extraction: string;
}

export interface Detection {
  status: Exclude<CheckStatus, 'error'>;
  detectedBy: DetectedBy | null;
  reason: CheckReason | null;
  etagUnstable: boolean;
  trust: Trust;
  honest: number;
}

export interface DetectContext {
  /** This response is the unconditional re-fetch that verifies a 304 (a truth fetch). */
  after304: boolean;
  /** A 304 came for a URL with no stored snapshot; this re-fetch starts it afresh. */
  refetchAfter304: boolean;
  /** Confirmed 304s after which the URL's validators are trusted. */
  proveAfter: number;
}

export function detect(previous: WatchState, seen: Observation, context: DetectContext): Detection {
  const base = { etagUnstable: previous.etagUnstable, trust: previous.trust, honest: previous.honest };
  if (previous.digest === undefined || context.refetchAfter304)
    return {
      ...base,
      status: 'new',
      detectedBy: null,
      reason: context.refetchAfter304 ? 'refetch-after-304' : null,
    };

  const sameEtag = seen.etag !== undefined && seen.etag === previous.etag;
  const sameDate =
    seen.etag === undefined &&
    previous.etag === undefined &&
    seen.lastModified !== undefined &&
    seen.lastModified === previous.lastModified;
  const etagMoved = seen.etag !== undefined && previous.etag !== undefined && seen.etag !== previous.etag;
  const sameRaw = seen.rawDigest === previous.rawDigest;
  const sameContent = seen.extracted.digest === previous.digest;
  const optionsChanged = seen.extraction !== previous.extraction;

  if (sameRaw || sameContent) {
    const confirmed = context.after304 ? previous.honest + 1 : previous.honest;
    const trust: Trust =
      context.after304 && previous.trust === 'unproven' && confirmed >= context.proveAfter
        ? 'proven'
        : previous.trust;
    let detectedBy: DetectedBy = 'digest';
    let reason: CheckReason | null = null;
    if (sameRaw && sameEtag) detectedBy = 'etag';
    else if (sameRaw && sameDate) detectedBy = 'last-modified';
    if (sameRaw && etagMoved) reason = 'etag-unstable';
    else if (!sameRaw) reason = 'normalized';
    else if (optionsChanged) reason = 'options-changed';
    return {
      status: 'unchanged',
      detectedBy,
      reason,
      etagUnstable: previous.etagUnstable || (sameRaw && etagMoved),
      trust,
      honest: confirmed,
    };
  }

  if (optionsChanged) return { ...base, status: 'changed', detectedBy: 'digest', reason: 'options-changed' };
  // After a 304, any new content means the 304 was false (whatever validators the full response carries).
  if (context.after304 || sameEtag || sameDate)
    return {
      ...base,
      status: 'changed',
      detectedBy: 'digest',
      reason: context.after304 ? 'false-304' : 'validator-unchanged',
      trust: 'dishonest',
      honest: 0,
    };
  return { ...base, status: 'changed', detectedBy: 'digest', reason: null };
}
