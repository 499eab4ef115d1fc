/**
 * The history in one SQLite file, with Node's built-in `node:sqlite` (no native build), in WAL mode so readers
 * (`etagkit watch history`, a dashboard) never wait for the monitor's writes. A process killed with `kill -9`
 * loses no committed transaction (WAL with synchronous=NORMAL only risks the last commits on power loss).
 *
 * Commits that arrive within a few milliseconds are written in a single transaction (group commit): each check is
 * still all or nothing, and 5,000 checks a second cost a few hundred transactions instead of 5,000.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { CheckRecord, StoredWatch, WatchDefinition, WatchState } from '../types.ts';
import {
  type CheckCommit,
  decodeSnapshotText,
  encodeSnapshotText,
  HistoryError,
  type HistoryStore,
  type OutboxEntry,
  type RetentionPolicy,
  type Snapshot,
  type VersionRef,
} from './store.ts';

export interface SqliteHistoryOptions {
  /** How long a write waits for another process's lock before failing. Default 2000 ms. */
  busyTimeoutMs?: number;
  /** Open an existing history for reading only (the history and diff commands). */
  readOnly?: boolean;
}

const SCHEMA_VERSION = 1;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ${SCHEMA_VERSION}), ('revision', 0);
CREATE TABLE IF NOT EXISTS watches (
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL,
  definition TEXT NOT NULL,
  state TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS checks (
  id INTEGER PRIMARY KEY,
  watch_id INTEGER NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
  due_at INTEGER NOT NULL,
  time TEXT NOT NULL,
  status TEXT NOT NULL,
  http_status INTEGER,
  etag TEXT,
  last_modified TEXT,
  digest TEXT,
  raw_digest TEXT,
  detected_by TEXT,
  bytes INTEGER NOT NULL,
  error TEXT,
  reason TEXT,
  version INTEGER NOT NULL,
  truth INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  UNIQUE (watch_id, due_at)
);
CREATE INDEX IF NOT EXISTS checks_version ON checks (watch_id, version) WHERE status IN ('new', 'changed');
CREATE TABLE IF NOT EXISTS snapshots (
  digest TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  size INTEGER NOT NULL,
  encoding TEXT NOT NULL,
  content BLOB
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY,
  target TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  last_error TEXT,
  undeliverable INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at) WHERE undeliverable = 0;
`;

/**
 * Group commit: checks committed within GROUP_COMMIT_MS share one transaction (at most GROUP_COMMIT_MAX). A
 * check's promise resolves (and its event goes out) only after its transaction committed.
 */
const GROUP_COMMIT_MS = 5;
const GROUP_COMMIT_MAX = 512;

const CHECK_COLUMNS =
  'id, due_at, time, status, http_status, etag, last_modified, digest, detected_by, bytes, error, reason, version, truth, requests';

/** Opens (creating when needed) the history at `path`. Throws HistoryError with an explanation. */
export async function sqliteHistory(path: string, options: SqliteHistoryOptions = {}): Promise<HistoryStore> {
  const { DatabaseSync } = await import('node:sqlite');
  let db: DatabaseSync | undefined;
  try {
    if (!options.readOnly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new DatabaseSync(path, { readOnly: options.readOnly ?? false });
    db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 2000}`);
    if (!options.readOnly) {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
      db.exec(`BEGIN IMMEDIATE; ${SCHEMA} COMMIT;`);
    }
    const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get();
    const row = hasMeta
      ? (db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: number } | undefined)
      : undefined;
    if (row === undefined)
      throw new HistoryError(`${path} is not an etagkit history (no schema); check --db`);
    if (row.value > SCHEMA_VERSION)
      throw new HistoryError(`${path} was written by a newer etagkit (schema ${row.value}); upgrade etagkit`);
    return new SqliteHistory(db, path);
  } catch (error) {
    rollback(db);
    try {
      db?.close();
    } catch {}
    throw explain(error, path);
  }
}

