/**
 * A small JSON API with conditional GET and lost-update-safe PATCH, in Express.
 *
 *   node examples/express-api/server.ts            # listens on http://127.0.0.1:3000
 *   curl -i localhost:3000/users/1                  # 200 with ETag
 *   curl -i localhost:3000/users/1 -H 'If-None-Match: "<etag>"'                            # 304
 *   curl -i -X PATCH localhost:3000/users/1 -H 'If-Match: "<etag>"' \
 *        -H 'content-type: application/json' -d '{"name":"Grace"}'                         # 200, new ETag
 *
 * In your code, import from 'etagkit' and 'etagkit/express' instead of the relative paths below.
 */
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { conditional } from '../../src/adapters/express.ts';
import { etagFromVersion } from '../../src/core/index.ts';

export interface User {
  id: string;
  name: string;
  visits: number;
  updatedAt: Date;
}

/** The users table. `updatedAt` strictly increases on every write, so it identifies each version. */
export function createUsers(): Map<string, User> {
  return new Map([
    ['1', { id: '1', name: 'Ada', visits: 0, updatedAt: new Date('2024-01-01T00:00:00Z') }],
    ['2', { id: '2', name: 'Grace', visits: 0, updatedAt: new Date('2024-01-01T00:00:00Z') }],
  ]);
}

export function createApp(users = createUsers()): express.Express {
  const app = express();
  // Parse the body BEFORE the precondition check: validate and the write then run without an await between
  // them, so no other request can change the user in between. (With a database, make the write itself
  // conditional too: UPDATE … WHERE updated_at = ?.)
  app.use(express.json());

  const user = conditional({
    // Cheap: no rendering, just the version column.
    validate: (req) => {
      const u = users.get(String(req.params.id));
      return u ? { etag: etagFromVersion(u.updatedAt), lastModified: u.updatedAt } : { exists: false };
    },
    requirePreconditions: ['PATCH'], // 428 for a PATCH without If-Match
    headers: { 'cache-control': 'no-cache' },
  });

  app.get('/users/:id', user, (req, res) => {
    const u = users.get(String(req.params.id));
    if (!u) return void res.status(404).json({ error: 'no such user' });
    res.json(u);
  });

  app.patch('/users/:id', user, (req, res) => {
    const u = users.get(String(req.params.id));
    if (!u) return void res.status(404).json({ error: 'no such user' });
    const { name, visits } = req.body as Partial<User>;
    if (name !== undefined) u.name = String(name);
    if (visits !== undefined) u.visits = Number(visits);
    u.updatedAt = new Date(Math.max(Date.now(), u.updatedAt.getTime() + 1));
    res.json(u); // etagkit adds the new ETag
  });

  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = createApp().listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(`listening on http://127.0.0.1:${port}`);
  });
}
