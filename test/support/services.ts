/**
 * The shared services of the fleet's tests: PostgreSQL in schemas unique to this run (dropped afterwards) and Redis
 * under a prefix unique to this run (deleted afterwards). Other test runs use the same servers at the same time.
 * A service that is not there fails the test at once, with one line saying how to start it.
 */
import pg from 'pg';

export const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const START_POSTGRES =
  'start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';
const START_REDIS =
  'start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no';

/** A run id: lower-case letters and digits, for schema names and key prefixes. */
export function runId(name: string): string {
  return `${name}_${process.pid}_${Date.now().toString(36)}`;
}

export function postgresTestDatabase(name: string) {
  const base = `etagkit_t_${runId(name)}`;
  const schemas: string[] = [];
  const admin = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  let connected: Promise<void> | undefined;
  const ready = () =>
    (connected ??= admin.connect().then(
      () => {},
      (error: Error) => {
        throw new Error(
          `PostgreSQL is not answering at ${POSTGRES_URL} (${error.message}); ${START_POSTGRES}`,
        );
      },
    ));
  return {
    ready,
    /** A new schema name (the store creates it); dropped by drop(). */
    newSchema(): string {
      const schema = `${base}_${schemas.length + 1}`;
      schemas.push(schema);
      return schema;
    },
    url: (schema: string) => `${POSTGRES_URL}?schema=${schema}`,
    async schemaExists(schema: string): Promise<boolean> {
      await ready();
      const { rows } = await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      return rows.length > 0;
    },
    async query(sql: string, params: unknown[] = []) {
      await ready();
      return (await admin.query(sql, params)).rows;
    },
    async drop(): Promise<void> {
      if (!connected) return;
      await connected.catch(() => {});
      for (const schema of schemas)
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await admin.end().catch(() => {});
    },
  };
}

/** Fails at once, with how to start it, when Redis does not answer. */
export async function requireRedis(): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not answering at ${REDIS_URL} (${(error as Error).message}); ${START_REDIS}`);
  } finally {
    redis.disconnect();
  }
}

/** Deletes every Redis key under `prefix` (this run's BullMQ queues and limits). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
