import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { sweepTempFiles, tempPath } from './temp-files.ts';

let dir: string;
let outside: string;
const uuid = () => crypto.randomUUID();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etagkit-sweep-'));
  outside = await mkdtemp(join(tmpdir(), 'etagkit-sweep-outside-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

test('tempPath: a dotfile beside the target, named after this process', () => {
  const path = tempPath('/srv/site/a');
  assert.match(basename(path), new RegExp(`^\\.etagkit-${process.pid}-[\\da-f-]{36}\\.tmp$`));
  assert.ok(path.startsWith('/srv/site/a/'));
});

test('sweepTempFiles removes the temp files of dead processes everywhere below the root, and only those', async () => {
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const alive = process.ppid;
  await mkdir(join(dir, 'a', 'b'), { recursive: true });
  await mkdir(join(dir, '.git'));
  const gone = [
    `.etagkit-${dead}-${uuid()}.tmp`,
    `a/b/.etagkit-${dead}-${uuid()}.tmp`,
    `a/.etagkit-${process.pid}-${uuid()}.tmp`, // a previous process with this pid: this one has written nothing yet
    `.etagkit-${uuid()}.tmp`, // from before owners were recorded
  ];
  const kept = [
    `a/.etagkit-${alive}-${uuid()}.tmp`, // another server still receiving a body
    '.git/.etagkit-1-00000000-0000-0000-0000-000000000000.tmp', // hidden directories are never written
    'a/.etagkit-notes.tmp',
    'a/page.html',
  ];
  for (const name of [...gone, ...kept]) await writeFile(join(dir, name), 'x');
  await writeFile(join(outside, `.etagkit-${dead}-${uuid()}.tmp`), 'x');
  await symlink(outside, join(dir, 'a', 'link-out'));

  assert.equal(await sweepTempFiles(dir), gone.length);
  const left = (await readdir(dir, { recursive: true })).filter(
    (n) => (n.includes('.etagkit-') || n.endsWith('.html')) && !n.startsWith('a/link-out/'),
  );
  assert.deepEqual(left.sort(), kept.sort());
  assert.equal((await readdir(outside)).length, 1, 'links are not followed');
});
