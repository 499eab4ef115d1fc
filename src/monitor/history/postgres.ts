/**
 * The history in PostgreSQL, through node-postgres (`pg`, an optional peer dependency loaded on first use): the
 * store the fleet's workers share, and a single monitor can use too (`--db postgres://…`). Same contract, same
 * suite as SQLite (suite.ts).
 *
 * - The schema (default `etagkit`; `?schema=NAME` in the URL) is created or migrated on start, under an advisory
 *   lock so that processes starting together do not race.
 * - A check is committed by one statement (data-modifying CTEs): the check row, the watch's new state — its
 *   validators with the snapshot they describe —, the snapshot and the outbox rows. One statement is one
 *   transaction: all of it or none, and one round trip. `ON CONFLICT (watch_id, due_at) DO NOTHING` makes a
 *   retried job's second commit write nothing, even when both run at once (the second waits for the first).
 * - The revision is a counter in 32 shards, bumped inside each write, so that concurrent commits from many workers
 *   do not queue on one row and a reader never sees a revision before the data it counts.
 * - The schedule is readable by due time (`next_due_at`, generated from the state) for the fleet's schedulers.
 * - The outbox is claimed with a lease (`FOR UPDATE SKIP LOCKED`): several delivering processes never send the
 *   same row at once, and a row claimed by a process that died comes back when the lease runs out.
 */
import type { Pool, PoolClient, PoolConfig } from 'pg';
import type { CheckRecord, StoredWatch, WatchDefinition, WatchState } from '../types.ts';
import { explainPostgres, SCHEMA_VERSION, schemaSql } from './postgres-schema.ts';
import {
  type CheckCommit,
  decodeSnapshotText,
  encodeSnapshotText,
  type FleetHistoryStore,
  HistoryError,
  type OutboxEntry,
  type QueuedCheck,
  type RetentionPolicy,
  type Snapshot,
  type VersionRef,
} from './store.ts';

export interface PostgresHistoryOptions {
  /** The schema holding the tables (created when missing). Default: `?schema=` of the URL, else `etagkit`. */
  schema?: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Open an existing history for reading only: nothing is created (the history and diff commands). */
  readOnly?: boolean;
}

/** Outbox rows handed to one deliverer are hidden from the others this long. */
const OUTBOX_LEASE_MS = 60_000;
const REVISION_SHARDS = 32;
const PAGE = 5000;
const CHECK_COLUMNS = `id, due_at, time, status, http_status, etag, last_modified, digest, detected_by, bytes, error,
  reason, version, truth, requests`;

/** True for `postgres://…` and `postgresql://…` URLs. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/**
 * Opens (creating or migrating when needed) the history in PostgreSQL. Throws HistoryError saying what is wrong:
 * the server unreachable, the database missing, authentication, a newer schema.
 *
 * @example
 * const store = await postgresHistory('postgres://monitor@db.internal/etagkit?schema=watch');
 */
export async function postgresHistory(
  url: string,
  options: PostgresHistoryOptions = {},
): Promise<FleetHistoryStore> {
  const target = new URL(url);
  const schema = options.schema ?? target.searchParams.get('schema') ?? 'etagkit';
  target.searchParams.delete('schema');
  const shown = `${target.host}${target.pathname} (schema ${schema})`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new HistoryError(
      `schema ${JSON.stringify(schema)} must be lower-case letters, digits and _ (a PostgreSQL identifier)`,
    );
  let pg: typeof import('pg')['default'];
  try {
    pg = (await import('pg')).default;
  } catch (cause) {
    throw new HistoryError('a postgres:// history needs the pg package; install it with `npm install pg`', {
      cause,
    });
  }
  const config: PoolConfig = {
    connectionString: target.href,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    application_name: 'etagkit',
    // Numbers as numbers: ids, due times and byte counts are bigint columns, all well below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  };
  const pool = new pg.Pool(config);
  pool.on('error', () => {}); // an idle connection that dies is replaced; queries report their own errors
  try {
    const client = await pool.connect();
    try {
      if (!options.readOnly) {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`etagkit history ${schema}`]);
        await client.query(schemaSql(schema, REVISION_SHARDS));
      }
      const found = await client
        .query(`SELECT value FROM ${schema}.meta WHERE key = 'schema'`)
        .catch((error) => {
          if ((error as { code?: string }).code === '42P01')
            throw new HistoryError(
              `${shown} holds no etagkit history (run etagkit watch first, or check --db)`,
            );
          throw error;
        });
      const version = Number(found.rows[0]?.value);
      if (version > SCHEMA_VERSION)
        throw new HistoryError(
          `${shown} was written by a newer etagkit (schema ${version}); upgrade etagkit`,
        );
      if (!options.readOnly) await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw explainPostgres(error, shown);
  }
  return new PostgresHistory(pool, schema, shown);
}

