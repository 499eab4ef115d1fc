/**
 * Writes through the proxy (`guardWrites`, `requirePreconditions`), the authenticated purge, and the CLI: an origin
 * that knows nothing of validators gets lost-update protection from the proxy's own ETags.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createProxy } from '../src/proxy/index.ts';
import { runCli, startCli } from './support/cli.ts';
import { request } from './support/http.ts';
import { type Bench, startBench } from './support/proxy.ts';

/** A document store with no validators at all: GET returns it, PUT replaces it. */
function documents(bench: () => Bench) {
  const docs = new Map<string, string>([['/doc', 'version 1']]);
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const url = req.url!;
    if (req.method === 'PUT') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        docs.set(url, body);
        res.writeHead(204).end();
      });
      return;
    }
    const doc = docs.get(url);
    if (doc === undefined) res.writeHead(404).end('missing');
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(doc);
    void bench;
  };
}

describe('guardWrites and requirePreconditions (RFC 9110 §13.1.1, RFC 6585 §3)', () => {
  let bench: Bench;
  before(async () => {
    bench = await startBench(
      documents(() => bench),
      { guardWrites: true, requirePreconditions: true },
    );
  });
  after(() => bench.close());

  it('a PUT without a precondition is answered 428 and never reaches the upstream', async () => {
    const before = bench.received.length;
    const res = await request(bench.base, '/doc', { method: 'PUT', body: 'x' });
    assert.equal(res.status, 428);
    assert.equal(JSON.parse(res.body.toString()).status, 428);
    assert.equal(bench.received.length, before);
  });

  it('a PUT guarded only by If-Unmodified-Since is answered 428 naming If-Match (a date cannot prevent a lost update)', async () => {
    const res = await request(bench.base, '/doc', {
      method: 'PUT',
      headers: { 'if-unmodified-since': new Date().toUTCString() },
      body: 'x',
    });
    assert.equal(res.status, 428);
    assert.equal(JSON.parse(res.body.toString()).precondition, 'if-match');
  });

  it('two writers holding the same ETag: the first wins, the second gets 412 from the proxy', async () => {
    const read = await request(bench.base, '/doc');
    const etag = String(read.headers.etag);
    assert.match(etag, /^"/, 'the proxy gave the validator-less document an ETag');
    const first = await request(bench.base, '/doc', {
      method: 'PUT',
      headers: { 'if-match': etag },
      body: 'version 2',
    });
    assert.equal(first.status, 204);
    assert.equal(bench.received.at(-1)!.headers['if-match'], undefined, "the proxy's own tag is not sent on");
    const upstreamBefore = bench.received.filter((r) => r.method === 'PUT').length;
    const second = await request(bench.base, '/doc', {
      method: 'PUT',
      headers: { 'if-match': etag },
      body: 'lost',
    });
    assert.equal(second.status, 412);
    assert.equal(JSON.parse(second.body.toString()).precondition, 'if-match');
    assert.equal(bench.received.filter((r) => r.method === 'PUT').length, upstreamBefore);
    const now = await request(bench.base, '/doc');
    assert.equal(now.body.toString(), 'version 2');
    assert.notEqual(now.headers.etag, etag);
  });

  it('If-None-Match: * creates only: 412 when the document exists, forwarded when it does not', async () => {
    const exists = await request(bench.base, '/doc', {
      method: 'PUT',
      headers: { 'if-none-match': '*' },
      body: 'x',
    });
    assert.equal(exists.status, 412);
    const created = await request(bench.base, '/new', {
      method: 'PUT',
      headers: { 'if-none-match': '*' },
      body: 'n',
    });
    assert.equal(created.status, 204);
  });
});

describe('purge', () => {
  let bench: Bench;
  before(async () => {
    bench = await startBench(
      (req, res) => res.writeHead(200, { 'cache-control': 'max-age=600' }).end(req.url),
      {
        purgeToken: 's3cret',
      },
    );
  });
  after(() => bench.close());

  it('needs the token: 401 without it, 401 with another', async () => {
    const none = await request(bench.base, '/_etagkit/purge?url=/a', { method: 'POST' });
    assert.equal(none.status, 401);
    const wrong = await request(bench.base, '/_etagkit/purge?url=/a', {
      method: 'POST',
      headers: { authorization: 'Bearer s3cre' },
    });
    assert.equal(wrong.status, 401);
  });

  it('by URL: the next request goes upstream', async () => {
    await request(bench.base, '/a');
    const purge = await request(bench.base, '/_etagkit/purge?url=/a', {
      method: 'POST',
      headers: { authorization: 'Bearer s3cret' },
    });
    assert.equal(purge.status, 200);
    const after = await request(bench.base, '/a');
    assert.match(String(after.headers['cache-status']), /fwd=uri-miss/);
  });

  it('by prefix: every stored URL under it goes, others stay', async () => {
    for (const path of ['/p/1', '/p/2', '/q/1']) await request(bench.base, path);
    const purge = await request(bench.base, '/_etagkit/purge?prefix=/p/', {
      method: 'POST',
      headers: { authorization: 'Bearer s3cret' },
    });
    assert.equal(purge.status, 200);
    assert.deepEqual(JSON.parse(purge.body.toString()), { purged: 2 });
    assert.match(String((await request(bench.base, '/p/1')).headers['cache-status']), /fwd=uri-miss/);
    assert.match(String((await request(bench.base, '/q/1')).headers['cache-status']), /hit/);
  });
});

describe('etagkit proxy (CLI)', () => {
  it('serves through the upstream and prints its address', async () => {
    const origin = await startBench((_req, res) =>
      res.writeHead(200, { 'cache-control': 'max-age=60' }).end('hi'),
    );
    const cli = await startCli(['proxy', '--upstream', origin.origin, '--port', '0']);
    try {
      const first = await request(cli.url, '/x');
      const second = await request(cli.url, '/x');
      assert.equal(first.body.toString(), 'hi');
      assert.match(String(second.headers['cache-status']), /hit/);
      assert.match(String(second.headers.etag), /^"/);
    } finally {
      await cli.stop();
      await origin.close();
    }
  });

  for (const [args, message] of [
    [['proxy'], /which upstream/],
    [['proxy', '--upstream', 'ftp://x'], /http:\/\/ or https:\/\//],
    [['proxy', '--upstream', 'http://x', '--store', 'mongo://x'], /--store must be/],
    [['proxy', '--upstream', 'http://x', '--add-etags=maybe'], /--add-etags must be on or off/],
    [['proxy', '--upstream', 'http://x', '--timeout', 'soon'], /--timeout must be a duration/],
  ] as const) {
    it(`usage error: ${args.slice(1).join(' ') || '(none)'} → exit 2`, async () => {
      const { code, stderr } = await runCli([...args]);
      assert.equal(code, 2);
      assert.match(stderr, message);
    });
  }

  it('credentials in --upstream (user:password@) are a usage error that never shows them', {
    timeout: 20_000,
  }, async () => {
    for (const upstream of [
      'http://alice:s3cretPW@127.0.0.1:1/',
      'https://s3cretPW@127.0.0.1:1/v1',
      'http://alice:s3cretPW@127.0.0.1:1/?q=1',
      'ftp://alice:s3cretPW@127.0.0.1:1/',
      'http://alice:s3cret/PW@[bad/',
    ]) {
      const { code, stdout, stderr } = await runCli(['proxy', '--upstream', upstream, '--port', '0']);
      assert.equal(code, 2, upstream);
      assert.match(stderr, /usage: etagkit proxy/);
      assert.doesNotMatch(stdout + stderr, /s3cret|alice/, upstream);
    }
    const { stderr } = await runCli(['proxy', '--upstream', 'http://alice:s3cretPW@127.0.0.1:1/']);
    assert.match(stderr, /--upstream must not carry credentials/);
  });

  it('createProxy refuses an upstream with credentials, without showing them', () => {
    assert.throws(
      () => createProxy({ upstream: 'http://alice:s3cretPW@127.0.0.1:1/' }),
      (error: Error) =>
        error instanceof TypeError &&
        /credentials/.test(error.message) &&
        !/s3cret|alice/.test(error.message),
    );
  });
});
