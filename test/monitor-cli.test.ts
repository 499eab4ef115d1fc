/**
 * `etagkit watch` from the command line: the `--once --json` contract, line-numbered errors in the URL file,
 * the history/diff/stats commands, a locked or corrupt history, usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { type Origin, startOrigin } from './support/monitor-origin.ts';

const dir = mkdtempSync(join(tmpdir(), 'etagkit-watch-cli-'));
let origin: Origin;
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin.close();
  rmSync(dir, { recursive: true, force: true });
});

const CONTRACT = [
  'time',
  'url',
  'status',
  'httpStatus',
  'etag',
  'lastModified',
  'digest',
  'detectedBy',
  'bytes',
  'error',
];

test('--once --json: one JSON object per check with the contract fields; bad lines named, the rest watched', async () => {
  origin.set('/cli/a', { body: 'a', etag: '"a"' });
  origin.set('/cli/b', {
    body: '{"x":1}',
    type: 'application/json',
    lastModified: 'Sun, 06 Nov 1994 08:49:37 GMT',
  });
  const file = join(dir, 'urls.txt');
  writeFileSync(
    file,
    [
      '# watched',
      origin.url('/cli/a'),
      'ftp://example.com/x',
      `${origin.url('/cli/b')} pointer=/x interval=10m`,
      `${origin.url('/cli/c')} colour=blue`,
      '',
    ].join('\n'),
  );
  const db = join(dir, 'cli.db');
  const first = await runCli(['watch', file, '--once', '--json', '--db', db]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /urls\.txt:3: "ftp:\/\/example\.com\/x" is not an http:\/\/ or https:\/\/ URL/);
  assert.match(first.stderr, /urls\.txt:5: unknown option "colour" \(known: interval, /);
  const lines = first.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  for (const event of lines) {
    assert.deepEqual(Object.keys(event).slice(0, 10), CONTRACT);
    assert.equal(event.status, 'new');
    assert.match(event.digest, /^sha256:[0-9a-f]{64}$/);
  }
  assert.doesNotMatch(first.stderr, /checked \d+ URLs|\r/, 'no summary or progress line in --json mode');

  origin.set('/cli/a', { body: 'a2', etag: '"a2"' });
  const second = await runCli(['watch', file, '--once', '--db', db]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^changed +http:\/\/127\.0\.0\.1:\d+\/cli\/a +version 2 \(by digest\)$/m);
  assert.match(second.stderr, /checked 2 URLs: 1 changed, 0 new, 1 unchanged \(1 by 304\), 0 errors/);
  assert.doesNotMatch(second.stderr, /\r/, 'no progress line when the output is piped');

  const history = await runCli(['watch', 'history', origin.url('/cli/a'), '--db', db]);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /changed +200 +digest +2/);
  assert.match(history.stdout, /new +200 +- +1/);
  const historyJson = await runCli([
    'watch',
    'history',
    origin.url('/cli/a'),
    '--db',
    db,
    '--json',
    '--limit',
    '1',
  ]);
  assert.equal(JSON.parse(historyJson.stdout).status, 'changed');

  const diff = await runCli(['watch', 'diff', origin.url('/cli/a'), '--db', db]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /--- version 1 .*\n\+\+\+ version 2 .*\n@@ -1,1 \+1,1 @@\n-a\n\+a2\n/);
  const missing = await runCli(['watch', 'diff', origin.url('/cli/a'), '1', '7', '--db', db]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /has no version 7 in the history \(kept: 2, 1\)/);

  const stats = await runCli(['watch', 'stats', '--db', db, '--json']);
  const metrics = JSON.parse(stats.stdout);
  assert.equal(metrics.total.checks, 4);
  assert.equal(metrics.total.watches, 2);
});

test('the file is the watch list: a URL removed from it is paused, its history kept', async () => {
  origin.set('/list/1', { body: '1' });
  origin.set('/list/2', { body: '2' });
  const file = join(dir, 'list.txt');
  const db = join(dir, 'list.db');
  writeFileSync(file, `${origin.url('/list/1')}\n${origin.url('/list/2')}\n`);
  await runCli(['watch', file, '--once', '--db', db]);
  writeFileSync(file, `${origin.url('/list/1')}\n`);
  const second = await runCli(['watch', file, '--once', '--json', '--db', db]);
  assert.equal(second.stdout.trim().split('\n').length, 1);
  const history = await runCli(['watch', 'history', origin.url('/list/2'), '--db', db, '--json']);
  assert.equal(history.stdout.trim().split('\n').length, 1, 'history kept');
});

test('a URL file saved with a UTF-8 BOM or as UTF-16 (LE or BE, with a BOM) is read by its BOM', async () => {
  origin.set('/bom/1', { body: '1' });
  origin.set('/bom/2', { body: '2' });
  const text = `# ünïcode comment\r\n${origin.url('/bom/1')}\r\n${origin.url('/bom/2')} interval=10m\r\n`;
  const be = Buffer.from(text, 'utf16le');
  for (let i = 0; i < be.length; i += 2) [be[i], be[i + 1]] = [be[i + 1]!, be[i]!];
  const files: [string, Buffer][] = [
    ['utf8-bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
    ['utf16le', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
    ['utf16be', Buffer.concat([Buffer.from([0xfe, 0xff]), be])],
  ];
  for (const [name, bytes] of files) {
    const file = join(dir, `${name}.txt`);
    writeFileSync(file, bytes);
    const run = await runCli(['watch', file, '--once', '--json', '--db', join(dir, `${name}.db`)]);
    assert.equal(run.code, 0, `${name}: ${run.stderr}`);
    assert.equal(run.stderr, '', name);
    const urls = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).url)
      .sort();
    assert.deepEqual(urls, [origin.url('/bom/1'), origin.url('/bom/2')], name);
  }
});

test('--ui-host that is not an address of this machine: exit 1 before any check is made', async () => {
  origin.set('/ui-host/a', { body: 'a' });
  const file = join(dir, 'ui-host.txt');
  writeFileSync(file, `${origin.url('/ui-host/a')}\n`);
  const run = await runCli([
    'watch',
    file,
    '--json',
    '--db',
    join(dir, 'ui-host.db'),
    '--ui',
    '0',
    '--ui-host',
    '192.0.2.1',
    '--ui-token',
    'a-token-of-16-chars',
  ]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /192\.0\.2\.1 is not an address of this machine/);
  assert.equal(run.stdout, '');
  assert.doesNotMatch(run.stderr, /watching \d+ URLs/);
  assert.equal(origin.requests('/ui-host/a').length, 0, 'no check was made');
});

test('a locked history: a clear message and exit 1', async () => {
  const file = join(dir, 'locked.txt');
  const db = join(dir, 'locked.db');
  writeFileSync(file, `${origin.url('/cli/a')}\n`);
  await runCli(['watch', file, '--once', '--db', db]);
  const { DatabaseSync } = await import('node:sqlite');
  const holder = new DatabaseSync(db);
  holder.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;');
  try {
    const run = await runCli(['watch', file, '--once', '--db', db]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^etagkit watch: the history .*locked\.db is locked by another process/m);
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
});

test('a corrupt history: a clear message and exit 1', async () => {
  const file = join(dir, 'corrupt.txt');
  const db = join(dir, 'corrupt.db');
  writeFileSync(file, `${origin.url('/cli/a')}\n`);
  writeFileSync(db, Buffer.alloc(8192, 7));
  const run = await runCli(['watch', file, '--once', '--db', db]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /is corrupt .*move it away to start a new one/);
});

test('usage errors exit 2 with the usage; runtime errors exit 1', async () => {
  const cases: [string[], number, RegExp][] = [
    [['watch'], 2, /which URL file\? expected one/],
    [['watch', 'x.txt', '--colour'], 2, /unknown option --colour/],
    [['watch', 'x.txt', '--interval', 'soon'], 2, /--interval must be a duration such as 30s/],
    [['watch', 'x.txt', '--min-interval', '1m'], 2, /need --adaptive/],
    [['watch', 'x.txt', '--interval', '3651d'], 2, /--interval must be at most 3650 days/],
    [['watch', 'x.txt', '--timeout', '0'], 2, /--timeout must be more than 0 and at most 1d, not "0"/],
    [['watch', 'x.txt', '--timeout=0ms'], 2, /--timeout must be more than 0/],
    [['watch', 'x.txt', '--timeout=-5s'], 2, /--timeout must be a duration/],
    [['watch', 'x.txt', '--timeout', 'NaN'], 2, /--timeout must be a duration/],
    [['watch', 'x.txt', '--timeout', '999999999d'], 2, /--timeout must be more than 0 and at most 1d/],
    [
      ['watch', 'x.txt', '--adaptive', '--max-interval', '999999999d'],
      2,
      /--max-interval must be at most 3650/,
    ],
    [['watch', 'x.txt', '--webhook', 'ftp://x'], 2, /--webhook must be an http/],
    [['watch', 'x.txt', '--max-body', 'lots'], 2, /--max-body must be a size/],
    [['watch', join(dir, 'nope.txt')], 1, /cannot read .*nope\.txt.*ENOENT/],
    [['watch', 'history', 'http://x/', '--db', join(dir, 'none.db')], 1, /no history at/],
    [
      ['watch', 'stats', '--db', 'postgres://u:pw@127.0.0.1:1/x'],
      1,
      /cannot reach PostgreSQL at 127\.0\.0\.1:1\/x/,
    ],
  ];
  for (const [args, code, message] of cases) {
    const run = await runCli(args);
    assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(' '));
  }
});
