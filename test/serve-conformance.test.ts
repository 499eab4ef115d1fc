/**
 * `etagkit serve` conformance over real sockets: every row names the RFC rule it checks.
 * The CLI runs as a child process on a temporary tree whose files have a fixed, old modification time.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fresh from 'fresh';
import { type RunningCli, startCli } from './support/cli.ts';
import { type RawResponse, request } from './support/http.ts';

const MTIME = new Date('2024-01-02T03:04:05Z');
const LM = 'Tue, 02 Jan 2024 03:04:05 GMT';
const LM_RFC850 = 'Tuesday, 02-Jan-24 03:04:05 GMT';
const LM_ASCTIME = 'Tue Jan  2 03:04:05 2024';
const BEFORE_LM = 'Mon, 01 Jan 2024 00:00:00 GMT';
const AFTER_LM = 'Wed, 03 Jan 2024 00:00:00 GMT';
const HELLO = 'hello, conditional world\n'.repeat(20); // 500 bytes of text: compressible
const PLAIN = 'abcdefghijklmnopqrstuvwxyz'; // .bin: never compressed

let dir: string;
let outside: string;
let server: RunningCli;
let etag: string; // ETag of /hello.txt (identity)

async function fixture(path: string, content: string | Uint8Array) {
  const full = join(dir, path);
  await mkdir(join(full, '..'), { recursive: true });
  await writeFile(full, content);
  await utimes(full, MTIME, MTIME);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etagkit-serve-'));
  outside = await mkdtemp(join(tmpdir(), 'etagkit-outside-'));
  await writeFile(join(outside, 'secret.txt'), 'secret');
  await fixture('hello.txt', HELLO);
  await fixture('letters.bin', PLAIN);
  await fixture('.env', 'TOKEN=1');
  await fixture('sub/index.html', '<p>index</p>');
  await fixture('pre/app.js', 'console.log("x");\n'.repeat(40));
  await fixture('pre/app.js.gz', gzipSync('console.log("x");\n'.repeat(40)));
  await symlink(join(outside, 'secret.txt'), join(dir, 'escape.txt'));
  await symlink(join(dir, 'hello.txt'), join(dir, 'inside-link.txt'));
  await symlink(outside, join(dir, 'escape-dir'));
  server = await startCli(['serve', dir, '--port', '0', '--writable']);
  etag = String((await request(server.url, '/hello.txt')).headers.etag);
});

after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

interface Row {
  rfc: string;
  name: string;
  method?: string;
  path?: string;
  headers?: () => Record<string, string>;
  status: number;
  check?: (res: RawResponse) => void;
}

const noBody = (res: RawResponse) => assert.equal(res.body.length, 0);
const fullHello = (res: RawResponse) => assert.equal(res.body.toString(), HELLO);
const failedBy = (by: string) => (res: RawResponse) => {
  assert.equal(res.headers['content-type'], 'application/problem+json');
  assert.equal(JSON.parse(res.body.toString()).precondition, by);
};

const rows: Row[] = [
  {
    rfc: '§8.8.3 §8.8.2',
    name: 'GET sends a strong ETag and Last-Modified',
    status: 200,
    check: (res) => {
      assert.match(String(res.headers.etag), /^"[^"]+"$/);
      assert.equal(res.headers['last-modified'], LM);
      assert.equal(res.headers['accept-ranges'], 'bytes');
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      fullHello(res);
    },
  },
  // If-None-Match (§13.1.2, weak comparison)
  {
    rfc: '§13.1.2 §15.4.5',
    name: 'INM with the current tag → 304 with ETag and Vary, no body, no representation metadata',
    headers: () => ({ 'if-none-match': etag }),
    status: 304,
    check: (res) => {
      noBody(res);
      assert.equal(res.headers.etag, etag);
      assert.equal(res.headers.vary, 'Accept-Encoding');
      assert.equal(res.headers['cache-control'], 'no-cache');
      assert.equal(res.headers['content-type'], undefined);
      assert.equal(res.headers['content-length'], undefined);
      assert.equal(res.headers['last-modified'], undefined);
    },
  },
  {
    rfc: '§13.1.2 §8.8.3.2',
    name: 'INM compares weakly: W/ form of the tag → 304',
    headers: () => ({ 'if-none-match': `W/${etag}` }),
    status: 304,
  },
  {
    rfc: '§13.1.2 §5.6.1',
    name: 'INM list with a comma inside another tag still matches',
    headers: () => ({ 'if-none-match': `"a,b", W/"x", ${etag}` }),
    status: 304,
  },
  {
    rfc: '§13.1.2',
    name: 'INM with another tag → 200',
    headers: () => ({ 'if-none-match': '"other"' }),
    status: 200,
    check: fullHello,
  },
  {
    rfc: '§13.1.2',
    name: 'INM * on an existing file → 304',
    headers: () => ({ 'if-none-match': '*' }),
    status: 304,
  },
  {
    rfc: '§13.2.1',
    name: 'INM * on a missing file → 404 (preconditions ignored)',
    path: '/missing.txt',
    headers: () => ({ 'if-none-match': '*' }),
    status: 404,
  },
  {
    rfc: '§13.1.2',
    name: 'INM with only invalid members matches nothing → 200',
    headers: () => ({ 'if-none-match': 'nonsense, "unterminated' }),
    status: 200,
  },
  // If-Match (§13.1.1, strong comparison)
  {
    rfc: '§13.1.1',
    name: 'If-Match with the current tag → 200',
    headers: () => ({ 'if-match': etag }),
    status: 200,
    check: fullHello,
  },
  {
    rfc: '§13.1.1 §8.8.3.2',
    name: 'If-Match compares strongly: W/ form → 412',
    headers: () => ({ 'if-match': `W/${etag}` }),
    status: 412,
    check: failedBy('if-match'),
  },
  {
    rfc: '§13.1.1',
    name: 'If-Match * on an existing file → 200',
    headers: () => ({ 'if-match': '*' }),
    status: 200,
  },
  {
    rfc: '§13.1.1',
    name: 'If-Match with another tag → 412 problem+json',
    headers: () => ({ 'if-match': '"other"' }),
    status: 412,
    check: failedBy('if-match'),
  },
  {
    rfc: '§13.1.1',
    name: 'If-Match list containing the tag → 200',
    headers: () => ({ 'if-match': `"x", ${etag}` }),
    status: 200,
  },
  {
    rfc: '§13.2.2',
    name: 'If-Match fails before INM is looked at → 412',
    headers: () => ({ 'if-match': '"other"', 'if-none-match': etag }),
    status: 412,
  },
  // If-Modified-Since (§13.1.3) with the three date formats (§5.6.7)
  {
    rfc: '§13.1.3 §5.6.7',
    name: 'IMS = Last-Modified (IMF-fixdate) → 304',
    headers: () => ({ 'if-modified-since': LM }),
    status: 304,
    check: noBody,
  },
  {
    rfc: '§13.1.3 §5.6.7',
    name: 'IMS = Last-Modified (rfc850-date) → 304',
    headers: () => ({ 'if-modified-since': LM_RFC850 }),
    status: 304,
  },
  {
    rfc: '§13.1.3 §5.6.7',
    name: 'IMS = Last-Modified (asctime-date) → 304',
    headers: () => ({ 'if-modified-since': LM_ASCTIME }),
    status: 304,
  },
  {
    rfc: '§13.1.3',
    name: 'IMS later than Last-Modified → 304',
    headers: () => ({ 'if-modified-since': AFTER_LM }),
    status: 304,
  },
  {
    rfc: '§13.1.3',
    name: 'IMS earlier than Last-Modified → 200',
    headers: () => ({ 'if-modified-since': BEFORE_LM }),
    status: 200,
    check: fullHello,
  },
  {
    rfc: '§13.1.3 §5.6.7',
    name: 'IMS with an invalid date is ignored → 200',
    headers: () => ({ 'if-modified-since': '2024-01-03T00:00:00Z' }),
    status: 200,
  },
  {
    rfc: '§13.1.3 §5.6.7',
    name: 'IMS is case-sensitive: "gmt" is not a date → 200',
    headers: () => ({ 'if-modified-since': AFTER_LM.replace('GMT', 'gmt') }),
    status: 200,
  },
  {
    rfc: '§13.1.3 §13.2.2',
    name: 'IMS is ignored when INM is present: INM mismatch + fresh IMS → 200',
    headers: () => ({ 'if-none-match': '"other"', 'if-modified-since': AFTER_LM }),
    status: 200,
  },
  // If-Unmodified-Since (§13.1.4)
  {
    rfc: '§13.1.4',
    name: 'IUS earlier than Last-Modified → 412',
    headers: () => ({ 'if-unmodified-since': BEFORE_LM }),
    status: 412,
    check: failedBy('if-unmodified-since'),
  },
  {
    rfc: '§13.1.4',
    name: 'IUS = Last-Modified → 200',
    headers: () => ({ 'if-unmodified-since': LM }),
    status: 200,
  },
  {
    rfc: '§13.1.4 §5.6.7',
    name: 'IUS = Last-Modified (rfc850-date) → 200',
    headers: () => ({ 'if-unmodified-since': LM_RFC850 }),
    status: 200,
  },
  {
    rfc: '§13.1.4 §5.6.7',
    name: 'IUS earlier than Last-Modified (asctime-date) → 412',
    headers: () => ({ 'if-unmodified-since': 'Mon Jan  1 00:00:00 2024' }),
    status: 412,
    check: failedBy('if-unmodified-since'),
  },
  {
    rfc: '§13.2.2',
    name: 'IUS fails before INM is looked at → 412, not 304',
    headers: () => ({ 'if-unmodified-since': BEFORE_LM, 'if-none-match': etag }),
    status: 412,
    check: failedBy('if-unmodified-since'),
  },
  {
    rfc: '§13.1.4',
    name: 'IUS with an invalid date is ignored → 200',
    headers: () => ({ 'if-unmodified-since': 'yesterday' }),
    status: 200,
  },
  {
    rfc: '§13.1.4 §13.2.2',
    name: 'IUS is ignored when If-Match is present',
    headers: () => ({ 'if-match': etag, 'if-unmodified-since': BEFORE_LM }),
    status: 200,
  },
  // HEAD (§9.3.2)
  {
    rfc: '§9.3.2',
    name: 'HEAD: the GET headers, no body',
    method: 'HEAD',
    status: 200,
    check: (res) => {
      noBody(res);
      assert.equal(res.headers['content-length'], String(HELLO.length));
      assert.equal(res.headers.etag, etag);
    },
  },
  {
    rfc: '§9.3.2 §13.1.2',
    name: 'HEAD with INM → 304',
    method: 'HEAD',
    headers: () => ({ 'if-none-match': etag }),
    status: 304,
  },
  // Range (§14)
  {
    rfc: '§14.2 §14.4',
    name: 'Range bytes=0-4 → 206 with Content-Range',
    headers: () => ({ range: 'bytes=0-4' }),
    status: 206,
    check: (res) => {
      assert.equal(res.headers['content-range'], `bytes 0-4/${HELLO.length}`);
      assert.equal(res.body.toString(), HELLO.slice(0, 5));
    },
  },
  {
    rfc: '§14.1.1',
    name: 'suffix range bytes=-5',
    headers: () => ({ range: 'bytes=-5' }),
    status: 206,
    check: (res) => assert.equal(res.body.toString(), HELLO.slice(-5)),
  },
  {
    rfc: '§14.1.1',
    name: 'open range bytes=495-',
    headers: () => ({ range: 'bytes=495-' }),
    status: 206,
    check: (res) => assert.equal(res.body.toString(), HELLO.slice(495)),
  },
  {
    rfc: '§14.6',
    name: 'two ranges → multipart/byteranges',
    path: '/letters.bin',
    headers: () => ({ range: 'bytes=0-1, 24-25' }),
    status: 206,
    check: (res) => {
      const type = String(res.headers['content-type']);
      assert.match(type, /^multipart\/byteranges; boundary=/);
      const boundary = type.split('boundary=')[1];
      const text = res.body.toString();
      assert.equal(Number(res.headers['content-length']), res.body.length);
      assert.match(
        text,
        new RegExp(
          `--${boundary}\r\ncontent-type: application/octet-stream\r\ncontent-range: bytes 0-1/26\r\n\r\nab\r\n`,
        ),
      );
      assert.match(text, /content-range: bytes 24-25\/26\r\n\r\nyz\r\n/);
      assert.ok(text.endsWith(`--${boundary}--\r\n`));
    },
  },
  {
    rfc: '§15.5.17',
    name: 'unsatisfiable range → 416 with Content-Range bytes */len',
    headers: () => ({ range: 'bytes=9999-' }),
    status: 416,
    check: (res) => assert.equal(res.headers['content-range'], `bytes */${HELLO.length}`),
  },
  {
    rfc: '§14.1.1 §14.2',
    name: 'invalid range (last < first) is ignored → 200',
    headers: () => ({ range: 'bytes=5-1' }),
    status: 200,
    check: fullHello,
  },
  {
    rfc: '§14.2',
    name: 'unknown range unit is ignored → 200',
    headers: () => ({ range: 'items=0-1' }),
    status: 200,
  },
  {
    rfc: '§14.2',
    name: 'Range on HEAD is ignored → 200',
    method: 'HEAD',
    headers: () => ({ range: 'bytes=0-4' }),
    status: 200,
  },
  {
    rfc: '§14.2 §9.3.2',
    name: 'HEAD with several ranges → 200 with the whole length, no multipart',
    method: 'HEAD',
    path: '/letters.bin',
    headers: () => ({ range: 'bytes=0-1, 24-25' }),
    status: 200,
    check: (res) => {
      noBody(res);
      assert.equal(res.headers['content-type'], 'application/octet-stream');
      assert.equal(res.headers['content-length'], String(PLAIN.length));
    },
  },
  {
    rfc: '§13.2.2',
    name: 'INM match wins over Range → 304',
    headers: () => ({ 'if-none-match': etag, range: 'bytes=0-4' }),
    status: 304,
  },
  // If-Range (§13.1.5)
  {
    rfc: '§13.1.5',
    name: 'If-Range with the current strong tag → 206',
    headers: () => ({ range: 'bytes=0-4', 'if-range': etag }),
    status: 206,
  },
  {
    rfc: '§13.1.5',
    name: 'If-Range with an old tag → 200 full',
    headers: () => ({ range: 'bytes=0-4', 'if-range': '"old"' }),
    status: 200,
    check: fullHello,
  },
  {
    rfc: '§13.1.5',
    name: 'If-Range with a weak tag → 200 full',
    headers: () => ({ range: 'bytes=0-4', 'if-range': `W/${etag}` }),
    status: 200,
  },
  {
    rfc: '§13.1.5 §8.8.2.2',
    name: 'If-Range = strong Last-Modified → 206',
    headers: () => ({ range: 'bytes=0-4', 'if-range': LM }),
    status: 206,
  },
  {
    rfc: '§13.1.5',
    name: 'If-Range with another date → 200 full',
    headers: () => ({ range: 'bytes=0-4', 'if-range': AFTER_LM }),
    status: 200,
  },
  {
    rfc: '§13.1.5',
    name: 'If-Range without Range is ignored → 200',
    headers: () => ({ 'if-range': '"old"' }),
    status: 200,
  },
  // Paths
  { rfc: 'safety', name: 'raw ".." → 400', path: '/../etc/passwd', status: 400 },
  { rfc: 'safety', name: 'encoded ".." → 400', path: '/%2e%2e/etc/passwd', status: 400 },
  { rfc: 'safety', name: 'encoded slash → 400', path: '/sub%2findex.html', status: 400 },
  { rfc: 'safety', name: 'bad percent-encoding → 400', path: '/%zz', status: 400 },
  { rfc: 'safety', name: 'NUL byte → 400', path: '/hello.txt%00.png', status: 400 },
  { rfc: 'safety', name: 'dotfiles are hidden → 404', path: '/.env', status: 404 },
  { rfc: 'safety', name: 'symlink leading outside the root → 404', path: '/escape.txt', status: 404 },
  {
    rfc: 'safety',
    name: 'directory symlink leading outside the root → 404',
    path: '/escape-dir/secret.txt',
    status: 404,
  },
  {
    rfc: 'safety',
    name: 'symlink inside the root is served',
    path: '/inside-link.txt',
    status: 200,
    check: fullHello,
  },
  {
    rfc: '§15.4.2',
    name: 'directory without slash → 301 to slash',
    path: '/sub?x=1',
    status: 301,
    check: (res) => assert.equal(res.headers.location, '/sub/?x=1'),
  },
  {
    rfc: '§15.4.2 §4.2.1',
    name: 'directory after "//" → 301 to "/sub/", never to the network-path "//sub/" (another host)',
    path: '//sub',
    status: 301,
    check: (res) => assert.equal(res.headers.location, '/sub/'),
  },
  {
    rfc: 'RFC 9112 §3.2.2',
    name: 'absolute-form request-target is accepted by an origin server',
    path: 'http://localhost/hello.txt',
    status: 200,
    check: fullHello,
  },
  {
    rfc: 'files',
    name: 'directory with slash → its index.html',
    path: '/sub/',
    status: 200,
    check: (res) => assert.equal(res.body.toString(), '<p>index</p>'),
  },
  {
    rfc: '§15.5.6',
    name: 'POST → 405 with Allow',
    method: 'POST',
    status: 405,
    check: (res) => assert.equal(res.headers.allow, 'GET, HEAD, PUT, DELETE'),
  },
  {
    rfc: '§15.5.6',
    name: 'PUT of the root directory → 405 with Allow',
    method: 'PUT',
    path: '/',
    status: 405,
    check: (res) => assert.equal(res.headers.allow, 'GET, HEAD'),
  },
];

