import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, open, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etagFromStats } from '../core/index.ts';
import { fileBodyStream } from './body.ts';
import { FileRoot } from './paths.ts';
import { FileServer, serveFiles } from './server.ts';
import { distinctFrom } from './writes.ts';

let dir: string;
let handler: (request: Request) => Promise<Response>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etagkit-files-'));
  await writeFile(join(dir, 'a.txt'), 'x'.repeat(100_000));
  handler = await serveFiles(dir, { writable: true, maxBodyBytes: 10 });
});

after(() => rm(dir, { recursive: true, force: true }));

test('serveFiles answers Fetch requests: 200 then 304 for its own ETag', async () => {
  const first = await handler(new Request('http://x/a.txt'));
  assert.equal(first.status, 200);
  assert.equal((await first.text()).length, 100_000);
  const second = await handler(
    new Request('http://x/a.txt', { headers: { 'if-none-match': first.headers.get('etag')! } }),
  );
  assert.equal(second.status, 304);
  assert.equal(second.body, null);
});

test('serveFiles streams large ranges from the file (§14.2)', async () => {
  const res = await handler(new Request('http://x/a.txt', { headers: { range: 'bytes=70000-70009' } }));
  assert.equal(res.status, 206);
  assert.equal(await res.text(), 'x'.repeat(10));
});

test('PUT bodies over maxBodyBytes get 413 and leave nothing behind', async () => {
  const res = await handler(new Request('http://x/big.txt', { method: 'PUT', body: 'more than ten bytes' }));
  assert.equal(res.status, 413);
  assert.equal((await handler(new Request('http://x/big.txt'))).status, 404);
});

test('a write that lands on the same size and mtime still gets a new ETag (coarse file system clocks)', async () => {
  const before = join(dir, 'before.txt');
  const temp = join(dir, 'temp.txt');
  await writeFile(before, 'aa');
  await writeFile(temp, 'bb');
  const old = await stat(before);
  await utimes(temp, old.atimeMs / 1000, old.mtimeMs / 1000);
  const forced = await stat(temp);
  assert.equal(etagFromStats(forced), etagFromStats(old), 'precondition of this test: equal tags');
  const written = await distinctFrom(temp, old);
  assert.notEqual(etagFromStats(written), etagFromStats(old));
  assert.ok(written.mtimeMs > old.mtimeMs);
});

test('a file body destroyed before its first read still closes its file (a client gone early)', async () => {
  const handle = await open(join(dir, 'a.txt'));
  const head = new TextEncoder().encode('--b\r\n\r\n');
  const stream = fileBodyStream({
    kind: 'parts',
    handle,
    parts: [{ head, range: { start: 0, end: 9 } }],
    tail: head,
  });
  stream.destroy();
  await once(stream, 'close');
  assert.equal(handle.fd, -1, 'the handle is closed');
});

test('a file body whose file is shorter than promised fails (no response short of its Content-Length)', async () => {
  await writeFile(join(dir, 'short.txt'), 'ten bytes!');
  const handle = await open(join(dir, 'short.txt'));
  const stream = fileBodyStream({ kind: 'file', handle, start: 0, end: 99 });
  await assert.rejects(async () => {
    for await (const _ of stream);
  }, /file shrank/);
  assert.equal(handle.fd, -1, 'the handle is closed');
});

/** A root whose first lookup of a file is followed at once by `change` (as if by another process). */
class ChangingRoot extends FileRoot {
  #change: ((path: string) => Promise<void>) | undefined;
  constructor(path: string, change: (path: string) => Promise<void>) {
    super(path);
    this.#change = change;
  }
  override async lookup(segments: readonly string[]) {
    const found = await super.lookup(segments);
    const change = this.#change;
    this.#change = undefined;
    if (found && change) await change(found.real);
    return found;
  }
}

const get = (pathname: string) => ({ method: 'GET', pathname, search: '', headers: {} });

test('a file deleted between lookup and open → 404, not an error', async () => {
  await writeFile(join(dir, 'gone.txt'), 'soon gone');
  const server = new FileServer(new ChangingRoot(dir, unlink));
  assert.equal((await server.respond(get('/gone.txt'))).status, 404);
});

test('a file replaced between lookup and open is served as the new file, with its own ETag', async () => {
  await writeFile(join(dir, 'swap.txt'), 'old');
  await writeFile(join(dir, 'next.txt'), 'new content');
  const server = new FileServer(new ChangingRoot(dir, (path) => rename(join(dir, 'next.txt'), path)));
  const plan = await server.respond(get('/swap.txt'));
  assert.equal(plan.status, 200);
  assert.equal(plan.body?.kind === 'bytes' && new TextDecoder().decode(plan.body.data), 'new content');
  assert.equal(plan.headers.etag, etagFromStats(await stat(join(dir, 'swap.txt'))));
});

