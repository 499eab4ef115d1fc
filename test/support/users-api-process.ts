/**
 * One app process of the database examples, for test/database-examples.test.ts (forked, with an IPC channel).
 *
 *   node users-api-process.ts postgres <database url> <schema>
 *   node users-api-process.ts sqlite <file>
 *
 * Sends `{ url }` once listening. With PostgreSQL it records every statement; messages from the parent:
 * `queries` → `{ queries: [{ text, rowCount }] }` (since the last call); `hold` → the next UPDATE waits, and
 * `{ held: true }` is sent once it does; `release` → it runs; `stop` → closes and exits.
 */
import type { AddressInfo } from 'node:net';
import type { Query } from '../../examples/postgres-api/db.ts';

const [backend, target, schema] = process.argv.slice(2);
const send = (message: unknown) => process.send!(message);
let log: { text: string; rowCount: number | null }[] = [];
let hold: 'next' | (() => void) | undefined;

const counting =
  (query: Query): Query =>
  async (text, values) => {
    if (hold === 'next' && text.trimStart().startsWith('UPDATE')) {
      await new Promise<void>((resolve) => {
        hold = resolve;
        send({ held: true });
      });
    }
    const result = await query(text, values);
    log.push({ text: text.replace(/\s+/g, ' ').trim(), rowCount: result.rowCount });
    return result;
  };

let close: () => Promise<void> | void;
let app: import('express').Express;
if (backend === 'postgres') {
  const { createApp } = await import('../../examples/postgres-api/server.ts');
  const created = await createApp({
    databaseUrl: target,
    schema,
    query: (pool) => counting((text, values) => pool.query(text, values)),
  });
  app = created.app;
  close = () => created.pool.end();
} else {
  const { createApp } = await import('../../examples/sqlite-api/server.ts');
  const created = createApp(target!);
  app = created.app;
  close = created.close;
}

const server = app.listen(0, '127.0.0.1', () => {
  send({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
process.on('message', (message) => {
  if (message === 'queries') {
    send({ queries: log });
    log = [];
  } else if (message === 'hold') hold = 'next';
  else if (message === 'release' && typeof hold === 'function') {
    hold();
    hold = undefined;
  } else if (message === 'stop') {
    server.closeAllConnections();
    server.close(async () => {
      await close();
      process.exit(0);
    });
  }
});
