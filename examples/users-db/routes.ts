/**
 * The users API of examples/postgres-api and examples/sqlite-api: one Express app over a `UsersDb`, so that both
 * databases run exactly the same routes.
 *
 *   GET    /users?since=ISO-8601   users changed after `since`, oldest first (a page of at most 500)
 *   POST   /users                  create: 201, Location, ETag
 *   GET    /users/:id              one user: 304 from a single indexed `SELECT updated_at`, 404 when missing
 *   PATCH  /users/:id              If-Match required (428 without it); 412 when someone else wrote first
 *   DELETE /users/:id              If-Match required, as PATCH
 *
 * Every write sets `updated_at` to a new, strictly later millisecond, so `updated_at` names one version of a row.
 * The ETag is that version (`etagFromVersion(updatedAt)`); Last-Modified is the same date, in whole seconds.
 *
 * In your code, import from 'etagkit', 'etagkit/server' and 'etagkit/express' instead of the paths below.
 */
import express from 'express';
import { conditional } from '../../src/adapters/express.ts';
import { etagFromVersion, formatHttpDate } from '../../src/core/index.ts';
import { checkedValidators, type Validators } from '../../src/server/index.ts';

export interface User {
  id: number;
  name: string;
  email: string;
  visits: number;
  updatedAt: Date;
}

export type NewUser = Pick<User, 'name' | 'email'>;
export type UserPatch = Partial<Pick<User, 'name' | 'email' | 'visits'>>;

/** A row of either database as a User; `updatedAt` as the caller's driver gives it back, made a Date. */
export function userOf(row: Record<string, unknown>, updatedAt: Date): User {
  return {
    id: row.id as number,
    name: row.name as string,
    email: row.email as string,
    visits: row.visits as number,
    updatedAt,
  };
}

/** The most users one list response holds. */
export const PAGE = 500;

/** What the routes need of a database. Each method is one statement. */
export interface UsersDb {
  /** The version of one row, read through the primary key alone: `SELECT updated_at … WHERE id = $1`. */
  updatedAt(id: number): Promise<Date | undefined>;
  get(id: number): Promise<User | undefined>;
  /**
   * The collection validator of the page `list(since)` returns: its newest `updated_at` and its row count, read
   * from the (updated_at, id) index alone. See `listValidators` for why these two numbers name the page.
   */
  pageVersion(since: Date | undefined): Promise<{ newest: Date | undefined; count: number }>;
  /** Users changed after `since`, oldest change first, at most `PAGE` of them. */
  list(since: Date | undefined): Promise<User[]>;
  create(user: NewUser): Promise<User>;
  /** `UPDATE … WHERE id = $1 AND updated_at = $2 RETURNING …`: undefined when `version` is no longer current. */
  update(id: number, version: Date, patch: UserPatch): Promise<User | undefined>;
  /** `DELETE … WHERE id = $1 AND updated_at = $2`: false when `version` is no longer current. */
  remove(id: number, version: Date): Promise<boolean>;
}

/** The validators of one row, from its version alone: nothing is loaded or rendered. */
function userValidators(updatedAt: Date | undefined): Validators {
  return updatedAt ? { etag: etagFromVersion(updatedAt), lastModified: updatedAt } : { exists: false };
}

/**
 * The validators of a list page. `updated_at` moves forward on every write to a row, so an insert into the page or
 * an update of one of its rows raises the newest `updated_at`, and a row leaving the page (deleted, or updated
 * past the page's end) changes the count or lets a newer row in. Equal (count, newest) therefore means the same
 * rows at the same versions, hence the same body — with one caveat: `updated_at` is taken when a statement runs,
 * not when it commits, so two writers committing in the other order, at that instant and together with a delete,
 * could leave both numbers as they were. The tag is weak (§8.8.1) to say it names equivalent content, enough for
 * a 304 and never used to guard a write (writes are guarded per row). A stale list lasts until the next write;
 * no update is lost, as each row's write is conditional on that row's own version.
 */
function listValidators(page: { newest: Date | undefined; count: number }): Validators {
  const version = page.newest ? `${page.count}-${page.newest.getTime().toString(36)}` : '0';
  return {
    etag: etagFromVersion(version, { weak: true }),
    ...(page.newest ? { lastModified: page.newest } : {}),
  };
}

