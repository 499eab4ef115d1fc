/**
 * `etagkit serve --writable` against hostile names: prototype keys, symbolic link loops, names longer than the
 * file system allows, network-path references and links that lead to dotfiles. Every answer is a clean 4xx
 * problem response (RFC 9457) and the server logs no stack trace for any of them.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningCli, startCli } from './support/cli.ts';
import { request } from './support/http.ts';

let dir: string;
let server: RunningCli;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etagkit-hostile-'));
  await writeFile(join(dir, 'x.constructor'), 'not a prototype');
  await writeFile(join(dir, 'x.__proto__'), 'not a prototype');
  await writeFile(join(dir, '.env'), 'TOKEN=secret');
  await mkdir(join(dir, '.git'));
  await writeFile(join(dir, '.git', 'config'), '[core]');
  await symlink('.env', join(dir, 'dotlink'));
  await symlink('.git', join(dir, 'gitlink'));
  await symlink('loop-b', join(dir, 'loop-a'));
  await symlink('loop-a', join(dir, 'loop-b'));
  server = await startCli(['serve', dir, '--port', '0', '--writable']);
});

after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const send = (method: string, path: string, body?: string) =>
  request(server.url, path, { method, body, headers: body === undefined ? {} : { 'if-none-match': '*' } });

function assertProblem(
  res: { status: number; headers: Record<string, unknown>; body: Buffer },
  status: number,
) {
  assert.equal(res.status, status, res.body.toString());
  assert.equal(res.headers['content-type'], 'application/problem+json');
  const problem = JSON.parse(res.body.toString());
  assert.equal(problem.status, status);
  assert.doesNotMatch(problem.detail, /\n\s+at |ELOOP|ENAMETOOLONG/);
}

describe('names that are also Object.prototype keys', () => {
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    test(`a missing /y.${name} → 404`, async () => {
      assertProblem(await request(server.url, `/y.${name}`), 404);
    });
  }

  for (const name of ['x.constructor', 'x.__proto__']) {
    test(`an existing ${name} is served as application/octet-stream`, async () => {
      const res = await request(server.url, `/${name}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'application/octet-stream');
      assert.equal(res.body.toString(), 'not a prototype');
    });
  }
});

describe('writes the file system cannot do are clean 4xx answers', () => {
  test('PUT and DELETE through a symbolic link loop → 409 problem', async () => {
    for (const path of ['/loop-a', '/loop-a/x.txt', '/loop-a/deeper/x.txt']) {
      assertProblem(await send('PUT', path, 'x'), 409);
      assertProblem(await send('DELETE', path), 409);
    }
  });

  test('§15.5.15: PUT and DELETE of a name over 255 bytes → 414 problem', async () => {
    const long = 'a'.repeat(256);
    for (const path of [`/${long}`, `/dir/${long}`, `/${'%C3%A9'.repeat(128)}.txt`]) {
      assertProblem(await send('PUT', path, 'x'), 414);
      assertProblem(await send('DELETE', path), 414);
    }
    assert.equal((await request(server.url, `/${long}`)).status, 404, 'GET: nothing there');
  });

  test('none of them was logged as a server failure', () => {
    assert.doesNotMatch(server.output(), /request failed|\n\s+at /);
  });
});

describe('§10.2.2 Location stays on this host', () => {
  test('PUT //evil.example/x.txt creates /evil.example/x.txt and says so, never a network-path reference', async () => {
    const res = await send('PUT', '//evil.example/x.txt', 'x');
    assert.equal(res.status, 201);
    assert.equal(res.headers.location, '/evil.example/x.txt');
    assert.equal(await readFile(join(dir, 'evil.example', 'x.txt'), 'utf8'), 'x');
  });

  test('Location is the path as stored, percent-encoded, without empty or "." segments', async () => {
    const res = await send('PUT', '/./a//caf%C3%A9%20x.txt', 'x');
    assert.equal(res.status, 201);
    assert.equal(res.headers.location, '/a/caf%C3%A9%20x.txt');
  });
});

describe('a link inside the root that leads to a dotfile hides it as the dotfile itself is hidden', () => {
  test('GET and HEAD through the link → 404', async () => {
    assertProblem(await request(server.url, '/dotlink'), 404);
    assert.equal((await request(server.url, '/dotlink', { method: 'HEAD' })).status, 404);
    assertProblem(await request(server.url, '/gitlink/config'), 404);
  });

  test('PUT and DELETE through the link change nothing', async () => {
    assert.equal((await request(server.url, '/dotlink', { method: 'PUT', body: 'pwned' })).status, 403);
    assert.equal((await request(server.url, '/dotlink', { method: 'DELETE' })).status, 403);
    assert.equal(
      (await request(server.url, '/gitlink/config', { method: 'PUT', body: 'pwned' })).status,
      403,
    );
    assert.equal(
      (await request(server.url, '/gitlink/hooks/x', { method: 'PUT', body: 'pwned' })).status,
      403,
    );
    assert.equal(await readFile(join(dir, '.env'), 'utf8'), 'TOKEN=secret');
    assert.equal(await readFile(join(dir, '.git', 'config'), 'utf8'), '[core]');
    assert.deepEqual(await readdir(join(dir, '.git')), ['config']);
  });
});
