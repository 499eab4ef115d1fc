/**
 * One check of one watch: given the watch and its stored state, make the conditional request (and, when the 304
 * must be verified, the unconditional one), decide, and build everything to commit. No scheduling here: the
 * in-process scheduler calls `runCheck`, and so can a queue worker on another machine.
 *
 * Validator trust (per URL):
 * - the server's own validators are echoed verbatim: If-None-Match with the stored ETag, If-Modified-Since with
 *   the stored Last-Modified (RFC 9110 §13.1.2, §13.1.3: the server's date, never our clock);
 * - an unstable ETag is no longer sent (If-None-Match would never match, and it would make a compliant server
 *   ignore If-Modified-Since, §13.2.2 step 3/4), so its Last-Modified can still earn 304s;
 * - a 304 is taken at its word only on URLs whose validators have proven honest: until then every 304 is
 *   verified by an unconditional "truth" fetch, and afterwards one check in `truthIntervalMs` is;
 * - a URL caught with a false 304 (or new content under an old validator) is polled unconditionally.
 *
 * A 304 for a URL whose snapshot is not in the store (deleted or restored history) is never "unchanged": the
 * content is fetched again unconditionally and reported `new`. A 304 to a request without validators is an error.
 */
import type { Dispatcher } from 'undici';
import { parseEntityTag, weakCompare } from '../core/index.ts';
import { expandHeaders } from './definition.ts';
import { detect } from './detect.ts';
import { ExtractionError, extract, extractionKey, sha256 } from './extract.ts';
import { FetchError, type FetchedResponse, fetchResource } from './fetcher.ts';
import type { CheckCommit, HistoryStore } from './history/store.ts';
import { backoffMs, freshUntil, hash32, nextDue, nextInterval, retryAfterMs } from './schedule.ts';
import type { CheckEvent, CheckStatus, Notification, StoredWatch, WatchState } from './types.ts';

export interface CheckSettings {
  timeoutMs: number;
  /** Largest body read; a larger one is an error and nothing is stored. */
  maxBytes: number;
  maxRedirects: number;
  /** Verified 304s after which a URL's 304s are trusted. */
  proveAfter: number;
  /** How often a proven URL's 304 is still verified. */
  truthIntervalMs: number;
  /** Consecutive failures that raise an alert (and later a recovery notice). */
  alertAfter: number;
  userAgent: string;
}

export const DEFAULT_CHECK_SETTINGS: CheckSettings = {
  timeoutMs: 30_000,
  maxBytes: 10 * 1024 * 1024,
  maxRedirects: 5,
  proveAfter: 2,
  truthIntervalMs: 24 * 3_600_000,
  alertAfter: 3,
  userAgent: 'etagkit-watch (+https://www.npmjs.com/package/etagkit)',
};

export interface CheckEnvironment {
  settings: CheckSettings;
  dispatcher: Dispatcher;
  now(): number;
  store: Pick<HistoryStore, 'hasSnapshot' | 'commit'>;
  /** Where notifications go: webhook URLs and `command:<shell command>`. */
  targets: readonly string[];
  /** Where `${NAME}` in header values is looked up. Default: process.env. */
  env?: Record<string, string | undefined>;
}

export interface CheckResult {
  event: CheckEvent;
  state: WatchState;
  notifications: Notification[];
  commit: CheckCommit;
  /** After a 429/503: the host should not be asked again before this time. */
  hostRetryAt: number | undefined;
}

/** A check that cannot be decided (the server answered something unusable). */
class CheckFailure extends Error {}

/** Performs and commits one check. `committed` is false when this (watch, due time) was already recorded. */
export async function runCheck(
  watch: StoredWatch,
  dueAt: number,
  env: CheckEnvironment,
): Promise<CheckResult & { committed: boolean }> {
  const result = await performCheck(watch, dueAt, env);
  const committed = await env.store.commit(result.commit);
  return { ...result, committed };
}

