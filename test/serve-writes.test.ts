/**
 * `etagkit serve --writable`: guarded PUT/DELETE over real sockets (RFC 9110 §13.1, §9.3.4, §9.3.5; RFC 6585 §3),
 * the lost-update test with 16 concurrent writers, and the CLI's start-up errors.
 */
import assert from 'node:assert/strict';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type RunningCli, runCli, startCli } from './support/cli.ts';
import { request } from './support/http.ts';

const OLD = new Date('2020-01-01T00:00:00Z');

let dir: string;
let outside: string;
let strictDir: string;
let writable: RunningCli;
let strict: RunningCli;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etagkit-writes-'));
  strictDir = await mkdtemp(join(tmpdir(), 'etagkit-strict-'));
  outside = await mkdtemp(join(tmpdir(), 'etagkit-outside-'));
  await symlink(outside, join(dir, 'escape-dir'));
  await mkdir(join(dir, 'real'));
  await symlink(join(dir, 'real'), join(dir, 'alias'));
  await writeFile(join(dir, 'target.txt'), 'target');
  await symlink(join(dir, 'target.txt'), join(dir, 'link.txt'));
  await symlink(join(outside, 'later'), join(dir, 'dangling'));
  [writable, strict] = await Promise.all([
    startCli(['serve', dir, '--port', '0', '--writable']),
    startCli(['serve', strictDir, '--port', '0', '--writable', '--require-preconditions']),
  ]);
});

