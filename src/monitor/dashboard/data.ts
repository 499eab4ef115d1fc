/**
 * What the dashboard shows, read from the history through the `HistoryStore` interface only (so a SQLite or a
 * PostgreSQL history serves it alike) and shaped for the page. Every representation depends on the history
 * alone, never on the clock: the page turns timestamps into "3 min ago" and "changed today" itself, so the
 * history's change counter is a correct validator for all of them.
 */
import type { HistoryStore, VersionRef } from '../history/store.ts';
import { hostMetrics, type Metrics } from '../metrics.ts';
import type { CheckRecord, StoredWatch, WatchDefinition, WatchState } from '../types.ts';
import type { ChangePreview, PreviewCache } from './previews.ts';

/** A watch's standing, from its state alone ("changed recently" is the page's to say, from `lastChangeAt`). */
export type WatchHealth = 'pending' | 'error' | 'unreliable' | 'ok';

export interface OverviewRow {
  url: string;
  host: string;
  health: WatchHealth;
  paused: boolean;
  /** The last check's error, when the last check failed. */
  error: string | null;
  lastCheckAt: number | null;
  /** When the content last changed (not its first sighting). */
  lastChangeAt: number | null;
  version: number;
  checks: number;
  changes: number;
  errors: number;
  notModifiedRatio: number;
  bytes: number;
  bytesSaved: number;
  intervalMs: number;
  /** When each of the last changes was seen, oldest first (at most SPARK_CHANGES): the sparkline's data. */
  changeTimes: number[];
}

export interface Overview {
  totals: Metrics;
  rows: OverviewRow[];
  /** The latest changes over all watches, newest first, with what changed in a few lines. */
  latest: ChangePreview[];
}

export interface ValidatorSeen {
  etag: string | null;
  lastModified: string | null;
  checks: number;
  firstSeen: string;
  lastSeen: string;
}

export interface WatchDetail {
  url: string;
  host: string;
  health: WatchHealth;
  paused: boolean;
  definition: WatchDefinition;
  state: WatchState;
  /** Newest first, at most DETAIL_CHECKS. */
  checks: CheckRecord[];
  /** The versions still in the history, newest first. */
  versions: VersionRef[];
  /** Distinct validator pairs the server sent, newest first. */
  validators: ValidatorSeen[];
}

/** Checks and bytes per time bucket over the whole history, every watch together. */
export interface Timeline {
  bucketMs: number;
  /** Bucket start times (ms); the arrays below have one value per bucket. */
  time: number[];
  checks: number[];
  notModified: number[];
  changes: number[];
  errors: number[];
  /** Bytes the monitor received. */
  bytes: number[];
  /** Bytes a poller without validators would have received for the same checks (estimated; see below). */
  unconditionalBytes: number[];
}

const SPARK_CHANGES = 40;
const LATEST_CHANGES = 6;
const DETAIL_CHECKS = 200;
/**
 * Check rows the timeline reads in all, shared equally by the watches (at least 50 each, the newest): it costs
 * about 1 ms per 100 rows, so a history of 100,000s of checks is summarised from its most recent part.
 */
const TIMELINE_ROWS = 200_000;
/** Reads yield to the event loop this often, so a running monitor's checks are not held up. */
const YIELD_EVERY = 25;
const BUCKETS_MS = [10_000, 60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000, 7 * 86_400_000];
const MAX_BUCKETS = 1500;

export function healthOf(watch: StoredWatch): WatchHealth {
  const s = watch.state;
  if (s.checks === 0) return 'pending';
  if (s.failures > 0) return 'error';
  if (s.trust === 'dishonest' || s.etagUnstable) return 'unreliable';
  return 'ok';
}

/** A real change: the content moved after it was first seen. */
function lastChangeOf(state: WatchState): number | null {
  return state.version > 1 && state.lastChangeAt !== undefined ? state.lastChangeAt : null;
}

export async function readOverview(store: HistoryStore, previews: PreviewCache): Promise<Overview> {
  const watches = await store.watches();
  const withHost = watches.map((w) => ({ ...w, host: new URL(w.definition.url).host }));
  const rows = await Promise.all(
    withHost.map(async (w): Promise<OverviewRow> => {
      const s = w.state;
      const health = healthOf(w);
      // Versions after the first are the changes; only watches that changed need the query.
      const versions = s.version > 1 ? await store.versions(w.definition.url) : [];
      const error =
        health === 'error' ? ((await store.checks(w.definition.url, { limit: 1 }))[0]?.error ?? null) : null;
      return {
        url: w.definition.url,
        host: w.host,
        health,
        paused: w.paused,
        error,
        lastCheckAt: s.lastCheckAt ?? null,
        lastChangeAt: lastChangeOf(s),
        version: s.version,
        checks: s.checks,
        changes: s.changes,
        errors: s.errors,
        notModifiedRatio: s.checks === 0 ? 0 : s.notModified / s.checks,
        bytes: s.bytes,
        bytesSaved: s.bytesSaved,
        intervalMs: s.intervalMs,
        changeTimes: versions
          .filter((v) => v.version > 1)
          .slice(0, SPARK_CHANGES)
          .map((v) => Date.parse(v.time))
          .reverse(),
      };
    }),
  );
  const latest = rows
    .filter((r) => r.lastChangeAt !== null)
    .sort((a, b) => b.lastChangeAt! - a.lastChangeAt!)
    .slice(0, LATEST_CHANGES);
  const found = await Promise.all(latest.map((r) => previews.preview(r.url, r.version)));
  return { totals: hostMetrics(withHost).total, rows, latest: found.filter((p) => p !== null) };
}