/** Performs one check and builds its commit, without writing anything. */
export async function performCheck(
  watch: StoredWatch,
  dueAt: number,
  env: CheckEnvironment,
): Promise<CheckResult> {
  const { definition: def, state: previous } = watch;
  const { settings } = env;
  const startedAt = env.now();
  const hasValidators = previous.etag !== undefined || previous.lastModified !== undefined;
  const conditional = previous.digest !== undefined && hasValidators && previous.trust !== 'dishonest';
  const truthDue =
    (previous.trust === 'unproven' && previous.honest < settings.proveAfter) ||
    previous.lastTruthAt === undefined ||
    startedAt - previous.lastTruthAt >= settings.truthIntervalMs * (1 + (hash32(def.url) % 100) / 1000);

  let requests = 0;
  let bytes = 0;
  // Secrets come from the environment at request time; the history keeps only the references.
  const expanded = expandHeaders(def.headers, env.env ?? process.env);
  const get = async (withValidators: boolean): Promise<FetchedResponse> => {
    if ('error' in expanded) throw new CheckFailure(expanded.error);
    requests++;
    const headers: Record<string, string> = { 'user-agent': settings.userAgent, ...expanded.headers };
    if (withValidators) {
      if (previous.etag !== undefined && !previous.etagUnstable) headers['if-none-match'] = previous.etag;
      if (previous.lastModified !== undefined) headers['if-modified-since'] = previous.lastModified;
    }
    const response = await fetchResource(def.url, {
      ...settings,
      headers,
      dispatcher: env.dispatcher,
      now: env.now,
    });
    bytes += response.bytes;
    return response;
  };

  let state: WatchState = { ...previous, checks: previous.checks + 1 };
  let event: Omit<CheckEvent, 'time' | 'bytes' | 'requests'>;
  let snapshot: CheckCommit['snapshot'];
  let rawDigest: string | undefined;
  let notBefore: number | undefined;
  let hostRetryAt: number | undefined;
  let saved = 0;
  try {
    let response = await get(conditional);
    let after304 = false;
    let refetchAfter304 = false;
    if (response.status === 304) {
      if (!conditional) throw new CheckFailure('304 Not Modified to a request that carried no validators');
      state.notModified++;
      const tag = response.headers.etag;
      // RFC 9111 §4.3.4: a 304 whose ETag is not the stored one does not describe the stored response.
      // (With an unstable ETag only If-Modified-Since was sent, and the 304's ETag says nothing.)
      const mismatched =
        !previous.etagUnstable &&
        tag !== undefined &&
        previous.etag !== undefined &&
        !weakCompare(tag, previous.etag);
      const stored = !mismatched && (await env.store.hasSnapshot(previous.digest!));
      if (!stored || truthDue) {
        // The full response is fetched after all: nothing is saved. The 304's own bytes count as transferred
        // (in `bytes`), not as negative savings, so "saved" only ever counts bodies a trusted 304 spared.
        refetchAfter304 = !stored && !mismatched;
        after304 = stored;
        response = await get(false);
        if (response.status === 304)
          throw new CheckFailure('304 Not Modified to a request that carried no validators');
      } else {
        saved += previous.rawBytes;
        event = unchangedBy304(def.url, previous, dueAt);
        notBefore = def.respectCacheHeaders
          ? freshUntil(304, response.headers, response.responseTime)
          : undefined;
        state = { ...state, failures: 0 };
        return finish();
      }
    }
    if (response.status === 429 || response.status === 503) {
      const failures = previous.failures + 1;
      const wait = backoffMs(
        previous.intervalMs,
        failures,
        retryAfterMs(response.headers['retry-after'], env.now()),
      );
      hostRetryAt = env.now() + wait;
      notBefore = hostRetryAt;
      throw new CheckFailure(`HTTP ${response.status}; not asking again for ${Math.round(wait / 1000)} s`, {
        cause: response.status,
      });
    }
    if (response.status === 206) throw new CheckFailure('206 Partial Content to a request without Range');
    if (response.status < 200 || response.status >= 300 || response.body === undefined)
      throw new CheckFailure(`HTTP ${response.status}`, { cause: response.status });

    const body = response.body;
    const extracted = extract(body, response.headers['content-type'], def);
    rawDigest = extracted.kind === 'binary' ? extracted.digest : sha256(body);
    const extraction = extractionKey(def);
    const etag = validEtag(response.headers.etag);
    const lastModified = response.headers['last-modified'];
    const detection = detect(
      previous,
      { etag, lastModified, rawDigest, extracted, extraction },
      { after304, refetchAfter304, proveAfter: settings.proveAfter },
    );
    const changed = detection.status !== 'unchanged';
    const version = changed ? previous.version + 1 : previous.version;
    state = {
      ...state,
      etag,
      lastModified,
      digest: extracted.digest,
      rawDigest,
      kind: extracted.kind,
      rawBytes: body.byteLength,
      extraction,
      version,
      etagUnstable: detection.etagUnstable,
      trust: detection.trust,
      honest: detection.honest,
      lastTruthAt: env.now(), // the content itself was seen: nothing to verify for a while
      failures: 0,
      changes: previous.changes + (detection.status === 'changed' ? 1 : 0),
      lastChangeAt: changed ? env.now() : previous.lastChangeAt,
    };
    if (extracted.digest !== previous.digest || refetchAfter304)
      snapshot = {
        digest: extracted.digest,
        kind: extracted.kind,
        size: extracted.text === undefined ? body.byteLength : Buffer.byteLength(extracted.text),
        text: extracted.text,
      };
    event = {
      url: def.url,
      status: detection.status,
      httpStatus: response.status,
      etag: etag ?? null,
      lastModified: lastModified ?? null,
      digest: extracted.digest,
      detectedBy: detection.detectedBy,
      error: null,
      reason: detection.reason,
      version,
      truth: after304,
      dueAt,
    };
    notBefore = def.respectCacheHeaders
      ? freshUntil(response.status, response.headers, response.responseTime)
      : undefined;
  } catch (error) {
    if (!(error instanceof FetchError || error instanceof ExtractionError || error instanceof CheckFailure))
      throw error;
    const httpStatus = typeof error.cause === 'number' ? error.cause : null;
    state = { ...state, failures: previous.failures + 1, errors: previous.errors + 1 };
    snapshot = undefined;
    rawDigest = undefined;
    event = {
      url: def.url,
      status: 'error',
      httpStatus,
      etag: null,
      lastModified: null,
      digest: null,
      detectedBy: null,
      error: error.message,
      reason: null,
      version: previous.version,
      truth: false,
      dueAt,
    };
  }
  return finish();

  function finish(): CheckResult {
    const now = env.now();
    // The contract's ten fields first, in the order DESIGN.md gives them.
    const full: CheckEvent = {
      time: new Date(now).toISOString(),
      url: event.url,
      status: event.status,
      httpStatus: event.httpStatus,
      etag: event.etag,
      lastModified: event.lastModified,
      digest: event.digest,
      detectedBy: event.detectedBy,
      bytes,
      error: event.error,
      reason: event.reason,
      version: event.version,
      truth: event.truth,
      requests,
      dueAt: event.dueAt,
    };
    const notifications: Notification[] = [];
    if (full.status === 'changed') notifications.push({ kind: 'change', event: full });
    if (full.status === 'error') {
      if (state.failures >= settings.alertAfter && !previous.alerting) {
        state.alerting = true;
        notifications.push({ kind: 'alert', event: full });
      }
    } else if (previous.alerting) {
      state.alerting = false;
      notifications.push({ kind: 'recovered', event: full });
    }
    const status: CheckStatus = full.status;
    const intervalMs = nextInterval(def, previous.intervalMs, status);
    state = {
      ...state,
      bytes: previous.bytes + bytes,
      // A history written before savings were counted this way may hold a negative count: it starts at 0 again.
      bytesSaved: Math.max(0, previous.bytesSaved) + saved,
      lastCheckAt: now,
      lastDueAt: dueAt,
      intervalMs,
      nextDueAt: nextDue({ watch: def, dueAt, intervalMs, now, notBefore }),
    };
    const outbox = notifications.flatMap((n) =>
      env.targets.map((target) => ({ target, payload: JSON.stringify({ type: n.kind, ...n.event }) })),
    );
    return {
      event: full,
      state,
      notifications,
      hostRetryAt,
      commit: { watchId: watch.id, event: full, rawDigest, state, snapshot, outbox },
    };
  }
}

function unchangedBy304(
  url: string,
  previous: WatchState,
  dueAt: number,
): Omit<CheckEvent, 'time' | 'bytes' | 'requests'> {
  return {
    url,
    status: 'unchanged',
    httpStatus: 304,
    etag: previous.etag ?? null,
    lastModified: previous.lastModified ?? null,
    digest: previous.digest ?? null,
    detectedBy: '304',
    error: null,
    reason: null,
    version: previous.version,
    truth: false,
    dueAt,
  };
}

/** An ETag is kept verbatim, but only if it is one (RFC 9110 §8.8.3); anything else is no validator at all. */
function validEtag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return parseEntityTag(value) ? value.trim() : undefined;
}
