/**
 * `etagkit serve --etag stats|content` over real sockets: content tags agree across copies of a tree whose
 * modification times differ (separate git checkouts), stats tags do not; and whichever the mode, a file changed
 * on disk is never served with its old ETag or its old bytes, however warm the server's memory is.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etagFromContent, etagFromStats } from '../src/core/index.ts';
import { type RunningCli, startCli } from './support/cli.ts';
import { request } from './support/http.ts';

const FILES: Record<string, string> = {
  'index.html': '<!doctype html><title>x</title><p>hello</p>\n'.repeat(20),
  'app.js': 'console.log("etagkit");\n'.repeat(50),
  'logo.bin': 'binary-ish bytes',
};

let work: string;
let copyA: string;
let copyB: string;
const servers: Record<string, RunningCli> = {};

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'etagkit-etags-'));
  copyA = join(work, 'a');
  copyB = join(work, 'b');
  await mkdir(copyA);
  for (const [name, content] of Object.entries(FILES)) await writeFile(join(copyA, name), content);
  // A second checkout of the same files, made a day later.
  await cp(copyA, copyB, { recursive: true });
  const later = new Date(Date.now() + 86_400_000);
  for (const name of Object.keys(FILES)) await utimes(join(copyB, name), later, later);
  const start = (dir: string, ...args: string[]) =>
    startCli(['serve', dir, '--port', '0', '--writable', ...args]);
  [servers.contentA, servers.contentB, servers.statsA, servers.statsB] = await Promise.all([
    start(copyA, '--etag', 'content'),
    start(copyB, '--etag', 'content'),
    start(copyA),
    start(copyB),
  ]);
});

after(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  await rm(work, { recursive: true, force: true });
});

const tagOf = async (server: RunningCli, path: string, headers: Record<string, string> = {}) =>
  String((await request(server.url, path, { headers })).headers.etag);

describe('--etag content: the same bytes get the same tag on every copy', () => {
  for (const name of Object.keys(FILES)) {
    test(`${name}: identity and gzip tags agree across checkouts; stats tags do not`, async () => {
      const identity = await tagOf(servers.contentA!, `/${name}`);
      assert.equal(identity, etagFromContent(FILES[name]!));
      assert.equal(await tagOf(servers.contentB!, `/${name}`), identity);
      const gz = { 'accept-encoding': 'gzip' };
      assert.equal(
        await tagOf(servers.contentB!, `/${name}`, gz),
        await tagOf(servers.contentA!, `/${name}`, gz),
      );
      // The default: size + modification time, which is checkout time.
      assert.notEqual(await tagOf(servers.statsA!, `/${name}`), await tagOf(servers.statsB!, `/${name}`));
    });
  }

  test('§13.1.2: a tag from one copy revalidates on the other (304)', async () => {
    const tag = await tagOf(servers.contentA!, '/app.js');
    const res = await request(servers.contentB!.url, '/app.js', { headers: { 'if-none-match': tag } });
    assert.equal(res.status, 304);
  });

  test('PUT answers the content tag of what it stored; If-Match compares against content tags', async () => {
    const server = servers.contentA!;
    const created = await request(server.url, '/notes.txt', { method: 'PUT', body: 'v1' });
    assert.equal(created.status, 201);
    assert.equal(created.headers.etag, etagFromContent('v1'));
    assert.equal(await tagOf(server, '/notes.txt'), etagFromContent('v1'));
    const replaced = await request(server.url, '/notes.txt', {
      method: 'PUT',
      body: 'v2',
      headers: { 'if-match': etagFromContent('v1') },
    });
    assert.equal(replaced.status, 204);
    assert.equal(replaced.headers.etag, etagFromContent('v2'));
    const stale = await request(server.url, '/notes.txt', {
      method: 'PUT',
      body: 'v3',
      headers: { 'if-match': etagFromContent('v1') },
    });
    assert.equal(stale.status, 412);
    assert.equal(stale.headers.etag, etagFromContent('v2'));
    assert.equal(await readFile(join(copyA, 'notes.txt'), 'utf8'), 'v2');
  });
});

describe('a file changed on disk is never served with its old ETag', () => {
  for (const mode of ['content', 'stats'] as const) {
    test(`--etag ${mode}: 60 rewrites by another program, each read right after: new bytes, matching tag`, async () => {
      const server = mode === 'content' ? servers.contentA! : servers.statsA!;
      const path = join(copyA, `changing-${mode}.txt`);
      let previous: string | undefined;
      for (let i = 0; i < 60; i++) {
        // Same length every time, and sometimes the same modification time: only the bytes tell them apart.
        const content = `version ${String(i).padStart(4, '0')}\n`.repeat(10);
        await writeFile(path, content);
        if (mode === 'stats') await utimes(path, 1_700_000_000 + i, 1_700_000_000 + i);
        const res = await request(server.url, `/changing-${mode}.txt`, {
          headers: previous ? { 'if-none-match': previous } : {},
        });
        assert.equal(res.status, 200, `rewrite ${i}: the old tag must not validate the new bytes`);
        assert.equal(res.body.toString(), content, `rewrite ${i}: the new bytes`);
        const expected = mode === 'content' ? etagFromContent(content) : etagFromStats(await stat(path));
        assert.equal(res.headers.etag, expected, `rewrite ${i}: the tag of the new bytes`);
        previous = String(res.headers.etag);
      }
    });
  }

  test('rewritten in place with size and modification time kept (cp -p): stats keeps its tag by definition but serves the new bytes; content gets a new tag', async () => {
    const path = join(copyA, 'kept-time.txt');
    await writeFile(path, 'AAAA');
    const then = new Date('2024-05-05T05:05:05Z');
    await utimes(path, then, then);
    const before = {
      stats: await request(servers.statsA!.url, '/kept-time.txt'),
      content: await request(servers.contentA!.url, '/kept-time.txt'),
    };
    await writeFile(path, 'BBBB');
    await utimes(path, then, then);
    const stats = await request(servers.statsA!.url, '/kept-time.txt');
    assert.equal(stats.headers.etag, before.stats.headers.etag);
    assert.equal(stats.body.toString(), 'BBBB', 'not the bytes remembered from before');
    const content = await request(servers.contentA!.url, '/kept-time.txt', {
      headers: { 'if-none-match': String(before.content.headers.etag) },
    });
    assert.equal(content.status, 200);
    assert.equal(content.body.toString(), 'BBBB');
    assert.equal(content.headers.etag, etagFromContent('BBBB'));
  });
});
