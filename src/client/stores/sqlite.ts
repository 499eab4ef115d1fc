/**
 * A persistent cache store in one SQLite file, with Node's built-in `node:sqlite` (no native build).
 *
 * - WAL mode and `synchronous=NORMAL`: readers never wait for the writer, commits do not fsync each time; the WAL
 *   is checkpointed every ~4 MB and cut back to 8 MiB after a checkpoint (sqlite-schema.ts).
 * - Writes are off the hot path and come in small transactions: `put` queues the entry, and queued puts are
 *   written on `setImmediate`, at most BATCH_PUTS entries or BATCH_BYTES bytes per transaction; reads see queued
 *   entries at once. SQLite runs synchronously, so keeping every transaction small keeps the event loop moving.
 * - Approximate LRU with bounded touches: a hit records the entry's access time, written with the next
 *   transaction (or within TOUCH_DELAY_MS), at most BATCH_TOUCHES per transaction and at most once per
 *   TOUCH_INTERVAL_MS per entry; past MAX_PENDING_TOUCHES waiting, further hits are not recorded.
 * - `maxBytes` bounds the payload: once a transaction takes the total above it, the least recently used entries
 *   are evicted, EVICT_STEP per transaction, down to a low-water mark a little below it, so that the next puts
 *   find room without evicting again. Eviction reads sizes and access times from an index, never a body.
 * - Leases live in the file too, so several processes sharing it revalidate a key one at a time.
 * - A corrupt, locked or unwritable file never throws synchronously: every method returns a rejected promise,
 *   which the client turns into a fall-through to the origin. A row that does not decode is a miss, and goes.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { CacheStore, StoredResponse } from '../store.ts';
import { metaOf, parseMeta } from './meta.ts';
import { openSchema, type Statements } from './sqlite-schema.ts';

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
/** Most puts, and bytes of bodies, written in one transaction (one put larger than that goes alone). */
const BATCH_PUTS = 64;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Most recorded accesses written in one transaction, and waiting to be. */
const BATCH_TOUCHES = 256;
const MAX_PENDING_TOUCHES = 4096;
/** An entry's access is written at most once per interval: between two writes it only grows more recent. */
const TOUCH_INTERVAL_MS = 60_000;
/** Longest a recorded access waits before it is written, when no put comes along. */
const TOUCH_DELAY_MS = 250;
/** Most entries evicted in one transaction. */
const EVICT_STEP = 128;
/** Eviction goes this far below maxBytes: a 32nd of it, at most 4 MiB. */
const lowWaterMark = (maxBytes: number) => maxBytes - Math.min(maxBytes / 32, 4 * 1024 * 1024);

/** An entry waiting to be written, with its metadata column already encoded. */
interface Queued {
  entry: StoredResponse;
  meta: string;
  size: number;
}

/** One queued write of a variant: an entry, or its removal (`queued` null). Compared by identity. */
interface Write {
  key: string;
  variant: string;
  queued: Queued | null;
}

