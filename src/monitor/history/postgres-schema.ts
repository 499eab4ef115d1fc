/** The PostgreSQL history's tables, and PostgreSQL's errors turned into what a user can act on. */
import { HistoryError } from './store.ts';

/** The schema version this code writes; a history with a higher one was written by a newer etagkit. */
export const SCHEMA_VERSION = 1;

/** Creates whatever is missing, in one transaction under an advisory lock (postgres.ts). */
export function schemaSql(s: string, revisionShards: number): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.meta (key text PRIMARY KEY, value bigint NOT NULL);
INSERT INTO ${s}.meta (key, value) VALUES ('schema', ${SCHEMA_VERSION}) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS ${s}.revision (shard int PRIMARY KEY, value bigint NOT NULL);
INSERT INTO ${s}.revision SELECT g, 0 FROM generate_series(0, ${revisionShards - 1}) g ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS ${s}.watches (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  url text NOT NULL UNIQUE,
  host text NOT NULL,
  definition jsonb NOT NULL,
  state jsonb NOT NULL,
  paused boolean NOT NULL DEFAULT false,
  -- The schedule, readable by due time: written by the check that set it (the state), never separately.
  next_due_at bigint GENERATED ALWAYS AS (floor((state->>'nextDueAt')::float8)::bigint) STORED,
  -- The due time a fleet scheduler last enqueued (its BullMQ job id is made from the watch and this time).
  queued_due_at bigint
);
CREATE INDEX IF NOT EXISTS watches_to_queue ON ${s}.watches (next_due_at)
  WHERE NOT paused AND queued_due_at IS DISTINCT FROM next_due_at;
CREATE INDEX IF NOT EXISTS watches_due ON ${s}.watches (next_due_at) WHERE NOT paused;
CREATE INDEX IF NOT EXISTS watches_digest ON ${s}.watches ((state->>'digest'));
CREATE TABLE IF NOT EXISTS ${s}.checks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  watch_id bigint NOT NULL REFERENCES ${s}.watches (id) ON DELETE CASCADE,
  due_at bigint NOT NULL,
  time text NOT NULL,
  status text NOT NULL,
  http_status int,
  etag text,
  last_modified text,
  digest text,
  raw_digest text,
  detected_by text,
  bytes bigint NOT NULL,
  error text,
  reason text,
  version int NOT NULL,
  truth boolean NOT NULL,
  requests int NOT NULL,
  UNIQUE (watch_id, due_at)
);
CREATE INDEX IF NOT EXISTS checks_version ON ${s}.checks (watch_id, version) WHERE status IN ('new', 'changed');
CREATE INDEX IF NOT EXISTS checks_digest ON ${s}.checks (digest) WHERE digest IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${s}.snapshots (
  digest text PRIMARY KEY,
  kind text NOT NULL,
  size bigint NOT NULL,
  encoding text NOT NULL,
  content bytea
);
CREATE TABLE IF NOT EXISTS ${s}.outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  target text NOT NULL,
  payload text NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  created_at bigint NOT NULL,
  last_error text,
  undeliverable boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS outbox_due ON ${s}.outbox (next_attempt_at) WHERE NOT undeliverable;`;
}

/** PostgreSQL's errors, as a user can act on them; `where` names the server, database and schema (no password). */
export function explainPostgres(error: unknown, where: string): Error {
  if (error instanceof HistoryError) return error;
  const e = error as { code?: string; message?: string };
  const message = e.message ?? String(error);
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return new HistoryError(`cannot reach PostgreSQL at ${where} (${e.code}); start it or check --db`);
    case '28P01':
    case '28000':
      return new HistoryError(`PostgreSQL refused the login to ${where}: ${message}; check the user in --db`);
    case '3D000':
      return new HistoryError(`${message} at ${where}; create it (createdb) or check --db`);
    case '42501':
      return new HistoryError(`PostgreSQL: ${message} (${where}); grant the user rights on the schema`);
    case '57P01':
    case '57P02':
    case '57P03':
      return new HistoryError(
        `PostgreSQL at ${where} is shutting down or starting up (${message}); try again`,
      );
  }
  if (/timeout|terminated|Connection terminated/i.test(message))
    return new HistoryError(`PostgreSQL at ${where} did not answer: ${message}`);
  return new HistoryError(`PostgreSQL ${where}: ${message}`);
}