describe('the file cache stays within cacheBytes and keeps what is used', () => {
  const FILE = 8 * 1024;

  test('200 files of 8 KiB through a 256 KiB cache: never more than 256 KiB held, the hot file stays', async () => {
    const root = join(dir, 'many');
    await mkdir(root);
    for (let i = 0; i < 200; i++) await writeFile(join(root, `f${i}.bin`), Buffer.alloc(FILE, i));
    await writeFile(join(root, 'hot.bin'), Buffer.alloc(FILE, 255));
    const server = await FileServer.open(root, { cacheBytes: 256 * 1024 });
    for (let i = 0; i < 200; i++) {
      assert.equal((await server.respond(get(`/f${i}.bin`))).status, 200);
      if (server.respondNow(get('/hot.bin')) === undefined) await server.respond(get('/hot.bin'));
      assert.ok(server.cached.bytes <= 256 * 1024, `${server.cached.bytes} bytes held`);
    }
    const { entries } = server.cached;
    assert.ok(entries >= 20 && entries <= (256 * 1024) / FILE, `${entries} files remembered`);
    assert.equal(server.respondNow(get('/hot.bin'))?.status, 200, 'the hot file is answered from memory');
  });

  test('cacheBytes 0 keeps nothing and still serves', async () => {
    const server = await FileServer.open(dir, { cacheBytes: 0 });
    assert.equal((await server.respond(get('/a.txt'))).status, 200);
    assert.deepEqual(server.cached, { entries: 0, bytes: 0 });
  });

  test('a bad cacheBytes or etag option is refused with the offending value', () => {
    const root = new FileRoot(dir);
    assert.throws(() => new FileServer(root, { cacheBytes: -1 }), /cacheBytes must be .* not -1/);
    assert.throws(() => new FileServer(root, { cacheBytes: 1.5 }), /not 1\.5/);
    assert.throws(
      () => new FileServer(root, { etag: 'inode' as 'stats' }),
      /etag must be "stats" or "content", not "inode"/,
    );
  });
});

/** A root that counts how often it resolves a directory's real path (a cache miss). */
class CountingRoot extends FileRoot {
  resolved = 0;
  override async resolvePath(path: string) {
    this.resolved++;
    return super.resolvePath(path);
  }
}

test('directory real paths: an LRU of bounded size, never cleared wholesale (hot directories stay)', async () => {
  const root = join(dir, 'dirs');
  for (let i = 0; i < 300; i++) {
    await mkdir(join(root, `d${i}`), { recursive: true });
    await writeFile(join(root, `d${i}`, 'x.txt'), 'x');
  }
  const files = new CountingRoot(root, { maxDirectories: 100, clock: () => 0 });
  await files.lookup(['d0', 'x.txt']);
  for (let i = 1; i < 300; i++) {
    await files.lookup([`d${i}`, 'x.txt']);
    const before = files.resolved;
    await files.lookup(['d0', 'x.txt']);
    assert.equal(files.resolved, before, `d0 still cached after ${i} other directories`);
    assert.ok(files.directoriesCached <= 100);
  }
  assert.equal(files.directoriesCached, 100);
});

test('respondNow answers a remembered file for every coding preference once each has been served', async () => {
  await writeFile(join(dir, 'page.html'), '<p>page</p>'.repeat(100));
  const server = await FileServer.open(dir);
  const codings = [undefined, 'gzip', 'br', 'gzip, br', 'br;q=0, gzip'];
  const requestFor = (coding: string | undefined) => ({
    ...get('/page.html'),
    headers: coding === undefined ? {} : { 'accept-encoding': coding },
  });
  for (const coding of codings) assert.equal(server.respondNow(requestFor(coding)), undefined);
  for (const coding of codings) await server.respond(requestFor(coding));
  for (const coding of codings) {
    const plan = server.respondNow(requestFor(coding));
    assert.equal(plan?.status, 200, `Accept-Encoding: ${coding}`);
    assert.equal(
      plan.headers['content-encoding'],
      coding === undefined ? undefined : coding.startsWith('br;') || coding === 'gzip' ? 'gzip' : 'br',
    );
  }
});

test('options: cacheControl is sent on 200 and 304; compress: false sends identity without Vary', async () => {
  await writeFile(join(dir, 'styles.css'), 'body { color: red }\n'.repeat(50));
  const handler = await serveFiles(dir, { cacheControl: 'public, max-age=60', compress: false });
  const ok = await handler(
    new Request('http://x/styles.css', { headers: { 'accept-encoding': 'gzip, br' } }),
  );
  assert.equal(ok.headers.get('cache-control'), 'public, max-age=60');
  assert.equal(ok.headers.get('content-encoding'), null);
  assert.equal(ok.headers.get('vary'), null);
  const notModified = await handler(
    new Request('http://x/styles.css', { headers: { 'if-none-match': ok.headers.get('etag')! } }),
  );
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers.get('cache-control'), 'public, max-age=60');
});

test('a full cache lets one new file in eight: a stream of files asked for once does not replace it', async () => {
  const root = join(dir, 'admission');
  await mkdir(root);
  for (let i = 0; i < 200; i++) await writeFile(join(root, `f${i}.bin`), Buffer.alloc(4096, i));
  const server = await FileServer.open(root, { cacheBytes: 64 * 1024 });
  const cachedNow = (i: number) => server.respondNow(get(`/f${i}.bin`)) !== undefined;
  for (let i = 0; i < 20; i++) await server.respond(get(`/f${i}.bin`));
  const first = [...Array(20).keys()].filter(cachedNow);
  assert.ok(first.length >= 8, `${first.length} files fit`);
  // 48 other files, each asked for once: 6 of them get in, each pushing out one of the first.
  for (let i = 100; i < 148; i++) await server.respond(get(`/f${i}.bin`));
  const kept = first.filter(cachedNow).length;
  assert.ok(kept >= first.length - 48 / 8 - 1, `${kept} of ${first.length} first files kept`);
  // A file asked for again and again gets in.
  let requests = 0;
  for (; !cachedNow(199) && requests < 16; requests++) await server.respond(get('/f199.bin'));
  assert.ok(requests <= 8, `let in after ${requests} requests`);
});