/** Turns SQLite's terse errors into what a user can act on. */
export function explain(error: unknown, path: string): Error {
  if (error instanceof HistoryError) return error;
  const message = (error as Error).message ?? String(error);
  if (/locked|busy/i.test(message))
    return new HistoryError(
      `the history ${path} is locked by another process (another etagkit watch?); stop it or use another --db`,
    );
  if (/not a database|malformed|corrupt/i.test(message))
    return new HistoryError(
      `the history ${path} is corrupt (${message}); move it away to start a new one, or restore a backup`,
    );
  if (/unable to open|readonly|read-only|permission|cannot open/i.test(message))
    return new HistoryError(
      `cannot open the history ${path} (${message}); check the path and its permissions`,
    );
  return new HistoryError(`history ${path}: ${message}`);
}

interface WatchRow {
  id: number;
  definition: string;
  state: string;
  paused: number;
}

type CheckRow = Record<string, string | number | null>;

class SqliteHistory implements HistoryStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #statements = new Map<string, StatementSync>();
  #queue: { commit: CheckCommit; resolve(ok: boolean): void; reject(e: unknown): void }[] = [];
  #flushScheduled = false;
  #flushTimer: NodeJS.Timeout | undefined;
  #saves: {
    definition: WatchDefinition;
    initial: WatchState;
    resolve(w: StoredWatch): void;
    reject(e: unknown): void;
  }[] = [];
  #open = true;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
  }

  #sql(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `work` in a write transaction; SQLite errors become HistoryErrors. */
  #write<T>(work: () => T): T {
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = work();
        this.#sql(`UPDATE meta SET value = value + 1 WHERE key = 'revision'`).run();
        this.#db.exec('COMMIT');
        return result;
      } catch (error) {
        rollback(this.#db);
        throw error;
      }
    } catch (error) {
      throw explain(error, this.#path);
    }
  }

  #read<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(explain(error, this.#path));
    }
  }

  /** Saves of one event-loop turn share a transaction, so loading 100,000 watches takes one commit, not 100,000. */
  saveWatch(definition: WatchDefinition, initial: WatchState): Promise<StoredWatch> {
    return new Promise((resolve, reject) => {
      this.#saves.push({ definition, initial, resolve, reject });
      if (this.#saves.length === 1) setImmediate(() => this.#flushSaves());
    });
  }

  #flushSaves(): void {
    const batch = this.#saves;
    this.#saves = [];
    let saved: StoredWatch[];
    try {
      saved = this.#write(() =>
        batch.map(({ definition, initial }) => {
          this.#sql(
            `INSERT INTO watches (url, host, definition, state) VALUES (?, ?, ?, ?)
             ON CONFLICT (url) DO UPDATE SET definition = excluded.definition, paused = 0`,
          ).run(
            definition.url,
            new URL(definition.url).host,
            JSON.stringify(definition),
            JSON.stringify(initial),
          );
          return toWatch(
            this.#sql('SELECT id, definition, state, paused FROM watches WHERE url = ?').get(
              definition.url,
            ) as unknown as WatchRow,
          );
        }),
      );
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    for (const [i, item] of batch.entries()) item.resolve(saved[i]!);
  }

  async removeWatch(url: string): Promise<boolean> {
    return this.#write(() => Number(this.#sql('DELETE FROM watches WHERE url = ?').run(url).changes) > 0);
  }

  async setPaused(url: string, paused: boolean): Promise<boolean> {
    return this.#write(
      () =>
        Number(this.#sql('UPDATE watches SET paused = ? WHERE url = ?').run(paused ? 1 : 0, url).changes) > 0,
    );
  }

  watches(): Promise<StoredWatch[]> {
    // Row by row: 100,000 watches never sit in memory twice (rows and parsed objects).
    return this.#read(() => {
      const watches: StoredWatch[] = [];
      for (const row of this.#sql('SELECT id, definition, state, paused FROM watches ORDER BY id').iterate())
        watches.push(toWatch(row as unknown as WatchRow));
      return watches;
    });
  }

  watch(url: string): Promise<StoredWatch | undefined> {
    return this.#read(() => {
      const row = this.#sql('SELECT id, definition, state, paused FROM watches WHERE url = ?').get(url) as
        | WatchRow
        | undefined;
      return row && toWatch(row);
    });
  }

  commit(commit: CheckCommit): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ commit, resolve, reject });
      if (this.#queue.length >= GROUP_COMMIT_MAX) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        this.#flushTimer = setTimeout(() => this.#flush(), GROUP_COMMIT_MS);
      }
    });
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    let results: boolean[];
    try {
      results = this.#write(() => batch.map(({ commit }) => this.#commitOne(commit)));
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    for (const [i, item] of batch.entries()) item.resolve(results[i]!);
  }

  #commitOne({ watchId, event, rawDigest, state, snapshot, outbox }: CheckCommit): boolean {
    const inserted = this.#sql(
      `INSERT OR IGNORE INTO checks (watch_id, due_at, time, status, http_status, etag, last_modified, digest,
         raw_digest, detected_by, bytes, error, reason, version, truth, requests)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM watches WHERE id = ?)`,
    ).run(
      watchId,
      event.dueAt,
      event.time,
      event.status,
      event.httpStatus,
      event.etag,
      event.lastModified,
      event.digest,
      rawDigest ?? null,
      event.detectedBy,
      event.bytes,
      event.error,
      event.reason,
      event.version,
      event.truth ? 1 : 0,
      event.requests,
      watchId,
    );
    if (Number(inserted.changes) === 0) return false;
    if (snapshot) {
      const { encoding, bytes } =
        snapshot.text === undefined ? { encoding: 'none', bytes: null } : encodeSnapshotText(snapshot.text);
      this.#sql(
        'INSERT OR IGNORE INTO snapshots (digest, kind, size, encoding, content) VALUES (?, ?, ?, ?, ?)',
      ).run(snapshot.digest, snapshot.kind, snapshot.size, encoding, bytes);
    }
    this.#sql('UPDATE watches SET state = ? WHERE id = ?').run(JSON.stringify(state), watchId);
    const now = Date.parse(event.time);
    for (const { target, payload } of outbox)
      this.#sql('INSERT INTO outbox (target, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?)').run(
        target,
        payload,
        now,
        now,
      );
    return true;
  }

  hasSnapshot(digest: string): Promise<boolean> {
    return this.#read(() => this.#sql('SELECT 1 FROM snapshots WHERE digest = ?').get(digest) !== undefined);
  }

  snapshot(digest: string): Promise<Snapshot | undefined> {
    return this.#read(() => {
      const row = this.#sql(
        'SELECT digest, kind, size, encoding, content FROM snapshots WHERE digest = ?',
      ).get(digest) as
        | {
            digest: string;
            kind: Snapshot['kind'];
            size: number;
            encoding: string;
            content: Uint8Array | null;
          }
        | undefined;
      if (!row) return undefined;
      return {
        digest: row.digest,
        kind: row.kind,
        size: row.size,
        text: row.content === null ? undefined : decodeSnapshotText(row.encoding, row.content),
      };
    });
  }

  checks(url: string, options: { limit?: number; beforeId?: number } = {}): Promise<CheckRecord[]> {
    return this.#read(() =>
      (
        this.#sql(
          `SELECT ${CHECK_COLUMNS} FROM checks WHERE watch_id = (SELECT id FROM watches WHERE url = ?) AND id < ?
           ORDER BY id DESC LIMIT ?`,
        ).all(url, options.beforeId ?? Number.MAX_SAFE_INTEGER, options.limit ?? 100) as CheckRow[]
      ).map((row) => toCheck(row, url)),
    );
  }

  versions(url: string): Promise<VersionRef[]> {
    return this.#read(() =>
      this.#sql(
        `SELECT version, digest, MIN(time) AS time FROM checks
           WHERE watch_id = (SELECT id FROM watches WHERE url = ?) AND status IN ('new', 'changed')
           GROUP BY version ORDER BY version DESC`,
      )
        .all(url)
        .map((row) => ({ ...row }) as unknown as VersionRef),
    );
  }

  pendingNotifications(now: number, limit: number): Promise<OutboxEntry[]> {
    return this.#read(
      () =>
        this.#sql(
          `SELECT id, target, payload, attempts, created_at AS createdAt FROM outbox
           WHERE undeliverable = 0 AND next_attempt_at <= ? ORDER BY id LIMIT ?`,
        ).all(now, limit) as unknown as OutboxEntry[],
    );
  }

  nextNotificationAt(): Promise<number | undefined> {
    return this.#read(() => {
      const row = this.#sql(
        'SELECT MIN(next_attempt_at) AS at FROM outbox WHERE undeliverable = 0',
      ).get() as {
        at: number | null;
      };
      return row.at ?? undefined;
    });
  }

  async settleNotification(
    id: number,
    outcome: { delivered: true } | { retryAt: number | undefined; error: string },
  ): Promise<void> {
    this.#write(() => {
      if ('delivered' in outcome) this.#sql('DELETE FROM outbox WHERE id = ?').run(id);
      else
        this.#sql(
          `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, undeliverable = ?
           WHERE id = ?`,
        ).run(outcome.error, outcome.retryAt ?? 0, outcome.retryAt === undefined ? 1 : 0, id);
    });
  }

  async prune(policy: RetentionPolicy, now: number): Promise<{ checks: number; snapshots: number }> {
    const cutoff = new Date(now - policy.maxAgeMs).toISOString();
    return this.#write(() => {
      // The row that first saw a watch's current version stays, so its current content keeps a version number.
      const checks = Number(
        this.#sql(
          `DELETE FROM checks WHERE id IN (
             SELECT c.id FROM (
               SELECT id, watch_id, time, version, status,
                      ROW_NUMBER() OVER (PARTITION BY watch_id ORDER BY id DESC) AS n FROM checks) c
             JOIN watches w ON w.id = c.watch_id
             WHERE (c.n > ? OR c.time < ?)
               AND NOT (c.status IN ('new', 'changed') AND c.version = json_extract(w.state, '$.version')))`,
        ).run(policy.maxChecks, cutoff).changes,
      );
      const snapshots = Number(
        this.#sql(
          `DELETE FROM snapshots WHERE digest NOT IN (SELECT digest FROM checks WHERE digest IS NOT NULL)
             AND digest NOT IN (SELECT json_extract(state, '$.digest') FROM watches
                                WHERE json_extract(state, '$.digest') IS NOT NULL)`,
        ).run().changes,
      );
      return { checks, snapshots };
    });
  }

  revision(): Promise<number> {
    return this.#read(
      () => (this.#sql(`SELECT value FROM meta WHERE key = 'revision'`).get() as { value: number }).value,
    );
  }

  async close(): Promise<void> {
    if (this.#queue.length > 0) this.#flush();
    if (this.#open) this.#db.close();
    this.#open = false;
  }
}

/** Rolls back an open transaction, if any (isTransaction is not in every supported Node). */
function rollback(db: DatabaseSync | undefined): void {
  try {
    db?.exec('ROLLBACK');
  } catch {}
}

function toWatch(row: WatchRow): StoredWatch {
  return {
    id: row.id,
    definition: JSON.parse(row.definition),
    state: JSON.parse(row.state),
    paused: row.paused === 1,
  };
}

function toCheck(row: CheckRow, url: string): CheckRecord {
  return {
    id: row.id as number,
    time: row.time as string,
    url,
    status: row.status as CheckRecord['status'],
    httpStatus: row.http_status as number | null,
    etag: row.etag as string | null,
    lastModified: row.last_modified as string | null,
    digest: row.digest as string | null,
    detectedBy: row.detected_by as CheckRecord['detectedBy'],
    bytes: row.bytes as number,
    error: row.error as string | null,
    reason: row.reason as CheckRecord['reason'],
    version: row.version as number,
    truth: row.truth === 1,
    requests: row.requests as number,
    dueAt: row.due_at as number,
  };
}
