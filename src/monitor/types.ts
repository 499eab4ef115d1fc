/**
 * The monitor's data: what a watch is (its definition), what the monitor remembers about it between checks (its
 * state), and what one check reports (the event). Plain data, shared by the check, the scheduler and every
 * history store.
 */

/** How a watch is defined, by a line of the watch file or by `monitor.add()`. */
export interface WatchDefinition {
  url: string;
  /** Base interval between checks in ms (with `adaptive`, the starting point). */
  intervalMs: number;
  /** Request headers sent with every check (never the conditional ones: the monitor sets those). */
  headers: Record<string, string>;
  /** CSS selector: watch only the text of the matching elements of an HTML page. */
  selector?: string | undefined;
  /** JSON Pointer (RFC 6901): watch only this part of a JSON document. */
  pointer?: string | undefined;
  /** Regular expressions (sources) whose matches are removed before comparing: timestamps, nonces. */
  ignore: string[];
  /** `collapse` (default) trims lines, folds runs of blanks and drops empty lines before comparing. */
  whitespace: 'collapse' | 'keep';
  /** Lengthen the interval while nothing changes and shorten it on a change, within min/max. */
  adaptive: boolean;
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Never check before the last response's `max-age` / `Expires` freshness has run out. */
  respectCacheHeaders: boolean;
}

/** Whether the URL's validators have earned trust (see check.ts). */
export type Trust = 'unproven' | 'proven' | 'dishonest';

/** What the content turned out to be; binary content is compared by digest only and never stored. */
export type ContentKind = 'html' | 'json' | 'text' | 'binary';

/** Counters kept per watch, updated in the same transaction as each check. */
export interface WatchCounters {
  checks: number;
  /** Checks answered 304 Not Modified. */
  notModified: number;
  changes: number;
  errors: number;
  /** Bytes received: bodies plus an estimate of the response header bytes. */
  bytes: number;
  /** Bytes an unconditional poller would have received in addition (negative when a check cost more). */
  bytesSaved: number;
}

/** What the monitor remembers about a watch between checks. Validators always describe `digest`. */
export interface WatchState extends WatchCounters {
  /** The server's validators, verbatim, exactly as they came with the snapshot `digest`. */
  etag?: string | undefined;
  lastModified?: string | undefined;
  /** sha256 of the extracted, normalised content: the snapshot's address. */
  digest?: string | undefined;
  /** sha256 of the raw body as received. */
  rawDigest?: string | undefined;
  kind?: ContentKind | undefined;
  /** Size of the raw body, what an unconditional poll downloads. */
  rawBytes: number;
  /** Fingerprint of the extraction options that produced `digest`. */
  extraction?: string | undefined;
  /** Increments on every new or changed content. */
  version: number;
  /** The ETag changed while the bytes did not: If-None-Match is no longer sent, the digest decides. */
  etagUnstable: boolean;
  trust: Trust;
  /** 304s confirmed by an unconditional fetch since the validators last lied. */
  honest: number;
  lastTruthAt?: number | undefined;
  /** Consecutive failed checks, and whether an alert for them went out. */
  failures: number;
  alerting: boolean;
  /** Current interval (moves with `adaptive`). */
  intervalMs: number;
  nextDueAt: number;
  lastCheckAt?: number | undefined;
  /** The due time of the last recorded check (checks are unique per watch and due time). */
  lastDueAt?: number | undefined;
  lastChangeAt?: number | undefined;
}

/** A watch as stored: its definition, its state and whether it is paused. */
export interface StoredWatch {
  id: number;
  definition: WatchDefinition;
  state: WatchState;
  paused: boolean;
}

export type CheckStatus = 'new' | 'changed' | 'unchanged' | 'error';
export type DetectedBy = '304' | 'etag' | 'last-modified' | 'digest';

/**
 * Why a check decided as it did, beyond `detectedBy`:
 * - `false-304`: the server answered 304 but an unconditional fetch right after returned different content;
 * - `validator-unchanged`: the content changed under the same ETag / Last-Modified;
 * - `etag-unstable`: the ETag changed while the bytes did not (not a change);
 * - `normalized`: the bytes changed, the watched content (after extraction and `ignore`) did not;
 * - `refetch-after-304`: a 304 came for a URL with no stored snapshot; the unconditional re-fetch decided;
 * - `options-changed`: the watch's extraction options changed since the last snapshot.
 */
export type CheckReason =
  | 'false-304'
  | 'validator-unchanged'
  | 'etag-unstable'
  | 'normalized'
  | 'refetch-after-304'
  | 'options-changed';

/**
 * One check, as printed by `etagkit watch --json` and stored in the history. The first ten fields are the
 * contract of DESIGN.md and never change; the rest may grow.
 */
export interface CheckEvent {
  /** When the check finished, ISO 8601. */
  time: string;
  url: string;
  status: CheckStatus;
  httpStatus: number | null;
  etag: string | null;
  lastModified: string | null;
  /** `sha256:<hex>` of the watched content after the check (the current snapshot's address). */
  digest: string | null;
  detectedBy: DetectedBy | null;
  /** Bytes received by this check (bodies and estimated headers, every request it made). */
  bytes: number;
  error: string | null;
  reason: CheckReason | null;
  /** The content's version number after the check. */
  version: number;
  /** An unconditional fetch verified the server's answer (a "truth" fetch). */
  truth: boolean;
  /** Requests this check made (a verified 304 makes two). */
  requests: number;
  /** The scheduled time this check ran for (ms since epoch): one history row per watch and due time. */
  dueAt: number;
}

/** A check row as read back from the history. */
export interface CheckRecord extends CheckEvent {
  id: number;
}

/** A notification to deliver at least once: to a webhook URL or a command. */
export interface Notification {
  kind: 'change' | 'alert' | 'recovered';
  event: CheckEvent;
}
