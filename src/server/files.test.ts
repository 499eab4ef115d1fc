import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { etagFromStats } from '../core/index.ts';
import { distinctFrom } from './file-writes.ts';
import { serveFiles } from './files.ts';

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
