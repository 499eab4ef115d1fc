/**
 * The database examples end to end (issue 13): examples/postgres-api on a real PostgreSQL (a schema of its own
 * per run, dropped afterwards) and examples/sqlite-api on a temporary file, each served by two app processes
 * on one database, as behind a load balancer.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SUPPORT = new URL('support/users-api-process.ts', import.meta.url).pathname;
const CLIENTS = 16;
const INCREMENTS = 6;

/** One app process; `ask` sends a message and waits for the reply carrying `key`. */
class App {
  readonly child: ChildProcess;
  url = '';
  constructor(args: string[]) {
    this.child = fork(SUPPORT, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }
  async started(): Promise<this> {
    this.url = (await this.next<{ url: string }>('url')).url;
    return this;
  }
  next<T>(key: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (!(key in message)) return;
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        resolve(message as T);
      };
      const onExit = (code: number | null) =>
        reject(new Error(`app process exited (${code}) before "${key}"`));
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }
  async queries(): Promise<{ text: string; rowCount: number | null }[]> {
    const reply = this.next<{ queries: { text: string; rowCount: number | null }[] }>('queries');
    this.child.send('queries');
    return (await reply).queries;
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send('stop');
    await exited;
  }
}

interface Reply {
  status: number;
  etag: string | null;
  body: string;
}

async function call(url: string, method = 'GET', headers: Record<string, string> = {}, body?: unknown) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    etag: response.headers.get('etag'),
    body: await response.text(),
  } as Reply;
}

/** Reads from one process and writes through the other; on 412 reads again. Returns its 412 count. */
async function incrementer(read: App, write: App, id: number): Promise<number> {
  let conflicts = 0;
  for (let done = 0; done < INCREMENTS; ) {
    const got = await call(`${read.url}/users/${id}`);
    assert.equal(got.status, 200, got.body);
    const { visits } = JSON.parse(got.body) as { visits: number };
    const put = await call(
      `${write.url}/users/${id}`,
      'PATCH',
      { 'if-match': got.etag! },
      { visits: visits + 1 },
    );
    if (put.status === 412) {
      conflicts++;
      continue;
    }
    assert.equal(put.status, 200, put.body);
    done++;
  }
  return conflicts;
}