describe('etagkit serve: reads', () => {
  for (const row of rows) {
    test(`${row.rfc}: ${row.name}`, async () => {
      const res = await request(server.url, row.path ?? '/hello.txt', {
        method: row.method,
        headers: row.headers?.(),
      });
      assert.equal(res.status, row.status, `status for ${row.name}: ${res.body.toString().slice(0, 200)}`);
      row.check?.(res);
    });
  }
});

describe('etagkit serve: content codings get their own strong ETags (§8.8.1, §12.5.3)', () => {
  test('gzip on the fly: different strong tag, Vary, and a 304 for the gzip tag', async () => {
    const res = await request(server.url, '/hello.txt', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers.vary, 'Accept-Encoding');
    const gzTag = String(res.headers.etag);
    assert.match(gzTag, /^"[^"]+"$/);
    assert.notEqual(gzTag, etag);
    const again = await request(server.url, '/hello.txt', {
      headers: { 'accept-encoding': 'gzip', 'if-none-match': gzTag },
    });
    assert.equal(again.status, 304);
    // The gzip tag does not validate the identity representation.
    const identity = await request(server.url, '/hello.txt', { headers: { 'if-none-match': gzTag } });
    assert.equal(identity.status, 200);
  });

  test('br preferred over gzip when both are equally acceptable; q=0 refuses a coding', async () => {
    const both = await request(server.url, '/hello.txt', { headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(both.headers['content-encoding'], 'br');
    const noBr = await request(server.url, '/hello.txt', {
      headers: { 'accept-encoding': 'br;q=0, gzip;q=0.5' },
    });
    assert.equal(noBr.headers['content-encoding'], 'gzip');
    const none = await request(server.url, '/hello.txt', { headers: { 'accept-encoding': 'identity' } });
    assert.equal(none.headers['content-encoding'], undefined);
    assert.equal(none.headers.etag, etag);
  });

  test('a pre-compressed .gz sibling is served with its own tag and supports Range', async () => {
    const res = await request(server.url, '/pre/app.js', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.match(String(res.headers.etag), /-gzip"$/);
    const ranged = await request(server.url, '/pre/app.js', {
      headers: { 'accept-encoding': 'gzip', range: 'bytes=0-1' },
    });
    assert.equal(ranged.status, 206);
    assert.deepEqual([...ranged.body], [0x1f, 0x8b]); // the gzip magic number: the range is of the encoded bytes
  });

  test('§8.8.2.1 §13.1.5: a sibling rebuilt after its source dates the gzip bytes; the old date no longer validates them', async () => {
    const source = 'console.log("y");\n'.repeat(40);
    await fixture('pre2/app.js', source);
    await fixture('pre2/app.js.gz', gzipSync(source, { level: 1 }));
    const rebuilt = new Date(MTIME.getTime() + 60_000);
    await utimes(join(dir, 'pre2/app.js.gz'), rebuilt, rebuilt);
    const headers = { 'accept-encoding': 'gzip', range: 'bytes=0-9' };
    const stale = await request(server.url, '/pre2/app.js', { headers: { ...headers, 'if-range': LM } });
    assert.equal(stale.status, 200, 'a resumed download must not splice old and new gzip bytes');
    assert.equal(stale.headers['content-encoding'], 'gzip');
    assert.equal(stale.headers['last-modified'], 'Tue, 02 Jan 2024 03:05:05 GMT');
    const current = await request(server.url, '/pre2/app.js', {
      headers: { ...headers, 'if-range': 'Tue, 02 Jan 2024 03:05:05 GMT' },
    });
    assert.equal(current.status, 206);
  });

  test('binary types are never compressed and carry no Vary', async () => {
    const res = await request(server.url, '/letters.bin', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.headers.vary, undefined);
  });
});

describe('where the RFC and jshttp `fresh` (Express, serve-static) disagree', () => {
  test("RFC 9111 §5.2.1.4: a request's Cache-Control: no-cache addresses caches; the origin still answers 304", async () => {
    // fetch() adds exactly this header to every conditional request it sends with cache mode "no-store"/"reload".
    const reqHeaders = { 'if-none-match': etag, 'cache-control': 'no-cache' };
    const res = await request(server.url, '/hello.txt', { headers: reqHeaders });
    assert.equal(res.status, 304);
    // `fresh` declares the response stale whenever the request says no-cache, so Express resends the body.
    assert.equal(fresh(reqHeaders, { etag }), false);
  });

  test('§13.1.2: INM is parsed, not split on commas: a tag containing a comma matches', async () => {
    const tagged = await fixtureTag(server.url, '/comma.txt');
    const reqHeaders = { 'if-none-match': `"a,b", ${tagged}` };
    assert.equal((await request(server.url, '/comma.txt', { headers: reqHeaders })).status, 304);
    // `fresh` splits the list on commas, so `"a` and `b"` are compared as separate tags.
    assert.equal(fresh({ 'if-none-match': '"a,b"' }, { etag: '"a,b"' }), false);
  });
});

/** Writes a fixture and returns the ETag the server gives it. */
async function fixtureTag(base: string, path: string): Promise<string> {
  await fixture(path.slice(1), 'comma test');
  return String((await request(base, path)).headers.etag);
}