interface WatchRow {
  id: number;
  definition: WatchDefinition;
  state: WatchState;
  paused: boolean;
}

class PostgresHistory implements FleetHistoryStore {
  readonly #pool: Pool;
  readonly #s: string;
  readonly #shown: string;
  #saves: {
    definition: WatchDefinition;
    initial: WatchState;
    resolve(w: StoredWatch): void;
    reject(e: unknown): void;
  }[] = [];

  constructor(pool: Pool, schema: string, shown: string) {
    this.#pool = pool;
    this.#s = schema;
    this.#shown = shown;
  }

  async #query<R extends object>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(sql, params)).rows;
    } catch (error) {
      throw explainPostgres(error, this.#shown);
    }
  }

  /** A CTE bumping one shard of the revision (the shard picked at random: writers rarely share one). */
  #bump(when = 'true'): string {
    const shard = Math.floor(Math.random() * REVISION_SHARDS);
    return `rev AS (UPDATE ${this.#s}.revision SET value = value + 1 WHERE shard = ${shard} AND ${when})`;
  }

  /** Saves of one event-loop turn go in one statement, so loading 100,000 watches takes a few round trips. */
  saveWatch(definition: WatchDefinition, initial: WatchState): Promise<StoredWatch> {
    return new Promise((resolve, reject) => {
      this.#saves.push({ definition, initial, resolve, reject });
      if (this.#saves.length === 1) setImmediate(() => void this.#flushSaves());
    });
  }

  async #flushSaves(): Promise<void> {
    const batch = this.#saves;
    this.#saves = [];
    for (let i = 0; i < batch.length; i += PAGE) {
      const part = batch.slice(i, i + PAGE);
      // One row per URL: ON CONFLICT DO UPDATE may not touch a row twice in a statement (the last save wins).
      const byUrl = new Map(part.map((s) => [s.definition.url, s]));
      const input = [...byUrl.values()].map(({ definition, initial }) => ({
        url: definition.url,
        host: new URL(definition.url).host,
        definition,
        state: initial,
      }));
      try {
        const rows = await this.#query<WatchRow & { url: string }>(
          `WITH up AS (
             INSERT INTO ${this.#s}.watches (url, host, definition, state)
             SELECT e->>'url', e->>'host', e->'definition', e->'state' FROM jsonb_array_elements($1::jsonb) e
             ON CONFLICT (url) DO UPDATE SET definition = excluded.definition, paused = false
             RETURNING id, url, definition, state, paused), ${this.#bump()}
           SELECT * FROM up`,
          [JSON.stringify(input)],
        );
        const saved = new Map(rows.map((row) => [row.url, toWatch(row)]));
        for (const item of part) item.resolve(saved.get(item.definition.url)!);
      } catch (error) {
        for (const item of part) item.reject(error);
      }
    }
  }

  async removeWatch(url: string): Promise<boolean> {
    const rows = await this.#query(
      `WITH d AS (DELETE FROM ${this.#s}.watches WHERE url = $1 RETURNING id), ${this.#bump('EXISTS (SELECT 1 FROM d)')}
       SELECT id FROM d`,
      [url],
    );
    return rows.length > 0;
  }

  async setPaused(url: string, paused: boolean): Promise<boolean> {
    const rows = await this.#query(
      `WITH u AS (UPDATE ${this.#s}.watches SET paused = $2 WHERE url = $1 RETURNING id),
         ${this.#bump('EXISTS (SELECT 1 FROM u)')}
       SELECT id FROM u`,
      [url, paused],
    );
    return rows.length > 0;
  }

  async watches(): Promise<StoredWatch[]> {
    // Page by id: a million watches never arrive as one result held twice in memory (rows and objects).
    const watches: StoredWatch[] = [];
    for (let after = 0; ; ) {
      const rows = await this.#query<WatchRow>(
        `SELECT id, definition, state, paused FROM ${this.#s}.watches WHERE id > $1 ORDER BY id LIMIT ${PAGE}`,
        [after],
      );
      for (const row of rows) watches.push(toWatch(row));
      if (rows.length < PAGE) return watches;
      after = rows.at(-1)!.id;
    }
  }

  async watch(url: string): Promise<StoredWatch | undefined> {
    const [row] = await this.#query<WatchRow>(
      `SELECT id, definition, state, paused FROM ${this.#s}.watches WHERE url = $1`,
      [url],
    );
    return row && toWatch(row);
  }

  async commit({ watchId, event, rawDigest, state, snapshot, outbox }: CheckCommit): Promise<boolean> {
    const encoded =
      snapshot === undefined
        ? undefined
        : snapshot.text === undefined
          ? { encoding: 'none', bytes: null }
          : encodeSnapshotText(snapshot.text);
    const s = this.#s;
    const [row] = await this.#query<{ n: number }>(
      `WITH c AS (
         INSERT INTO ${s}.checks (watch_id, due_at, time, status, http_status, etag, last_modified, digest,
           raw_digest, detected_by, bytes, error, reason, version, truth, requests)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
         WHERE EXISTS (SELECT 1 FROM ${s}.watches WHERE id = $1)
         ON CONFLICT (watch_id, due_at) DO NOTHING RETURNING watch_id
       ), snap AS (
         INSERT INTO ${s}.snapshots (digest, kind, size, encoding, content)
         SELECT $18::text, $19::text, $20::bigint, $21::text, $22::bytea FROM c WHERE $18::text IS NOT NULL
         ON CONFLICT (digest) DO NOTHING
       ), w AS (
         UPDATE ${s}.watches SET state = $17::jsonb FROM c WHERE ${s}.watches.id = c.watch_id
       ), o AS (
         INSERT INTO ${s}.outbox (target, payload, next_attempt_at, created_at)
         SELECT t, p, $25::bigint, $25::bigint FROM c, unnest($23::text[], $24::text[]) AS u (t, p)
       ), ${this.#bump('EXISTS (SELECT 1 FROM c)')}
       SELECT count(*)::int AS n FROM c`,
      [
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
        event.truth,
        event.requests,
        JSON.stringify(state),
        snapshot?.digest ?? null,
        snapshot?.kind ?? null,
        snapshot?.size ?? null,
        encoded?.encoding ?? null,
        encoded?.bytes ?? null,
        outbox.map((o) => o.target),
        outbox.map((o) => o.payload),
        Date.parse(event.time),
      ],
    );
    return row!.n === 1;
  }

  async hasSnapshot(digest: string): Promise<boolean> {
    return (await this.#query(`SELECT 1 FROM ${this.#s}.snapshots WHERE digest = $1`, [digest])).length > 0;
  }

  async snapshot(digest: string): Promise<Snapshot | undefined> {
    const [row] = await this.#query<{
      digest: string;
      kind: Snapshot['kind'];
      size: number;
      encoding: string;
      content: Buffer | null;
    }>(`SELECT digest, kind, size, encoding, content FROM ${this.#s}.snapshots WHERE digest = $1`, [digest]);
    if (!row) return undefined;
    return {
      digest: row.digest,
      kind: row.kind,
      size: row.size,
      text: row.content === null ? undefined : decodeSnapshotText(row.encoding, row.content),
    };
  }

  async checks(url: string, options: { limit?: number; beforeId?: number } = {}): Promise<CheckRecord[]> {
    const rows = await this.#query<Record<string, unknown>>(
      `SELECT ${CHECK_COLUMNS} FROM ${this.#s}.checks
       WHERE watch_id = (SELECT id FROM ${this.#s}.watches WHERE url = $1) AND id < $2 ORDER BY id DESC LIMIT $3`,
      [url, options.beforeId ?? Number.MAX_SAFE_INTEGER, options.limit ?? 100],
    );
    return rows.map((row) => toCheck(row, url));
  }

  versions(url: string): Promise<VersionRef[]> {
    return this.#query<VersionRef>(
      `SELECT version, (array_agg(digest ORDER BY id))[1] AS digest, min(time) AS time FROM ${this.#s}.checks
       WHERE watch_id = (SELECT id FROM ${this.#s}.watches WHERE url = $1) AND status IN ('new', 'changed')
       GROUP BY version ORDER BY version DESC`,
      [url],
    );
  }

  async pendingNotifications(now: number, limit: number): Promise<OutboxEntry[]> {
    const rows = await this.#query<OutboxEntry>(
      `UPDATE ${this.#s}.outbox SET next_attempt_at = $1::bigint + ${OUTBOX_LEASE_MS}
       WHERE id IN (SELECT id FROM ${this.#s}.outbox WHERE NOT undeliverable AND next_attempt_at <= $1
                    ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id, target, payload, attempts, created_at AS "createdAt"`,
      [now, limit],
    );
    return rows.sort((a, b) => a.id - b.id);
  }

  async nextNotificationAt(): Promise<number | undefined> {
    const [row] = await this.#query<{ at: number | null }>(
      `SELECT min(next_attempt_at) AS at FROM ${this.#s}.outbox WHERE NOT undeliverable`,
    );
    return row?.at ?? undefined;
  }

  async settleNotification(
    id: number,
    outcome: { delivered: true } | { retryAt: number | undefined; error: string },
  ): Promise<void> {
    if ('delivered' in outcome)
      await this.#query(`WITH d AS (DELETE FROM ${this.#s}.outbox WHERE id = $1), ${this.#bump()} SELECT 1`, [
        id,
      ]);
    else
      await this.#query(
        `WITH u AS (UPDATE ${this.#s}.outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3,
           undeliverable = $4 WHERE id = $1), ${this.#bump()} SELECT 1`,
        [id, outcome.error, outcome.retryAt ?? 0, outcome.retryAt === undefined],
      );
  }

  async prune(policy: RetentionPolicy, now: number): Promise<{ checks: number; snapshots: number }> {
    const s = this.#s;
    return this.#transaction(async (client) => {
      // The row that first saw a watch's current version stays, so its current content keeps a version number.
      const checks = await client.query(
        `DELETE FROM ${s}.checks WHERE id IN (
           SELECT c.id FROM (
             SELECT id, watch_id, time, version, status,
                    row_number() OVER (PARTITION BY watch_id ORDER BY id DESC) AS n FROM ${s}.checks) c
           JOIN ${s}.watches w ON w.id = c.watch_id
           WHERE (c.n > $1 OR c.time < $2)
             AND NOT (c.status IN ('new', 'changed') AND c.version = (w.state->>'version')::int))`,
        [policy.maxChecks, new Date(now - policy.maxAgeMs).toISOString()],
      );
      // Commits hold a ROW EXCLUSIVE lock on watches for their whole statement: SHARE waits for those in flight
      // and holds back new ones, so no commit can refer to a snapshot while it is being found unreferenced.
      await client.query(`LOCK TABLE ${s}.watches IN SHARE MODE`);
      const snapshots = await client.query(
        `DELETE FROM ${s}.snapshots sn
         WHERE NOT EXISTS (SELECT 1 FROM ${s}.checks c WHERE c.digest = sn.digest)
           AND NOT EXISTS (SELECT 1 FROM ${s}.watches w WHERE w.state->>'digest' = sn.digest)`,
      );
      await client.query(`WITH ${this.#bump()} SELECT 1`);
      return { checks: checks.rowCount ?? 0, snapshots: snapshots.rowCount ?? 0 };
    });
  }

  async revision(): Promise<number> {
    const [row] = await this.#query<{ n: number }>(`SELECT sum(value)::bigint AS n FROM ${this.#s}.revision`);
    return row!.n;
  }

  async dueChecks(until: number, limit: number): Promise<QueuedCheck[]> {
    return this.#query<QueuedCheck>(
      `SELECT id AS "watchId", url, host, next_due_at AS "dueAt" FROM ${this.#s}.watches
       WHERE NOT paused AND queued_due_at IS DISTINCT FROM next_due_at AND next_due_at <= $1
       ORDER BY next_due_at LIMIT $2`,
      [until, limit],
    );
  }

  async markQueued(checks: readonly QueuedCheck[]): Promise<void> {
    if (checks.length === 0) return;
    await this.#query(
      `UPDATE ${this.#s}.watches w SET queued_due_at = q.due
       FROM unnest($1::bigint[], $2::bigint[]) AS q (id, due) WHERE w.id = q.id AND w.next_due_at = q.due`,
      [checks.map((c) => c.watchId), checks.map((c) => c.dueAt)],
    );
  }

  async overdueChecks(before: number, limit: number): Promise<QueuedCheck[]> {
    return this.#query<QueuedCheck>(
      `SELECT id AS "watchId", url, host, next_due_at AS "dueAt" FROM ${this.#s}.watches
       WHERE NOT paused AND next_due_at < $1 ORDER BY next_due_at LIMIT $2`,
      [before, limit],
    );
  }

  async pauseUnlisted(urls: readonly string[]): Promise<number> {
    const rows = await this.#query(
      `WITH u AS (UPDATE ${this.#s}.watches SET paused = true WHERE NOT paused AND NOT (url = ANY ($1::text[]))
         RETURNING id), ${this.#bump('EXISTS (SELECT 1 FROM u)')}
       SELECT id FROM u`,
      [urls],
    );
    return rows.length;
  }

  async #transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => {});
      throw explainPostgres(error, this.#shown);
    } finally {
      client?.release();
    }
  }

  async close(): Promise<void> {
    while (this.#saves.length > 0) await this.#flushSaves();
    await this.#pool.end();
  }
}

function toWatch(row: WatchRow): StoredWatch {
  return { id: row.id, definition: row.definition, state: row.state, paused: row.paused };
}

function toCheck(row: Record<string, unknown>, url: string): CheckRecord {
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
    truth: row.truth as boolean,
    requests: row.requests as number,
    dueAt: row.due_at as number,
  };
}