/** The behaviour both databases share. `apps()` gives the two processes. */
function sharedSuite(apps: () => [App, App]) {
  test(`${CLIENTS} concurrent read-modify-write clients across two app processes lose no update`, async () => {
    const [a, b] = apps();
    const created = await call(`${a.url}/users`, 'POST', {}, { name: 'Counter', email: 'c@example.com' });
    assert.equal(created.status, 201, created.body);
    const { id } = JSON.parse(created.body) as { id: number };
    const conflicts = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => (i % 2 ? incrementer(a, b, id) : incrementer(b, a, id))),
    );
    const final = JSON.parse((await call(`${b.url}/users/${id}`)).body) as { visits: number };
    assert.equal(final.visits, CLIENTS * INCREMENTS, 'every increment counted');
    assert.ok(conflicts.reduce((x, y) => x + y) > 0, 'some writes raced and were refused with 412');
  });

  test('a missing row: GET 404; PATCH with If-Match 412 (§13.1.1); DELETE with If-Match: * 412', async () => {
    const [a] = apps();
    assert.equal((await call(`${a.url}/users/999999`)).status, 404);
    assert.equal((await call(`${a.url}/users/not-a-number`)).status, 404);
    assert.equal(
      (await call(`${a.url}/users/999999`, 'PATCH', { 'if-match': '"x"' }, { visits: 1 })).status,
      412,
    );
    assert.equal((await call(`${a.url}/users/999999`, 'DELETE', { 'if-match': '*' })).status, 412);
  });

  test('RFC 6585 §3: a write without If-Match is 428; a date alone is 428 naming If-Match', async () => {
    const [a] = apps();
    const user = await call(`${a.url}/users/1`);
    const plain = await call(`${a.url}/users/1`, 'PATCH', {}, { name: 'x' });
    assert.equal(plain.status, 428);
    assert.match(JSON.parse(plain.body).detail, /If-Match/);
    assert.equal((await call(`${a.url}/users/1`, 'DELETE')).status, 428);
    const dated = await call(
      `${a.url}/users/1`,
      'PATCH',
      { 'if-unmodified-since': new Date().toUTCString() },
      {},
    );
    assert.equal(dated.status, 428);
    assert.equal(JSON.parse(dated.body).precondition, 'if-match');
    assert.equal((await call(`${a.url}/users/1`)).etag, user.etag, 'nothing was written');
  });

  test('DELETE with the current ETag: 204, then 404; POST creates with Location and ETag', async () => {
    const [a, b] = apps();
    const created = await fetch(`${a.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Temp', email: 't@example.com' }),
    });
    assert.equal(created.status, 201);
    const location = created.headers.get('location')!;
    assert.match(location, /^\/users\/\d+$/);
    const etag = created.headers.get('etag')!;
    assert.equal((await call(`${b.url}${location}`, 'GET', { 'if-none-match': etag })).status, 304);
    assert.equal((await call(`${b.url}${location}`, 'DELETE', { 'if-match': etag })).status, 204);
    assert.equal((await call(`${a.url}${location}`)).status, 404);
  });

  test('the list: weak ETag from the page, 304 while unchanged, a new tag after a write', async () => {
    const [a, b] = apps();
    const list = await call(`${a.url}/users`);
    assert.equal(list.status, 200);
    assert.match(list.etag!, /^W\/"/);
    assert.equal((await call(`${b.url}/users`, 'GET', { 'if-none-match': list.etag! })).status, 304);
    const user = await call(`${a.url}/users/1`);
    assert.equal(
      (await call(`${a.url}/users/1`, 'PATCH', { 'if-match': user.etag! }, { name: 'Ada' })).status,
      200,
    );
    const after = await call(`${b.url}/users`, 'GET', { 'if-none-match': list.etag! });
    assert.equal(after.status, 200);
    assert.notEqual(after.etag, list.etag);
    const since = JSON.parse(list.body).at(-1).updatedAt as string;
    const changed = JSON.parse((await call(`${a.url}/users?since=${since}`)).body) as { id: number }[];
    assert.ok(
      changed.some((u) => u.id === 1),
      '?since= lists the user changed after that date',
    );
    assert.equal((await call(`${a.url}/users?since=yesterday`)).status, 400);
  });
}

describe('examples/postgres-api on PostgreSQL', () => {
  const schema = `etagkit_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  let admin: pg.Client;
  let a: App;
  let b: App;
  before(async () => {
    admin = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
    await admin.connect().catch((error: Error) => {
      throw new Error(
        `PostgreSQL is not answering at ${DATABASE_URL} (${error.message}); start it with ` +
          '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`',
      );
    });
    a = await new App(['postgres', DATABASE_URL, schema]).started();
    b = await new App(['postgres', DATABASE_URL, schema]).started();
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin?.end();
  });

  sharedSuite(() => [a, b]);

  test('a change between the If-Match check and the UPDATE, in the other process: 0 rows → 412', async () => {
    const user = await call(`${a.url}/users/2`);
    const held = a.next('held');
    a.child.send('hold');
    const late = call(`${a.url}/users/2`, 'PATCH', { 'if-match': user.etag! }, { name: 'late' });
    await held; // a checked If-Match against the version it read, and its UPDATE waits
    const first = await call(`${b.url}/users/2`, 'PATCH', { 'if-match': user.etag! }, { name: 'first' });
    assert.equal(first.status, 200);
    await a.queries(); // clear the log
    a.child.send('release');
    const refused = await late;
    assert.equal(refused.status, 412, refused.body);
    assert.equal(refused.etag, first.etag, '412 carries the current ETag');
    assert.equal(JSON.parse(refused.body).precondition, 'if-match');
    const statements = await a.queries();
    assert.equal(statements[0]?.text.startsWith('UPDATE'), true);
    assert.equal(statements[0]?.rowCount, 0, 'the UPDATE itself found its version gone');
    assert.equal(
      JSON.parse((await call(`${a.url}/users/2`)).body).name,
      'first',
      "the first writer's change stands",
    );
  });

  test('304s read the updated_at column and nothing else; a plain 200 only loads the row', async () => {
    const users = `"${schema}".users`;
    const one = await call(`${a.url}/users/1`);
    const list = await call(`${a.url}/users`);
    await Promise.all([a.queries(), b.queries()]);
    for (const app of [a, b]) {
      for (let i = 0; i < 5; i++) {
        assert.equal((await call(`${app.url}/users/1`, 'GET', { 'if-none-match': one.etag! })).status, 304);
        assert.equal((await call(`${app.url}/users`, 'GET', { 'if-none-match': list.etag! })).status, 304);
      }
    }
    const page =
      `SELECT max(updated_at) AS newest, count(*) AS count FROM ( SELECT updated_at FROM ${users} ` +
      'WHERE updated_at > $1 ORDER BY updated_at, id LIMIT 500 ) AS page';
    for (const app of [a, b]) {
      const texts = (await app.queries()).map((q) => q.text);
      assert.equal(texts.length, 10, 'one statement per 304');
      assert.deepEqual(new Set(texts), new Set([`SELECT updated_at FROM ${users} WHERE id = $1`, page]));
    }
    const plain = await call(`${a.url}/users/1`);
    assert.equal(plain.status, 200);
    assert.equal(plain.etag, one.etag, "the handler's own tag, from the row it loaded");
    assert.deepEqual(
      (await a.queries()).map((q) => q.text),
      [`SELECT id, name, email, visits, updated_at FROM ${users} WHERE id = $1`],
    );
  });
});

describe('examples/sqlite-api on node:sqlite', () => {
  let dir: string;
  let a: App;
  let b: App;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etagkit-sqlite-api-'));
    a = await new App(['sqlite', join(dir, 'users.db')]).started();
    b = await new App(['sqlite', join(dir, 'users.db')]).started();
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  sharedSuite(() => [a, b]);
});
