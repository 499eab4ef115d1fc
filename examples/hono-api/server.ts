/**
 * A small JSON API with conditional GET and lost-update-safe PATCH, in Hono (served by @hono/node-server).
 *
 *   node examples/hono-api/server.ts                # listens on http://127.0.0.1:3001
 *   curl -i localhost:3001/users/1 -H 'If-None-Match: "<etag>"'                            # 304
 *   curl -i -X PATCH localhost:3001/users/1 -H 'If-Match: "<etag>"' -d '{"name":"Grace"}'  # 200, new ETag
 *
 * In your code, import from 'etagkit' and 'etagkit/hono' instead of the relative paths below.
 */
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { conditional } from '../../src/adapters/hono.ts';
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

export function createApp(users = createUsers()): Hono {
  const app = new Hono();

  // Read the body BEFORE the precondition check (Hono caches it): validate and the write then run without
  // I/O in between, so no other request can change the user in between. With a database, make the write
  // itself conditional too (UPDATE … WHERE updated_at = ?).
  app.use('/users/:id', async (c, next) => {
    if (c.req.method === 'PATCH') await c.req.json().catch(() => ({}));
    await next();
  });

  const user = conditional({
    validate: (c) => {
      const u = users.get(c.req.param('id') ?? '');
      return u ? { etag: etagFromVersion(u.updatedAt), lastModified: u.updatedAt } : { exists: false };
    },
    requirePreconditions: ['PATCH'],
    headers: { 'cache-control': 'no-cache' },
  });

  app.get('/users/:id', user, (c) => {
    const u = users.get(c.req.param('id'));
    return u ? c.json(u) : c.json({ error: 'no such user' }, 404);
  });

  app.patch('/users/:id', user, async (c) => {
    const u = users.get(c.req.param('id'));
    if (!u) return c.json({ error: 'no such user' }, 404);
    const { name, visits } = (await c.req.json().catch(() => ({}))) as Partial<User>;
    if (name !== undefined) u.name = String(name);
    if (visits !== undefined) u.visits = Number(visits);
    u.updatedAt = new Date(Math.max(Date.now(), u.updatedAt.getTime() + 1));
    return c.json(u); // etagkit adds the new ETag
  });

  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = serve(
    { fetch: createApp().fetch, port: Number(process.env.PORT ?? 3001), hostname: '127.0.0.1' },
    (info: AddressInfo) => console.log(`listening on http://127.0.0.1:${info.port}`),
  );
  process.on('SIGTERM', () => server.close());
}