export function createUsersApp(db: UsersDb): express.Express {
  const app = express();
  app.disable('x-powered-by');

  const one = conditional({
    validate: async (req) => {
      if (plainRead(req)) return undefined;
      const id = idOf(req);
      return userValidators(id === undefined ? undefined : await db.updatedAt(id));
    },
    requirePreconditions: true, // PATCH and DELETE without If-Match: 428 (RFC 6585 §3)
    headers: { 'cache-control': 'no-cache' },
  });
  const many = conditional({
    validate: async (req) => {
      if (plainRead(req)) return undefined;
      const since = sinceOf(req);
      // An unreadable `since` has no representation: the handler answers 400.
      return since === null ? { exists: false } : listValidators(await db.pageVersion(since));
    },
    headers: { 'cache-control': 'no-cache' },
  });
  // Bodies are parsed after the precondition check: a refused write (412, 428) is answered without reading it.
  const json = express.json({ limit: '16kb' });

  app.get('/users', many, async (req, res) => {
    const since = sinceOf(req);
    if (since === null)
      return void problem(res, 400, '`since` must be an ISO 8601 date, e.g. 2024-01-31T00:00:00Z');
    const users = await db.list(since);
    // The tag of the rows actually loaded: a write between validate and this query must not pair a new body
    // with the old tag.
    const newest = users.reduce<Date | undefined>(
      (n, u) => (n && n >= u.updatedAt ? n : u.updatedAt),
      undefined,
    );
    res.set(headersOf(listValidators({ newest, count: users.length }))).json(users);
  });

  app.post('/users', json, async (req, res) => {
    const fields = newUserOf(req.body);
    if (typeof fields === 'string') return void problem(res, 400, fields);
    const user = await db.create(fields);
    res.status(201).location(`/users/${user.id}`);
    send(res, user);
  });

  app.get('/users/:id', one, async (req, res) => {
    const id = idOf(req);
    const user = id === undefined ? undefined : await db.get(id);
    if (!user) return void problem(res, 404, `no user ${req.params.id}`);
    send(res, user); // its own tag, for the same reason as the list's
  });

  app.patch('/users/:id', one, json, async (req, res) => {
    const patch = patchOf(req.body);
    if (typeof patch === 'string') return void problem(res, 400, patch);
    const user = await writeChecked(db, req, res, (id, version) => db.update(id, version, patch));
    if (user) send(res, user);
  });

  app.delete('/users/:id', one, async (req, res) => {
    if (await writeChecked(db, req, res, (id, version) => db.remove(id, version))) res.status(204).end();
  });

  app.use((_req: express.Request, res: express.Response) => problem(res, 404, 'no such route'));
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = (error as { status?: number }).status; // body-parser's 400 and 413
    if (status && status >= 400 && status < 500) return void problem(res, status, (error as Error).message);
    console.error(error);
    problem(res, 500, 'the database did not answer as expected');
  });
  return app;
}

/**
 * Runs a write conditional on the version the request's preconditions held against, as `validate` read it
 * (`checkedValidators`): `… WHERE id = $1 AND updated_at = $2`. When it finds 0 rows, the row changed or went
 * after the check — in another process, perhaps — and the request is evaluated again against the row as it is
 * now: `res.conditional` answers 412 with the current ETag or, for a precondition that still holds
 * (`If-Match: *`), the write is tried again on the new version. Returns what the write returned, or undefined
 * once an answer has been sent (404, 412).
 */
async function writeChecked<T>(
  db: UsersDb,
  req: express.Request,
  res: express.Response,
  write: (id: number, version: Date) => Promise<T | undefined | false>,
): Promise<T | undefined> {
  const id = idOf(req);
  let version = checkedValidators(req)?.lastModified;
  for (;;) {
    if (id === undefined || !(version instanceof Date))
      return void problem(res, 404, `no user ${req.params.id}`);
    const done = await write(id, version);
    if (done) return done;
    const now = userValidators(await db.updatedAt(id));
    if (res.conditional(now).action !== 'proceed') return undefined;
    version = now.lastModified;
  }
}

/**
 * A GET or HEAD without any precondition has no early answer to give: its handler loads the row(s) anyway and
 * sends the ETag of what it loaded. `validate` returning undefined for it saves the version query on every such
 * 200; conditional() then keeps the handler's ETag (it hashes a body only when the handler sets none).
 */
function plainRead(req: express.Request): boolean {
  const h = req.headers;
  return (
    (req.method === 'GET' || req.method === 'HEAD') &&
    h['if-none-match'] === undefined &&
    h['if-modified-since'] === undefined &&
    h['if-match'] === undefined &&
    h['if-unmodified-since'] === undefined
  );
}

/** A user with the ETag and Last-Modified of the version sent. */
function send(res: express.Response, user: User): void {
  res.set(headersOf(userValidators(user.updatedAt))).json(user);
}

function headersOf(validators: Validators): Record<string, string> {
  const headers: Record<string, string> = { etag: validators.etag! };
  if (validators.lastModified) headers['last-modified'] = formatHttpDate(validators.lastModified);
  return headers;
}

function problem(res: express.Response, status: number, detail: string): void {
  res.status(status).type('application/problem+json').json({ type: 'about:blank', status, detail });
}

/** A row id: a positive 32-bit integer, else undefined (no such user). */
function idOf(req: express.Request): number | undefined {
  const id = Number(req.params.id);
  return Number.isInteger(id) && id > 0 && id <= 2 ** 31 - 1 && /^\d+$/.test(String(req.params.id))
    ? id
    : undefined;
}

/** `?since=`: undefined when absent, null when unreadable. */
function sinceOf(req: express.Request): Date | undefined | null {
  const value = req.query.since;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(value))
    return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function newUserOf(body: unknown): NewUser | string {
  const b = (body ?? {}) as Record<string, unknown>;
  if (!isText(b.name) || !isText(b.email))
    return 'a user needs a name and an email (strings of 1 to 200 characters)';
  return { name: b.name, email: b.email };
}

function patchOf(body: unknown): UserPatch | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'send a JSON object';
  const b = body as Record<string, unknown>;
  const patch: UserPatch = {};
  for (const key of Object.keys(b)) {
    const value = b[key];
    if ((key === 'name' || key === 'email') && isText(value)) patch[key] = value;
    else if (
      key === 'visits' &&
      Number.isInteger(value) &&
      (value as number) >= 0 &&
      (value as number) < 2 ** 31
    )
      patch.visits = value as number;
    else
      return `cannot set ${JSON.stringify(key)} to ${JSON.stringify(value)}: name, email (text) and visits (integer ≥ 0) can be changed`;
  }
  return patch;
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 200;
}