after(async () => {
  await Promise.all([writable?.stop(), strict?.stop()]);
  await rm(dir, { recursive: true, force: true });
  await rm(strictDir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

const put = (base: string, path: string, body: string, headers: Record<string, string> = {}) =>
  request(base, path, { method: 'PUT', body, headers });

describe('etagkit serve --writable', () => {
  test('§9.3.4: PUT creates (201 + ETag + Location), GET returns the same bytes and ETag', async () => {
    const created = await put(writable.url, '/notes/a.txt', 'first');
    assert.equal(created.status, 201);
    assert.equal(created.headers.location, '/notes/a.txt');
    const got = await request(writable.url, '/notes/a.txt');
    assert.equal(got.body.toString(), 'first');
    assert.equal(got.headers.etag, created.headers.etag);
  });

  test('§13.1.1: PUT with the current If-Match replaces (204, new ETag); a stale one gets 412', async () => {
    const { headers } = await put(writable.url, '/b.txt', 'v1');
    const replaced = await put(writable.url, '/b.txt', 'v2', { 'if-match': String(headers.etag) });
    assert.equal(replaced.status, 204);
    assert.equal(replaced.headers['content-length'], undefined, '§8.6: no Content-Length in a 204');
    assert.notEqual(replaced.headers.etag, headers.etag);
    // Same size, written within the same millisecond tick: the tag must still change.
    const stale = await put(writable.url, '/b.txt', 'v3', { 'if-match': String(headers.etag) });
    assert.equal(stale.status, 412);
    assert.equal(JSON.parse(stale.body.toString()).precondition, 'if-match');
    assert.equal(stale.headers.etag, replaced.headers.etag);
    assert.equal(await readFile(join(dir, 'b.txt'), 'utf8'), 'v2');
  });

  test('§13.1.2: If-None-Match: * creates only when the file is missing', async () => {
    assert.equal((await put(writable.url, '/once.txt', 'x', { 'if-none-match': '*' })).status, 201);
    const again = await put(writable.url, '/once.txt', 'y', { 'if-none-match': '*' });
    assert.equal(again.status, 412);
    assert.equal(JSON.parse(again.body.toString()).precondition, 'if-none-match');
    assert.equal(await readFile(join(dir, 'once.txt'), 'utf8'), 'x');
  });

  test('§13.1.1: If-Match on a missing file → 412 (nothing is created)', async () => {
    assert.equal((await put(writable.url, '/ghost.txt', 'x', { 'if-match': '"anything"' })).status, 412);
    assert.equal((await request(writable.url, '/ghost.txt')).status, 404);
  });

  test('§13.1.4: If-Unmodified-Since before the last change → 412', async () => {
    await put(writable.url, '/ius.txt', 'x');
    const res = await put(writable.url, '/ius.txt', 'y', {
      'if-unmodified-since': 'Mon, 01 Jan 2001 00:00:00 GMT',
    });
    assert.equal(res.status, 412);
    assert.equal(JSON.parse(res.body.toString()).precondition, 'if-unmodified-since');
  });

  test('§9.3.5: DELETE with a stale If-Match → 412; with the current one → 204; then 404', async () => {
    const { headers } = await put(writable.url, '/d.txt', 'x');
    assert.equal(
      (await request(writable.url, '/d.txt', { method: 'DELETE', headers: { 'if-match': '"stale"' } }))
        .status,
      412,
    );
    const deleted = await request(writable.url, '/d.txt', {
      method: 'DELETE',
      headers: { 'if-match': String(headers.etag) },
    });
    assert.equal(deleted.status, 204);
    assert.equal(deleted.headers['content-length'], undefined, '§8.6: no Content-Length in a 204');
    assert.equal((await request(writable.url, '/d.txt')).status, 404);
    assert.equal((await request(writable.url, '/d.txt', { method: 'DELETE' })).status, 404);
  });

  test('§13.1.1 §13.2.2: a PUT refused by its precondition changes nothing, not even parent directories', async () => {
    assert.equal((await put(writable.url, '/fresh/dir/x.txt', 'x', { 'if-match': '"x"' })).status, 412);
    await assert.rejects(stat(join(dir, 'fresh')), { code: 'ENOENT' });
  });

  test('safety: a PUT below a directory link that leads out creates nothing outside the root', async () => {
    assert.equal((await put(writable.url, '/escape-dir/made/x.txt', 'x')).status, 403);
    assert.equal((await put(writable.url, '/escape-dir/x.txt', 'x')).status, 403);
    assert.equal(
      (await put(writable.url, '/dangling/x.txt', 'x')).status,
      409,
      'a dangling link is no directory',
    );
    assert.deepEqual(await readdir(outside), []);
  });

  test('a PUT through a link inside the root writes the file it points to; the link stays', async () => {
    const read = await request(writable.url, '/link.txt');
    const res = await put(writable.url, '/link.txt', 'through', { 'if-match': String(read.headers.etag) });
    assert.equal(res.status, 204);
    assert.equal(await readFile(join(dir, 'target.txt'), 'utf8'), 'through');
    assert.ok((await lstat(join(dir, 'link.txt'))).isSymbolicLink());
    assert.equal((await request(writable.url, '/target.txt')).headers.etag, res.headers.etag);
  });

  test('writes refuse dotfiles, traversal and directories; no temp files are left behind', async () => {
    assert.equal((await put(writable.url, '/.hidden', 'x')).status, 404);
    assert.equal((await put(writable.url, '/%2e%2e/evil.txt', 'x')).status, 400);
    assert.equal((await put(writable.url, '/notes', 'x')).status, 409);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith('.')),
      [],
    );
  });
});

describe('etagkit serve --writable --require-preconditions (RFC 6585 §3)', () => {
  test('creating a new file needs no precondition', async () => {
    assert.equal((await put(strict.url, '/new.txt', 'x')).status, 201);
  });

  test('an unconditional PUT or DELETE of an existing file → 428 problem+json', async () => {
    const { headers } = await put(strict.url, '/c.txt', 'x', { 'if-none-match': '*' });
    const res = await put(strict.url, '/c.txt', 'y');
    assert.equal(res.status, 428);
    assert.equal(res.headers['content-type'], 'application/problem+json');
    assert.match(JSON.parse(res.body.toString()).detail, /If-Match/);
    assert.equal((await request(strict.url, '/c.txt', { method: 'DELETE' })).status, 428);
    assert.equal((await put(strict.url, '/c.txt', 'y', { 'if-match': String(headers.etag) })).status, 204);
  });

  test('If-Unmodified-Since = Last-Modified alone → 428 naming If-Match: a change in the same second would hide', async () => {
    await writeFile(join(strictDir, 'lm.txt'), 'x');
    await utimes(join(strictDir, 'lm.txt'), OLD, OLD); // unchanged for years: still not proof enough
    const read = await request(strict.url, '/lm.txt');
    const res = await put(strict.url, '/lm.txt', 'y', {
      'if-unmodified-since': String(read.headers['last-modified']),
    });
    assert.equal(res.status, 428);
    assert.equal(res.headers['content-type'], 'application/problem+json');
    const body = JSON.parse(res.body.toString());
    assert.equal(body.precondition, 'if-match');
    assert.match(body.detail, /If-Match/);
    assert.equal(await readFile(join(strictDir, 'lm.txt'), 'utf8'), 'x');
  });

  test('If-Unmodified-Since = the Date of a read made a second or more after the last change → accepted', async () => {
    await writeFile(join(strictDir, 'date.txt'), 'x');
    await utimes(join(strictDir, 'date.txt'), OLD, OLD);
    const read = await request(strict.url, '/date.txt');
    const res = await put(strict.url, '/date.txt', 'y', { 'if-unmodified-since': String(read.headers.date) });
    assert.equal(res.status, 204);
  });

  test('a change in the same second as the Last-Modified a client holds is never overwritten through it', async () => {
    // Version A at S+0.2 s is read; version B lands at S+0.7 s: both show Last-Modified S.
    const second = Math.floor(Date.now() / 1000) - 60;
    const path = join(strictDir, 'same-second.txt');
    await writeFile(path, 'A');
    await utimes(path, second + 0.2, second + 0.2);
    const readA = await request(strict.url, '/same-second.txt');
    const b = await put(strict.url, '/same-second.txt', 'B', { 'if-match': String(readA.headers.etag) });
    assert.equal(b.status, 204);
    await utimes(path, second + 0.7, second + 0.7);
    const readB = await request(strict.url, '/same-second.txt');
    assert.equal(readB.headers['last-modified'], readA.headers['last-modified']);
    // §13.1.4 alone (and a comparison with the server's clock: B is a minute old) would accept this and lose B.
    const res = await put(strict.url, '/same-second.txt', 'A+1', {
      'if-unmodified-since': String(readA.headers['last-modified']),
    });
    assert.notEqual(res.status, 204);
    assert.equal(await readFile(path, 'utf8'), 'B');
  });

  test('32 read-modify-write clients guarded only by If-Unmodified-Since lose no update', async () => {
    await writeFile(join(strictDir, 'ius-counter.txt'), '0');
    await utimes(join(strictDir, 'ius-counter.txt'), OLD, OLD);
    const TARGET = 3;
    let accepted = 0;
    let acceptedFromLastModified = 0;
    const refusals = new Map<number, number>();
    // Half the clients send back Last-Modified, half the Date of the response they read.
    const client = async (i: number) => {
      const field = i % 2 === 0 ? 'last-modified' : 'date';
      while (accepted < TARGET) {
        const read = await request(strict.url, '/ius-counter.txt');
        const next = String(Number(read.body.toString()) + 1);
        const res = await put(strict.url, '/ius-counter.txt', next, {
          'if-unmodified-since': String(read.headers[field]),
        });
        if (res.status === 204) {
          accepted++;
          if (field === 'last-modified') acceptedFromLastModified++;
          continue;
        }
        assert.ok(res.status === 412 || res.status === 428, `unexpected status ${res.status}`);
        refusals.set(res.status, (refusals.get(res.status) ?? 0) + 1);
        await delay(25);
      }
    };
    await Promise.all(Array.from({ length: 32 }, (_, i) => client(i)));
    assert.equal(
      await readFile(join(strictDir, 'ius-counter.txt'), 'utf8'),
      String(accepted),
      'no lost update',
    );
    assert.ok(accepted >= TARGET);
    assert.equal(acceptedFromLastModified, 0);
    assert.ok((refusals.get(428) ?? 0) > 0);
  });

  test('an If-Unmodified-Since that is not a date is ignored (§13.1.4), so the request is unconditional → 428', async () => {
    await put(strict.url, '/ius.txt', 'x', { 'if-none-match': '*' });
    const res = await put(strict.url, '/ius.txt', 'y', { 'if-unmodified-since': 'yesterday' });
    assert.equal(res.status, 428);
    assert.equal(await readFile(join(strictDir, 'ius.txt'), 'utf8'), 'x');
  });
});

describe('lost updates', () => {
  const CLIENTS = 16;

  /** Client i increments the counter `times` through paths[i % paths.length]; returns how many 412s they met. */
  async function increment(paths: string[], times: number): Promise<number> {
    let conflicts = 0;
    const client = async (i: number) => {
      const path = paths[i % paths.length]!;
      for (let done = 0; done < times; ) {
        const read = await request(writable.url, path);
        const next = String(Number(read.body.toString()) + 1);
        const res = await put(writable.url, path, next, { 'if-match': String(read.headers.etag) });
        if (res.status === 204) done++;
        else if (res.status === 412) conflicts++;
        else assert.fail(`unexpected status ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    return conflicts;
  }

  test('16 clients doing read-modify-write increments with If-Match and retry on 412 lose nothing', async () => {
    await writeFile(join(dir, 'counter.txt'), '0');
    const conflicts = await increment(['/counter.txt'], 8);
    assert.equal(await readFile(join(dir, 'counter.txt'), 'utf8'), String(CLIENTS * 8));
    assert.ok(conflicts > 0, 'the clients should have collided at least once');
  });

  test('the same through two paths to one file (a directory link inside the root) loses nothing', async () => {
    await writeFile(join(dir, 'real', 'counter.txt'), '0');
    await increment(['/real/counter.txt', '/alias/counter.txt'], 4);
    assert.equal(await readFile(join(dir, 'real', 'counter.txt'), 'utf8'), String(CLIENTS * 4));
  });
});

describe('etagkit serve: what the server may not read or write (EACCES)', () => {
  let permDir: string;
  let limited: RunningCli;

  before(async () => {
    permDir = await mkdtemp(join(tmpdir(), 'etagkit-perm-'));
    await chmod(permDir, 0o755);
    await writeFile(join(permDir, 'secret.txt'), 'secret');
    await chmod(join(permDir, 'secret.txt'), 0o000);
    await mkdir(join(permDir, 'ro'), { mode: 0o555 });
    // Root reads everything: run the server as nobody then.
    const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    limited = await startCli(['serve', permDir, '--port', '0', '--writable'], as);
  });

  after(async () => {
    await limited?.stop();
    await rm(permDir, { recursive: true, force: true });
  });

  test('an unreadable file → 403 problem+json (not a 503 that says to retry)', async () => {
    const res = await request(limited.url, '/secret.txt');
    assert.equal(res.status, 403);
    assert.equal(res.headers['content-type'], 'application/problem+json');
  });

  test('a PUT into a directory the server may not write → 403, and the server keeps serving', async () => {
    assert.equal((await put(limited.url, '/ro/x.txt', 'x')).status, 403);
    assert.equal((await put(limited.url, '/ro/new/x.txt', 'x')).status, 403);
    assert.equal((await request(limited.url, '/ro/')).status, 404);
  });
});

describe('etagkit serve: start-up errors', () => {
  test('a missing directory is named, exit 1', async () => {
    const { code, stderr } = await runCli(['serve', join(dir, 'nope')]);
    assert.equal(code, 1);
    assert.match(stderr, /is not a directory \(it does not exist\)/);
  });

  test('a port in use is named, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const { code, stderr } = await runCli(['serve', dir, '--port', String(port)]);
      assert.equal(code, 1);
      assert.match(stderr, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
    } finally {
      blocker.close();
    }
  });

  test('usage errors exit 2', async () => {
    const usages = [
      ['serve'],
      ['serve', dir, '--port', 'x'],
      ['serve', dir, '--port', ''], // not port 0
      ['serve', dir, '--require-preconditions'],
      ['frobnicate'],
    ];
    const runs = await Promise.all(usages.map((args) => runCli(args)));
    for (const [i, { code }] of runs.entries()) assert.equal(code, 2, usages[i]!.join(' '));
  });
});
