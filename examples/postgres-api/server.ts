/**
 * The users API on PostgreSQL: ETags from `updated_at`, 304s from one indexed query, writes guarded by If-Match
 * and made conditional in SQL. Routes: examples/users-db/routes.ts; SQL: ./db.ts.
 *
 *   npm run example:postgres          # DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 *                                     # PGSCHEMA (default etagkit_example), PORT (default 3002)
 *
 * The schema, its table and two users are created on start. In your code, import from 'etagkit',
 * 'etagkit/server' and 'etagkit/express' instead of the relative paths the routes use.
 */
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { createUsersApp } from '../users-db/routes.ts';
import { createSchema, postgresUsers, type Query } from './db.ts';

export interface Options {
  databaseUrl?: string;
  schema?: string;
  /** Wraps every statement (the tests count them). */
  query?: (pool: pg.Pool) => Query;
}

/** Connects, creates the schema when missing, and returns the Express app with its pool. */
export async function createApp(options: Options = {}) {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test',
    max: 10,
  });
  pool.on('error', (error) => console.error('postgres:', error.message)); // an idle client lost: the pool heals
  const query: Query = options.query?.(pool) ?? ((text, values) => pool.query(text, values));
  const schema = options.schema ?? 'etagkit_example';
  const client = await pool.connect(); // the schema is created in one transaction, on one connection
  try {
    await createSchema((text, values) => client.query(text, values), schema);
  } finally {
    client.release();
  }
  return { app: createUsersApp(postgresUsers(query, schema)), pool };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { app, pool } = await createApp({
    databaseUrl: process.env.DATABASE_URL,
    schema: process.env.PGSCHEMA,
  });
  const server = app.listen(Number(process.env.PORT ?? 3002), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  const stop = () => server.close(() => void pool.end());
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
