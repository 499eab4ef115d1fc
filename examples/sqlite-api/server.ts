/**
 * The users API of examples/postgres-api on the built-in `node:sqlite`, for a project without a database server.
 * Same routes (examples/users-db/routes.ts); SQL in ./db.ts.
 *
 *   npm run example:sqlite            # DATABASE (default ./.etagkit/users.db), PORT (default 3003)
 *
 * In your code, import from 'etagkit', 'etagkit/server' and 'etagkit/express' instead of the relative paths.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createUsersApp } from '../users-db/routes.ts';
import { openUsers } from './db.ts';

/** Opens the database (created with two users when missing) and returns the Express app. */
export function createApp(path: string) {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const { db, close } = openUsers(path);
  return { app: createUsersApp(db), close };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { app, close } = createApp(process.env.DATABASE ?? './.etagkit/users.db');
  const server = app.listen(Number(process.env.PORT ?? 3003), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  const stop = () => server.close(close);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