/** The writes of one transaction, and its promise, settled when it commits or fails. */
interface Batch {
  writes: Write[];
  bytes: number;
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

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
  /** The latest queued write of each key and variant: what a read sees before it is in the file. */
  #pending = new Map<string, Map<string, Write>>();
  #batches: Batch[] = [];
  /** Recorded accesses not yet written (entry id → access time), oldest first. */
  #touched = new Map<number, number>();
  /** When each recently touched entry's access was last recorded (bounded; cleared when full). */
  #recorded = new Map<number, number>();
  #evicting = false;
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
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
    const rows = sql.select.all(key) as { id: number; variant: string; meta: string; body: Uint8Array }[];
    const found: StoredResponse[] = [];
    if (queued) {
      // Queued puts are newer than anything in the file; the latest put is last in the map.
      for (const write of [...queued.values()].reverse()) if (write.queued) found.push(write.queued.entry);
    }
    for (const row of rows) {
      if (queued?.has(row.variant)) continue;
      const entry = fromRow(key, row);
      if (!entry) {
        this.#queue({ key, variant: row.variant, queued: null }); // not written by this store: a miss, and it goes
        continue;
      }
      found.push(entry);
      this.#touch(row.id);
    }
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
    const queued = size > this.#maxBytes ? null : { entry, meta, size };
    return this.#queue({ key: entry.key, variant: entry.variant, queued });
  }

  async delete(key: string): Promise<void> {
    const sql = this.#open();
    this.#pending.delete(key); // queued writes of the key are skipped when their batch runs
    sql.deleteKey.run(key);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const sql = this.#open();
    while (this.#batches.length) this.#step(); // queued writes first, so that they are purged too
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

  /** Writes everything queued and finishes eviction, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearImmediate(this.#immediate);
    clearTimeout(this.#timer);
    try {
      while (this.#db && (this.#batches.length || this.#touched.size || this.#evicting)) this.#step();
      this.#db?.exec('PRAGMA wal_checkpoint(TRUNCATE)');
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
      this.#sql = openSchema(db, this.#path, this.#busyTimeoutMs);
      this.#db = db;
      return this.#sql;
    } catch (error) {
      db.close();
      throw withPath(error, this.#path);
    }
  }

  /** Queues one write in the last batch that has room, or a new one; resolves when its transaction commits. */
  #queue(write: Write): Promise<void> {
    let variants = this.#pending.get(write.key);
    if (!variants) {
      variants = new Map();
      this.#pending.set(write.key, variants);
    }
    variants.delete(write.variant); // re-insert so that map order stays "oldest put first"
    variants.set(write.variant, write);
    const bytes = write.queued?.size ?? 0;
    let batch = this.#batches.at(-1);
    if (
      !batch ||
      batch.writes.length >= BATCH_PUTS ||
      (batch.bytes > 0 && batch.bytes + bytes > BATCH_BYTES)
    ) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {}); // a removal queued by a read has no caller to report to
      batch = { writes: [], bytes: 0, promise, resolve, reject };
      this.#batches.push(batch);
    }
    batch.writes.push(write);
    batch.bytes += bytes;
    this.#schedule(true);
    return batch.promise;
  }

  /** Records an access to entry `id` for LRU, unless it was recorded recently or too many are waiting. */
  #touch(id: number): void {
    const now = Date.now();
    const last = this.#recorded.get(id);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    if (this.#touched.size >= MAX_PENDING_TOUCHES && !this.#touched.has(id)) return;
    if (this.#recorded.size >= 16 * MAX_PENDING_TOUCHES) this.#recorded.clear();
    this.#recorded.set(id, now);
    this.#touched.delete(id);
    this.#touched.set(id, this.#tick());
    this.#schedule(false);
  }

  /** A strictly increasing access clock, in µs since the epoch so that processes sharing the file agree. */
  #tick(): number {
    this.#clock = Math.max(Date.now() * 1000, this.#clock + 1);
    return this.#clock;
  }

  /**
   * Runs a transaction soon: on the next turn of the event loop for puts and eviction (`urgent`), within
   * TOUCH_DELAY_MS (without keeping the process alive) for recorded accesses alone.
   */
  #schedule(urgent: boolean): void {
    if (this.#immediate || this.#closed) return;
    if (urgent) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        this.#step();
      });
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#step();
      }, TOUCH_DELAY_MS).unref();
    }
  }

  /**
   * One transaction: the first queued batch, up to BATCH_TOUCHES recorded accesses, and up to EVICT_STEP evicted
   * entries when the store is above maxBytes (or still on its way down to the low-water mark). Schedules the
   * next one while work remains.
   */
  #step(): void {
    const batch = this.#batches.shift();
    try {
      this.#write(batch?.writes ?? []);
      batch?.resolve();
    } catch (error) {
      batch?.reject(withPath(error, this.#path));
    }
    if (this.#batches.length || this.#evicting) this.#schedule(true);
    else if (this.#touched.size) this.#schedule(false);
  }

  #write(writes: Write[]): void {
    const sql = this.#sql;
    const db = this.#db;
    if (!sql || !db) return; // never opened: put() opens first, so nothing can be queued
    const touches: [number, number][] = [];
    for (const touch of this.#touched) {
      if (touches.length >= BATCH_TOUCHES) break;
      touches.push(touch);
    }
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const write of writes) {
        const variants = this.#pending.get(write.key);
        if (variants?.get(write.variant) !== write) continue; // replaced by a later write, or deleted
        variants.delete(write.variant);
        if (variants.size === 0) this.#pending.delete(write.key);
        sql.deleteVariant.run(write.key, write.variant);
        const q = write.queued;
        if (!q) continue;
        const { lastInsertRowid } = sql.insert.run(write.key, write.variant, q.meta, q.entry.body);
        sql.insertLru.run(lastInsertRowid, this.#tick(), q.size);
      }
      for (const [id, atime] of touches) sql.touch.run(atime, id);
      sql.dropExpiredLeases.run(Date.now()); // leases of holders that never released them
      let { bytes } = sql.usage.get() as { bytes: number };
      if (bytes > this.#maxBytes) this.#evicting = true;
      if (this.#evicting) {
        const low = lowWaterMark(this.#maxBytes);
        sql.evict.run({ most: EVICT_STEP, bytes: bytes - low });
        ({ bytes } = sql.usage.get() as { bytes: number });
        this.#evicting = bytes > low;
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    } finally {
      for (const [id] of touches) this.#touched.delete(id); // written, or lost with a failed transaction
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
