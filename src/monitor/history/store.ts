/**
 * The history contract: where the monitor keeps its watches, their state, one row per check, content-addressed
 * snapshots and the notification outbox. SQLite implements it today (sqlite.ts); a PostgreSQL store for the fleet
 * implements the same interface and passes the same suite (suite.ts).
 *
 * Guarantees every store gives:
 * - `commit` is one transaction: the check row, the watch's new state (its validators with the snapshot they
 *   describe), the snapshot and the outbox rows are all written or none is.
 * - `commit` is idempotent per (watch, due time): a second commit for the same pair writes nothing and
 *   resolves `false`, so a retried job or a restarted pass never records a check twice.
 * - Snapshots are content-addressed: an identical content is stored once, whatever the number of checks.
 * - `revision()` grows with every write, a cheap validator for readers (a dashboard's ETag).
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import { noCounts } from '../metrics.ts';
import type {
  CheckEvent,
  CheckRecord,
  ContentKind,
  StoredWatch,
  WatchDefinition,
  WatchState,
} from '../types.ts';

/** Watched content as stored: text for text kinds, nothing for binary (compared by digest only). */
export interface Snapshot {
  digest: string;
  kind: ContentKind;
  /** Length of the text in UTF-8 bytes (of the raw body for binary). */
  size: number;
  text: string | undefined;
}

/** A notification waiting in the outbox: `target` is a webhook URL or `command:<shell command>`. */
export interface OutboxEntry {
  id: number;
  target: string;
  payload: string;
  attempts: number;
  createdAt: number;
}

/** Everything one check writes, committed together. */
export interface CheckCommit {
  watchId: number;
  event: CheckEvent;
  rawDigest: string | undefined;
  /** The watch's state after the check (validators, digest, schedule, counters). */
  state: WatchState;
  /** The content the state's digest names, when it may not be stored yet. */
  snapshot: Snapshot | undefined;
  /** Outbox rows: one per notification and target. */
  outbox: { target: string; payload: string }[];
}

export interface RetentionPolicy {
  /** Check rows kept per watch (newest first). */
  maxChecks: number;
  /** Check rows older than this are deleted. */
  maxAgeMs: number;
}

/** A version of a watch's content: the check that first saw it. */
export interface VersionRef {
  version: number;
  digest: string;
  time: string;
}

export interface HistoryStore {
  /**
   * Adds a watch (with `initial` as its state) or, when its URL is already stored, replaces its definition and
   * unpauses it, keeping its state and history.
   */
  saveWatch(definition: WatchDefinition, initial: WatchState): Promise<StoredWatch>;
  /** Deletes a watch with its history; false when there was none. */
  removeWatch(url: string): Promise<boolean>;
  setPaused(url: string, paused: boolean): Promise<boolean>;
  watches(): Promise<StoredWatch[]>;
  watch(url: string): Promise<StoredWatch | undefined>;
  /** Commits one check (see the guarantees above). Resolves false for a duplicate or a removed watch. */
  commit(check: CheckCommit): Promise<boolean>;
  hasSnapshot(digest: string): Promise<boolean>;
  snapshot(digest: string): Promise<Snapshot | undefined>;
  /** A watch's checks, newest first. */
  checks(url: string, options?: { limit?: number; beforeId?: number }): Promise<CheckRecord[]>;
  /** The versions of a watch's content still in the history, newest first. */
  versions(url: string): Promise<VersionRef[]>;
  /** Outbox entries due at `now`, oldest first. */
  pendingNotifications(now: number, limit: number): Promise<OutboxEntry[]>;
  /** The earliest retry time of an entry not yet due; undefined when the outbox is empty. */
  nextNotificationAt(): Promise<number | undefined>;
  /** Delivered: removed. Failed: retried at `retryAt`, or kept as undeliverable when `retryAt` is undefined. */
  settleNotification(
    id: number,
    outcome: { delivered: true } | { retryAt: number | undefined; error: string },
  ): Promise<void>;
  /** Applies retention and drops snapshots no longer referenced; the current version of a watch always stays. */
  prune(policy: RetentionPolicy, now: number): Promise<{ checks: number; snapshots: number }>;
  /** Grows with every write. */
  revision(): Promise<number>;
  close(): Promise<void>;
}

/** A check a fleet scheduler enqueues: the watch and the due time its job is for. */
export interface QueuedCheck {
  watchId: number;
  url: string;
  host: string;
  dueAt: number;
}

/**
 * A history several processes share, whose schedule can be read by due time (PostgreSQL): what the fleet's
 * schedulers need. Its `pendingNotifications` leases what it returns, so several deliverers never send one row at
 * the same time.
 */
export interface FleetHistoryStore extends HistoryStore {
  /** Unpaused watches due by `until` whose due time has not been marked queued, earliest first. */
  dueChecks(until: number, limit: number): Promise<QueuedCheck[]>;
  /** Marks these due times queued (a watch whose due time has moved on meanwhile is left alone). */
  markQueued(checks: readonly QueuedCheck[]): Promise<void>;
  /** Unpaused watches whose due time is before `before`, queued or not, earliest first. */
  overdueChecks(before: number, limit: number): Promise<QueuedCheck[]>;
  /** Pauses every watch whose URL is not in `urls` (the watch file is the watch list); resolves how many. */
  pauseUnlisted(urls: readonly string[]): Promise<number>;
}

/** A history that cannot be opened or written: the message says which file and what to do. */
export class HistoryError extends Error {
  override name = 'HistoryError';
}

/** The state of a watch never checked. */
export function initialState(intervalMs: number, nextDueAt: number): WatchState {
  return {
    rawBytes: 0,
    version: 0,
    etagUnstable: false,
    trust: 'unproven',
    honest: 0,
    failures: 0,
    alerting: false,
    intervalMs,
    nextDueAt,
    ...noCounts(),
  };
}

/** Snapshot text as stored: brotli when it pays (text compresses 4–10×), else the UTF-8 bytes as they are. */
export function encodeSnapshotText(text: string): { encoding: 'br' | 'identity'; bytes: Uint8Array } {
  const raw = Buffer.from(text, 'utf8');
  if (raw.byteLength < 256) return { encoding: 'identity', bytes: raw };
  const packed = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: raw.byteLength },
  });
  return packed.byteLength < raw.byteLength
    ? { encoding: 'br', bytes: packed }
    : { encoding: 'identity', bytes: raw };
}

export function decodeSnapshotText(encoding: string, bytes: Uint8Array): string {
  const raw =
    encoding === 'br'
      ? brotliDecompressSync(bytes)
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return raw.toString('utf8');
}
