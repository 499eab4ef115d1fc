/**
 * Bad servers and bad networks: each becomes a finding for its URL (never a throw, never a hang), and the other
 * URLs of the same run are still checked.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { after, describe, test } from 'node:test';
import { audit, auditAll, type Report } from '../src/audit/index.ts';
import { type Origin, startOrigin } from './audit-origins.ts';

const servers: (Server | Origin)[] = [];
after(async () => {
  for (const s of servers) {
    if ('url' in s) await s.close();
    else s.close();
  }
});

/** A server that writes `bytes` to every connection as soon as a request arrives, then closes. */
async function rawServer(bytes: string | Buffer): Promise<string> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end(bytes));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function only(report: Report) {
  assert.equal(report.findings.length, 1, report.findings.map((f) => f.id).join(', '));
  return report.findings[0]!;
}

describe('audit: faults become findings', () => {
  test('connection refused', async () => {
    const f = only(await audit(`http://127.0.0.1:${await closedPort()}/x`));
    assert.equal(f.id, 'fetch-failed');
    assert.match(f.message, /^connection refused by 127\.0\.0\.1:\d+$/);
  });

  test('DNS failure (a .invalid name never resolves, RFC 6761)', async () => {
    const f = only(await audit('http://etagkit-check.invalid/x'));
    assert.equal(f.id, 'fetch-failed');
    assert.match(f.message, /DNS lookup of etagkit-check\.invalid failed/);
  });

  test('TLS handshake failure (https to a plain-text server)', async () => {
    const url = await rawServer('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    const f = only(await audit(url.replace('http:', 'https:')));
    assert.equal(f.id, 'fetch-failed');
    assert.match(f.message, /TLS handshake with 127\.0\.0\.1:\d+ failed/);
  });

  test('a server that never answers: the deadline ends it', async () => {
    const origin = await startOrigin({ fault: () => 'hang' });
    servers.push(origin);
    const f = only(await audit(`${origin.url}/r`, { timeoutMs: 1500 }));
    assert.match(f.message, /accepted the connection but sent no complete response head within 1\.5 s/);
  });

  test('a server that stops answering midway: two dead probes end the audit, and it says what was not checked', async () => {
    const origin = await startOrigin({ fault: (_req, n) => (n > 2 ? 'hang' : undefined) });
    servers.push(origin);
    const report = await audit(`${origin.url}/r`, { timeoutMs: 1500 });
    assert.equal(report.requests, 4, 'the first GET, one good probe, two timeouts');
    const failed = report.findings.find((f) => f.id === 'probe-failed');
    assert.match(failed?.message ?? '', /2 probes failed/);
    assert.ok(report.skipped.length > 5);
  });

  test('a server that closes without answering', async () => {
    const origin = await startOrigin({ fault: () => 'close' });
    servers.push(origin);
    assert.match(
      only(await audit(`${origin.url}/r`)).message,
      /closed the connection without sending a response/,
    );
  });

  test('a body cut short', async () => {
    const origin = await startOrigin({ fault: () => 'cut' });
    servers.push(origin);
    assert.match(
      only(await audit(`${origin.url}/r`)).message,
      /closed the connection after \d+ of \d+ body bytes/,
    );
  });

  test('a redirect loop stops at maxRedirects', async () => {
    const origin = await startOrigin({ redirects: 100 });
    servers.push(origin);
    const report = await audit(`${origin.url}/`, { maxRedirects: 3, budget: 20 });
    assert.match(only(report).message, /more than 3 redirects/);
    assert.equal(report.requests, 4);
  });

  test('redirects count against the budget', async () => {
    const origin = await startOrigin({ redirects: 100 });
    servers.push(origin);
    const report = await audit(`${origin.url}/`, { budget: 2 });
    assert.match(only(report).message, /request budget \(2\) ran out after 2 redirects/);
  });

  test('a redirect to something that is not http(s)', async () => {
    const url = await rawServer(
      'HTTP/1.1 302 Found\r\nLocation: ftp://example.com/x\r\nContent-Length: 0\r\n\r\n',
    );
    assert.match(
      only(await audit(url)).message,
      /redirect to "ftp:\/\/example.com\/x", which is not an http\(s\) URL/,
    );
  });

  test('huge response headers are refused', async () => {
    const fields = Array.from({ length: 10 }, (_, i) => `X-Big-${i}: ${'a'.repeat(7000)}\r\n`).join('');
    const url = await rawServer(`HTTP/1.1 200 OK\r\n${fields}\r\n`);
    assert.match(only(await audit(url)).message, /headers exceed 65536 bytes/);
  });

  test('a huge header line is refused', async () => {
    const url = await rawServer(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`);
    assert.match(only(await audit(url)).message, /header line is longer than 8192 bytes/);
  });

  test('not HTTP at all', async () => {
    const url = await rawServer('SSH-2.0-OpenSSH_9.6\r\n');
    assert.match(
      only(await audit(url)).message,
      /closed the connection in the middle of the response headers|not an HTTP/,
    );
  });

  test('a huge body is read up to the cap only', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 'x');
    const origin = await startOrigin({ body: () => big, codings: [] });
    servers.push(origin);
    const report = await audit(`${origin.url}/r`, { maxBodyBytes: 64 * 1024 });
    const truncated = report.findings.find((f) => f.id === 'body-truncated');
    assert.ok(truncated);
    assert.ok(report.probes.every((p) => (p.response?.bodyBytes ?? 0) <= 64 * 1024));
    assert.equal(report.findings.filter((f) => f.severity === 'error').length, 0);
  });

  test('many URLs: the dead ones get their finding, the good ones their audit', async () => {
    const good = await startOrigin({});
    const hanging = await startOrigin({ fault: () => 'hang' });
    servers.push(good, hanging);
    const refused = `http://127.0.0.1:${await closedPort()}/`;
    const reports = await auditAll(
      [`${hanging.url}/r`, refused, `${good.url}/r`, 'http://etagkit-check.invalid/'],
      { timeoutMs: 1500 },
    );
    assert.deepEqual(
      reports.map((r) => r.findings.map((f) => f.id)),
      [['fetch-failed'], ['fetch-failed'], [], ['fetch-failed']],
    );
  });

  test('the per-host limit holds with many URLs at once, measured by a slow origin', async () => {
    const origin = await startOrigin({ delayMs: 10 });
    servers.push(origin);
    const urls = Array.from({ length: 12 }, (_, i) => `${origin.url}/r?n=${i}`);
    const seen: number[] = [];
    const reports = await auditAll(urls, {
      concurrency: 12,
      perHost: 3,
      budget: 3,
      onReport: (_r, done) => seen.push(done),
    });
    assert.equal(reports.length, 12);
    assert.equal(origin.maxConcurrent, 3, 'the limit is used and never exceeded');
    assert.deepEqual(
      seen,
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    assert.ok(reports.every((r, i) => r.url === urls[i] && r.findings.length === 0));
  });
});