export async function readWatch(store: HistoryStore, url: string): Promise<WatchDetail | undefined> {
  const watch = await store.watch(url);
  if (!watch) return undefined;
  const [checks, versions] = await Promise.all([
    store.checks(url, { limit: DETAIL_CHECKS }),
    store.versions(url),
  ]);
  return {
    url,
    host: new URL(url).host,
    health: healthOf(watch),
    paused: watch.paused,
    definition: watch.definition,
    state: watch.state,
    checks,
    versions,
    validators: validatorsSeen(checks),
  };
}

/** The distinct (ETag, Last-Modified) pairs of the checks that carried any, newest first. */
export function validatorsSeen(checks: readonly CheckRecord[]): ValidatorSeen[] {
  const seen = new Map<string, ValidatorSeen>();
  for (const c of checks) {
    if (c.etag === null && c.lastModified === null) continue;
    const key = JSON.stringify([c.etag, c.lastModified]);
    const entry = seen.get(key);
    if (entry) {
      entry.checks++;
      entry.firstSeen = c.time;
    } else
      seen.set(key, {
        etag: c.etag,
        lastModified: c.lastModified,
        checks: 1,
        firstSeen: c.time,
        lastSeen: c.time,
      });
  }
  return [...seen.values()];
}

export async function readTimeline(store: HistoryStore): Promise<Timeline> {
  const watches = await store.watches();
  const limit = Math.max(50, Math.floor(TIMELINE_ROWS / Math.max(1, watches.length)));
  const perWatch: CheckRecord[][] = [];
  for (const [i, w] of watches.entries()) {
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
    perWatch.push(await store.checks(w.definition.url, { limit }));
  }
  return bucketChecks(perWatch);
}

/**
 * Aggregates each watch's checks (newest first, as the store returns them) into buckets aligned on a round
 * size chosen so the history read fits in at most MAX_BUCKETS.
 *
 * What a poller without validators would have received is rebuilt check by check: a 304 would have been the
 * last full response of that URL again; any other check the same bytes this one cost (a verified 304 counts
 * whole, so the estimate leans towards the poller, never towards the monitor).
 */
export function bucketChecks(perWatch: readonly (readonly CheckRecord[])[]): Timeline {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const checks of perWatch)
    for (const c of checks) {
      const t = Date.parse(c.time);
      if (t < first) first = t;
      if (t > last) last = t;
    }
  const empty: Timeline = {
    bucketMs: BUCKETS_MS[0]!,
    time: [],
    checks: [],
    notModified: [],
    changes: [],
    errors: [],
    bytes: [],
    unconditionalBytes: [],
  };
  if (first > last) return empty;
  const bucketMs =
    BUCKETS_MS.find((size) => Math.floor(last / size) - Math.floor(first / size) < MAX_BUCKETS) ??
    BUCKETS_MS.at(-1)!;
  const start = Math.floor(first / bucketMs) * bucketMs;
  const n = Math.floor(last / bucketMs) - start / bucketMs + 1;
  const t: Timeline = {
    bucketMs,
    time: Array.from({ length: n }, (_, i) => start + i * bucketMs),
    checks: new Array(n).fill(0),
    notModified: new Array(n).fill(0),
    changes: new Array(n).fill(0),
    errors: new Array(n).fill(0),
    bytes: new Array(n).fill(0),
    unconditionalBytes: new Array(n).fill(0),
  };
  for (const checks of perWatch) {
    let lastFull: number | undefined;
    for (let i = checks.length - 1; i >= 0; i--) {
      const c = checks[i]!;
      const b = Math.floor((Date.parse(c.time) - start) / bucketMs);
      t.checks[b]!++;
      t.bytes[b]! += c.bytes;
      if (c.httpStatus === 304 && !c.truth) {
        t.notModified[b]!++;
        t.unconditionalBytes[b]! += lastFull ?? c.bytes;
      } else {
        t.unconditionalBytes[b]! += c.bytes;
        if (c.status !== 'error') lastFull = c.bytes;
      }
      if (c.truth) t.notModified[b]!++;
      if (c.status === 'changed') t.changes[b]!++;
      if (c.status === 'error') t.errors[b]!++;
    }
  }
  return t;
}
