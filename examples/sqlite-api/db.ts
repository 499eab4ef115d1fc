/**
 * The users table on the built-in `node:sqlite`, for examples/users-db/routes.ts: the same statements as
 * examples/postgres-api/db.ts, with `updated_at` kept as integer milliseconds. WAL mode lets several processes
 * share the file; the writes carry their own precondition (`AND updated_at = ?`), so none of them can overwrite
 * a change another one made after its If-Match was checked.
 */
import { DatabaseSync } from 'node:sqlite';
import { PAGE, type User, type UsersDb, userOf } from '../users-db/routes.ts';

const COLUMNS = 'id, name, email, visits, updated_at';
/** The clock in whole milliseconds. */
const NOW = "CAST(round(unixepoch('subsec') * 1000) AS INTEGER)";
/** A strictly later millisecond on every write, as in the PostgreSQL example. */
const NEXT_VERSION = `max(${NOW}, updated_at + 1)`;

/**
 * Opens (or creates) the database file, with its table, index and two users when empty.
 *
 * @example
 * const { db, close } = openUsers('./users.db');
 */
export function openUsers(path: string): { db: UsersDb; close(): void } {
  const sqlite = new DatabaseSync(path);
  sqlite.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000');
  sqlite.exec('BEGIN IMMEDIATE'); // one process at a time creates and seeds
  try {
    sqlite.exec(`CREATE TABLE IF NOT EXISTS users (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      email TEXT NOT NULL,
      visits INTEGER NOT NULL DEFAULT 0 CHECK (visits >= 0),
      updated_at INTEGER NOT NULL DEFAULT (${NOW})
    );
    CREATE INDEX IF NOT EXISTS users_updated_at_id ON users (updated_at, id);
    INSERT INTO users (name, email)
      SELECT * FROM (VALUES ('Ada', 'ada@example.com'), ('Grace', 'grace@example.com'))
      WHERE NOT EXISTS (SELECT 1 FROM users);`);
    sqlite.exec('COMMIT');
  } catch (error) {
    sqlite.exec('ROLLBACK');
    throw error;
  }
  const statements = {
    updatedAt: sqlite.prepare('SELECT updated_at FROM users WHERE id = ?'),
    get: sqlite.prepare(`SELECT ${COLUMNS} FROM users WHERE id = ?`),
    pageVersion: sqlite.prepare(
      `SELECT max(updated_at) AS newest, count(*) AS count FROM (
         SELECT updated_at FROM users WHERE updated_at > ? ORDER BY updated_at, id LIMIT ${PAGE})`,
    ),
    list: sqlite.prepare(
      `SELECT ${COLUMNS} FROM users WHERE updated_at > ? ORDER BY updated_at, id LIMIT ${PAGE}`,
    ),
    create: sqlite.prepare(`INSERT INTO users (name, email) VALUES (?, ?) RETURNING ${COLUMNS}`),
    update: sqlite.prepare(
      `UPDATE users SET name = coalesce(?, name), email = coalesce(?, email), visits = coalesce(?, visits),
         updated_at = ${NEXT_VERSION}
       WHERE id = ? AND updated_at = ? RETURNING ${COLUMNS}`,
    ),
    remove: sqlite.prepare('DELETE FROM users WHERE id = ? AND updated_at = ?'),
  };
  const since = (date: Date | undefined) => date?.getTime() ?? -1;
  const db: UsersDb = {
    async updatedAt(id) {
      const row = statements.updatedAt.get(id);
      return row ? new Date(row.updated_at as number) : undefined;
    },
    async get(id) {
      const row = statements.get.get(id);
      return row && toUser(row);
    },
    async pageVersion(after) {
      const row = statements.pageVersion.get(since(after))!;
      return {
        newest: row.newest === null ? undefined : new Date(row.newest as number),
        count: row.count as number,
      };
    },
    async list(after) {
      return statements.list.all(since(after)).map(toUser);
    },
    async create(user) {
      return toUser(statements.create.get(user.name, user.email)!);
    },
    async update(id, version, patch) {
      const row = statements.update.get(
        patch.name ?? null,
        patch.email ?? null,
        patch.visits ?? null,
        id,
        version.getTime(),
      );
      return row && toUser(row);
    },
    async remove(id, version) {
      return statements.remove.run(id, version.getTime()).changes === 1;
    },
  };
  return { db, close: () => sqlite.close() };
}

function toUser(row: Record<string, unknown>): User {
  return userOf(row, new Date(row.updated_at as number));
}
