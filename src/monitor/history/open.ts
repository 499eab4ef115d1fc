/** Opens the history a `--db` value names: a PostgreSQL URL, or a SQLite file path. */
import { isPostgresUrl, postgresHistory } from './postgres.ts';
import { sqliteHistory } from './sqlite.ts';
import type { HistoryStore } from './store.ts';

export function openHistory(db: string, options: { readOnly?: boolean } = {}): Promise<HistoryStore> {
  return isPostgresUrl(db) ? postgresHistory(db, options) : sqliteHistory(db, options);
}

/** The `--db` value as shown in messages: a PostgreSQL URL without its password. */
export function historyName(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const url = new URL(db);
    url.password = '';
    return url.href;
  } catch {
    return 'the PostgreSQL history';
  }
}
