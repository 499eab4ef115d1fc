/**
 * A persistent cache store in one SQLite file, with Node's built-in `node:sqlite` (no native build).
 *
 * - WAL mode and `synchronous=NORMAL`: readers never wait for the writer, commits do not fsync each time.
 * - Writes are off the hot path: `put` queues the entry and every put of one turn of the event loop is written in
 *   a single transaction on `setImmediate`; reads see queued entries at once. A read only records its access
 *   for LRU, written with the next batch or within TOUCH_DELAY_MS, so a stream of hits makes few write
 *   transactions.
 * - `maxBytes` bounds the file's payload: least-recently-used variants are evicted after each batch.
 * - Leases live in the file too, so several processes sharing it revalidate a key one at a time.
 * - A corrupt, locked or unwritable file never throws synchronously: every method returns a rejected promise,
 *   which the client turns into a fall-through to the origin.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { CacheStore, StoredResponse } from '../store.ts';
import { metaOf, parseMeta } from './meta.ts';

export interface SqliteStoreOptions {
  /** Upper bound on stored bytes (bodies + metadata); least-recently-used variants go first. Default 256 MiB. */
  maxBytes?: number;
  /**
   * How long a statement waits for another connection's lock before failing with "database is locked".
   * SQLite waits synchronously, so keep it short. Default 100 ms.
   */
  busyTimeoutMs?: number;
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
const SCHEMA_VERSION = 1;
/** Longest a recorded access (for LRU) waits before it is written, when no put comes along. */
const TOUCH_DELAY_MS = 250;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  key TEXT NOT NULL,
  variant TEXT NOT NULL,
  meta TEXT NOT NULL,
  body BLOB NOT NULL,
  size INTEGER NOT NULL,
  atime INTEGER NOT NULL,
  PRIMARY KEY (key, variant)
);
CREATE INDEX IF NOT EXISTS entries_atime ON entries (atime);
CREATE TABLE IF NOT EXISTS usage (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL);
INSERT OR IGNORE INTO usage (id, bytes) VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS entries_added AFTER INSERT ON entries
  BEGIN UPDATE usage SET bytes = bytes + NEW.size WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS entries_removed AFTER DELETE ON entries
  BEGIN UPDATE usage SET bytes = bytes - OLD.size WHERE id = 0; END;
CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, token TEXT NOT NULL, expires INTEGER NOT NULL);
`;

interface Statements {
  select: StatementSync;
  insert: StatementSync;
  deleteVariant: StatementSync;
  deleteKey: StatementSync;
  countPrefix: StatementSync;
  deletePrefix: StatementSync;
  touch: StatementSync;
  usage: StatementSync;
  evict: StatementSync;
  takeLease: StatementSync;
  releaseLease: StatementSync;
  dropExpiredLeases: StatementSync;
}

/** An entry waiting for the next batch, with its metadata column already encoded. */
interface Queued {
  entry: StoredResponse;
  meta: string;
  size: number;
}

/** The next write transaction: settled when it commits or fails. */
interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
  immediate?: NodeJS.Immediate | undefined;
  timer?: NodeJS.Timeout | undefined;
}

/** Queued writes of one key: variant → entry to store, or null to remove that variant. */
type PendingVariants = Map<string, Queued | null>;

/**
 * Opens (lazily, on first use) a SQLite cache store at `path`, creating its directory now if it is missing
 * (throws when that is impossible, e.g. a parent is a file or not writable).
 *
 * @example
 * import { createFetch, sqliteStore } from 'etagkit/client';
 * const fetch = createFetch({ store: sqliteStore('./.cache/http.db', { maxBytes: 100 * 1024 * 1024 }) });
 */
export function sqliteStore(path: string, options: SqliteStoreOptions = {}): CacheStore {
  return new SqliteStore(path, options);
}

class SqliteStore implements CacheStore {
  /** Entries are seen by every process using the same file: revalidations take the lease. */
  readonly shared = true;
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #busyTimeoutMs: number;
  #db: DatabaseSync | undefined;
  #sql: Statements | undefined;
  #closed = false;
  #pending = new Map<string, PendingVariants>();
  #touched = new Map<string, number>();
  #batch: Batch | undefined;
  #leases = new Map<string, string>();
  #clock = 0;

  constructor(path: string, options: SqliteStoreOptions) {
    this.#path = path;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 100;
    if (!(this.#maxBytes > 0))
      throw new RangeError(`sqliteStore: maxBytes must be > 0, got ${options.maxBytes}`);
    if (path !== ':memory:' && path !== '') {
      // SQLite creates the file but not its directory; a store that could never open would only miss.
      const dir = dirname(path);
      try {
        mkdirSync(dir, { recursive: true });
      } catch (error) {
        throw new Error(
          `sqliteStore(${path}): cannot create the directory ${dir}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  }

  async get(key: string): Promise<StoredResponse[]> {
    const sql = this.#open();
    const queued = this.#pending.get(key);
    const rows = sql.select.all(key) as { variant: string; meta: string; body: Uint8Array }[];
    const found: StoredResponse[] = [];
    if (queued) {
      // Queued puts are newer than anything in the file; the latest put is last in the map.
      for (const q of [...queued.values()].reverse()) if (q) found.push(q.entry);
    }
    for (const row of rows) {
      if (queued?.has(row.variant)) continue;
      const entry = fromRow(key, row);
      if (entry) found.push(entry);
      else this.#queue(key, row.variant, null); // not written by this store: a miss, and it goes
    }
    if (rows.length > 0) this.#touch(key);
    // Newest response first; the sort is stable, so equal times stay in put order (latest first).
    return found.sort(newestFirst);
  }

  put(entry: StoredResponse): Promise<void> {
    try {
      this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    const meta = JSON.stringify(metaOf(entry));
    const size = entry.body.byteLength + meta.length + entry.key.length + entry.variant.length;
    // An entry that alone exceeds maxBytes is not kept; it still replaces (removes) the older variant.
    return this.#queue(entry.key, entry.variant, size > this.#maxBytes ? null : { entry, meta, size });
  }

  /** Queues the write of one variant (null: its removal) for the next batch. */
  #queue(key: string, variant: string, write: Queued | null): Promise<void> {
    let queued = this.#pending.get(key);
    if (!queued) {
      queued = new Map();
      this.#pending.set(key, queued);
    }
    queued.delete(variant); // re-insert so that map order stays "oldest put first"
    queued.set(variant, write);
    return this.#schedule(true);
  }

  async delete(key: string): Promise<void> {
    const sql = this.#open();
    this.#pending.delete(key);
    this.#touched.delete(key);
    sql.deleteKey.run(key);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const sql = this.#open();
    this.#runBatch(); // queued writes first, so that they are purged too
    const { n } = sql.countPrefix.get(prefix) as { n: number };
    sql.deletePrefix.run(prefix);
    return Number(n);
  }

  async lease(key: string, ttlMs: number): Promise<boolean> {
    const sql = this.#open();
    const token = crypto.randomUUID();
    const now = Date.now();
    const { changes } = sql.takeLease.run(key, token, now + ttlMs, now);
    if (Number(changes) !== 1) return false;
    this.#leases.set(key, token);
    return true;
  }

  async release(key: string): Promise<void> {
    const sql = this.#open();
    const token = this.#leases.get(key);
    if (token === undefined) return;
    this.#leases.delete(key);
    sql.releaseLease.run(key, token);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#runBatch();
    } finally {
      this.#db?.close();
      this.#db = undefined;
      this.#sql = undefined;
    }
  }

  /** The open database's statements; opens the file (again, after an earlier failure) when needed. */
  #open(): Statements {
    if (this.#closed) throw new Error(`sqliteStore(${this.#path}): the store is closed`);
    if (this.#sql) return this.#sql;
    const db = new (sqlite().DatabaseSync)(this.#path);
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(this.#busyTimeoutMs))}`);
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
      if (version > SCHEMA_VERSION) {
        throw new Error(
          `sqliteStore(${this.#path}): schema version ${version} is newer than this etagkit understands ` +
            `(${SCHEMA_VERSION}); use a newer etagkit or another file`,
        );
      }
      db.exec(`BEGIN IMMEDIATE; ${SCHEMA} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT`);
      this.#sql = prepare(db);
      this.#db = db;
      return this.#sql;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      db.close();
      throw withPath(error, this.#path);
    }
  }

  /** Records an access for LRU; written with the next batch. */
  #touch(key: string): void {
    this.#touched.delete(key);
    this.#touched.set(key, this.#tick());
    void this.#schedule(false);
  }

  /** A strictly increasing access clock, in µs since the epoch so that processes sharing the file agree. */
  #tick(): number {
    this.#clock = Math.max(Date.now() * 1000, this.#clock + 1);
    return this.#clock;
  }

  /**
   * Promise of the next batch commit. Puts (`urgent`) are written on the next turn of the event loop; a batch
   * of touches alone waits up to TOUCH_DELAY_MS (without keeping the process alive) for company.
   */
  #schedule(urgent: boolean): Promise<void> {
    let batch = this.#batch;
    if (!batch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {}); // touches alone have no caller to report to
      batch = { promise, resolve, reject };
      this.#batch = batch;
    }
    if (urgent && !batch.immediate) {
      clearTimeout(batch.timer);
      batch.timer = undefined;
      batch.immediate = setImmediate(() => this.#runBatch());
    } else if (!urgent && !batch.immediate && !batch.timer) {
      batch.timer = setTimeout(() => this.#runBatch(), TOUCH_DELAY_MS).unref();
    }
    return batch.promise;
  }

  /** Writes the queued batch, if any (close() writes it early), and settles its promise. */
  #runBatch(): void {
    const batch = this.#batch;
    if (!batch) return;
    this.#batch = undefined;
    clearTimeout(batch.timer);
    clearImmediate(batch.immediate);
    try {
      this.#flush();
      batch.resolve();
    } catch (error) {
      batch.reject(withPath(error, this.#path));
    }
  }

  /** Writes queued puts and touches in one transaction, then evicts down to maxBytes. */
  #flush(): void {
    const pending = this.#pending;
    const touched = this.#touched;
    this.#pending = new Map();
    this.#touched = new Map();
    const sql = this.#sql;
    const db = this.#db;
    if (!sql || !db) return; // never opened: put() opens first, so nothing can be queued
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const [key, variants] of pending) {
        for (const [variant, q] of variants) {
          sql.deleteVariant.run(key, variant);
          if (q) sql.insert.run(key, variant, q.meta, q.entry.body, q.size, touched.get(key) ?? this.#tick());
        }
        touched.delete(key);
      }
      for (const [key, atime] of touched) sql.touch.run(atime, key);
      sql.dropExpiredLeases.run(Date.now()); // leases of holders that never released them
      const { bytes } = sql.usage.get() as { bytes: number };
      if (bytes > this.#maxBytes) sql.evict.run(this.#maxBytes);
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }
}

/**
 * `node:sqlite`, loaded on first use rather than imported, so that `etagkit/client` still loads where it is
 * missing (Node 22.12 has it only behind --experimental-sqlite) for users of the other stores.
 */
function sqlite(): typeof import('node:sqlite') {
  const module = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite') | undefined;
  if (!module) {
    throw new Error(
      `sqliteStore: this Node.js (${process.version}) has no node:sqlite; use Node >= 22.13, or ` +
        '--experimental-sqlite on 22.12',
    );
  }
  return module;
}

function prepare(db: DatabaseSync): Statements {
  return {
    select: db.prepare('SELECT variant, meta, body FROM entries WHERE key = ? ORDER BY rowid DESC'),
    insert: db.prepare(
      'INSERT INTO entries (key, variant, meta, body, size, atime) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteVariant: db.prepare('DELETE FROM entries WHERE key = ? AND variant = ?'),
    deleteKey: db.prepare('DELETE FROM entries WHERE key = ?'),
    countPrefix: db.prepare(
      'SELECT COUNT(DISTINCT key) AS n FROM entries WHERE substr(key, 1, length(?1)) = ?1',
    ),
    deletePrefix: db.prepare('DELETE FROM entries WHERE substr(key, 1, length(?1)) = ?1'),
    touch: db.prepare('UPDATE entries SET atime = ? WHERE key = ?'),
    usage: db.prepare('SELECT bytes FROM usage WHERE id = 0'),
    // Keep the most recently used rows whose sizes add up to at most maxBytes; delete the rest.
    evict: db.prepare(
      `DELETE FROM entries WHERE rowid IN (
         SELECT rowid FROM (
           SELECT rowid, SUM(size) OVER (ORDER BY atime DESC, rowid DESC) AS running FROM entries
         ) WHERE running > ?)`,
    ),
    // Take the lease when nobody holds it or the holder's lease has expired.
    takeLease: db.prepare(
      `INSERT INTO leases (key, token, expires) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires = excluded.expires
       WHERE leases.expires <= ?`,
    ),
    releaseLease: db.prepare('DELETE FROM leases WHERE key = ? AND token = ?'),
    dropExpiredLeases: db.prepare('DELETE FROM leases WHERE expires <= ?'),
  };
}

function newestFirst(a: StoredResponse, b: StoredResponse): number {
  return b.responseTime - a.responseTime;
}

/** The entry in a row, or undefined when its metadata is not what this store writes. */
function fromRow(
  key: string,
  row: { variant: string; meta: string; body: Uint8Array },
): StoredResponse | undefined {
  const meta = parseMeta(row.meta);
  if (meta === undefined) return undefined;
  const { status, headers, varyHeaders, requestTime, responseTime } = meta;
  return {
    key,
    variant: row.variant,
    status,
    headers,
    varyHeaders,
    body: row.body,
    requestTime,
    responseTime,
  };
}

/** SQLite's messages ("file is not a database", "database is locked") do not name the file: add it. */
function withPath(error: unknown, path: string): unknown {
  if (error instanceof Error && !error.message.includes(path)) {
    error.message = `sqliteStore(${path}): ${error.message}`;
  }
  return error;
}
