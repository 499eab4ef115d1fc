/**
 * The SQLite store's file: its schema, the settings each connection applies, and the statements it runs.
 *
 * Sizes and access times live in a table of their own (`lru`), apart from the bodies: eviction reads them in
 * access-time order from an index, and a hit rewrites one small row, never a page that holds a body. A single row
 * (`usage`) keeps the running total, so that knowing whether to evict reads nothing else.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';

/**
 * Version 2 moved sizes and access times out of the entry rows. A version-1 file is emptied when first opened by
 * this version: a cache may be dropped, and copying it would block the process for as long as the copy takes.
 */
export const SCHEMA_VERSION = 2;

/**
 * The WAL is checkpointed by the committing connection once it holds WAL_AUTOCHECKPOINT_PAGES pages (SQLite's
 * default), and when it is restarted after a checkpoint its file is cut back to JOURNAL_SIZE_LIMIT bytes, so that
 * one large transaction does not leave a large file behind.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 1000;
export const JOURNAL_SIZE_LIMIT = 8 * 1024 * 1024;

const SCHEMA = `
CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  variant TEXT NOT NULL,
  meta TEXT NOT NULL,
  body BLOB NOT NULL
);
CREATE UNIQUE INDEX entries_key ON entries (key, variant);
CREATE TABLE lru (id INTEGER PRIMARY KEY, atime INTEGER NOT NULL, size INTEGER NOT NULL);
CREATE INDEX lru_atime ON lru (atime);
CREATE TABLE usage (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL, entries INTEGER NOT NULL);
INSERT INTO usage (id, bytes, entries) VALUES (0, 0, 0);
CREATE TRIGGER lru_added AFTER INSERT ON lru
  BEGIN UPDATE usage SET bytes = bytes + NEW.size, entries = entries + 1 WHERE id = 0; END;
CREATE TRIGGER lru_removed AFTER DELETE ON lru
  BEGIN UPDATE usage SET bytes = bytes - OLD.size, entries = entries - 1 WHERE id = 0; END;
CREATE TRIGGER entries_removed AFTER DELETE ON entries
  BEGIN DELETE FROM lru WHERE id = OLD.id; END;
CREATE TABLE leases (key TEXT PRIMARY KEY, token TEXT NOT NULL, expires INTEGER NOT NULL);
`;

/** Every table, index and trigger of any version, dropped when an older file is reset. */
const DROP_ALL = `
DROP TRIGGER IF EXISTS entries_added; DROP TRIGGER IF EXISTS entries_removed;
DROP TRIGGER IF EXISTS lru_added; DROP TRIGGER IF EXISTS lru_removed;
DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS lru; DROP TABLE IF EXISTS usage; DROP TABLE IF EXISTS leases;
`;

export interface Statements {
  select: StatementSync;
  insert: StatementSync;
  insertLru: StatementSync;
  deleteVariant: StatementSync;
  deleteKey: StatementSync;
  /** Keys starting with `?1`: how many, and deleting them (with every variant). */
  countPrefix: StatementSync;
  deletePrefix: StatementSync;
  touch: StatementSync;
  usage: StatementSync;
  /**
   * Deletes least recently used entries, oldest first, until `:bytes` bytes are freed or `:most` entries are
   * gone (their lru rows go with them, by trigger). Reads only the lru index and rows.
   */
  evict: StatementSync;
  takeLease: StatementSync;
  releaseLease: StatementSync;
  dropExpiredLeases: StatementSync;
}

/**
 * Applies the connection settings and brings the file to SCHEMA_VERSION (creating it, or resetting an older one);
 * throws when the file is newer than this code.
 */
export function openSchema(db: DatabaseSync, path: string, busyTimeoutMs: number): Statements {
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL'); // in WAL mode: no fsync per commit, only at checkpoints
  db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  db.exec(`PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
  const version = () => (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (version() !== SCHEMA_VERSION) {
    db.exec('BEGIN IMMEDIATE');
    try {
      const current = version(); // again, now that no other connection can change it
      if (current > SCHEMA_VERSION) {
        throw new Error(
          `sqliteStore(${path}): schema version ${current} is newer than this etagkit understands ` +
            `(${SCHEMA_VERSION}); use a newer etagkit or another file`,
        );
      }
      if (current < SCHEMA_VERSION) db.exec(`${DROP_ALL} ${SCHEMA} PRAGMA user_version = ${SCHEMA_VERSION};`);
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }
  return prepare(db);
}

function prepare(db: DatabaseSync): Statements {
  return {
    select: db.prepare('SELECT id, variant, meta, body FROM entries WHERE key = ? ORDER BY id DESC'),
    insert: db.prepare('INSERT INTO entries (key, variant, meta, body) VALUES (?, ?, ?, ?)'),
    insertLru: db.prepare('INSERT INTO lru (id, atime, size) VALUES (?, ?, ?)'),
    deleteVariant: db.prepare('DELETE FROM entries WHERE key = ? AND variant = ?'),
    deleteKey: db.prepare('DELETE FROM entries WHERE key = ?'),
    countPrefix: db.prepare(
      'SELECT COUNT(DISTINCT key) AS n FROM entries WHERE substr(key, 1, length(?1)) = ?1',
    ),
    deletePrefix: db.prepare('DELETE FROM entries WHERE substr(key, 1, length(?1)) = ?1'),
    touch: db.prepare('UPDATE lru SET atime = ? WHERE id = ?'),
    usage: db.prepare('SELECT bytes FROM usage WHERE id = 0'),
    evict: db.prepare(
      `DELETE FROM entries WHERE id IN (
         SELECT id FROM (
           SELECT id, size, SUM(size) OVER (ORDER BY atime ROWS UNBOUNDED PRECEDING) AS freed
           FROM (SELECT id, size, atime FROM lru ORDER BY atime LIMIT :most)
         ) WHERE freed - size < :bytes)`,
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
