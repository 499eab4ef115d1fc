import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError, type ReadResult, ResponseReader } from './http1.ts';

const LIMITS = { maxHeaderBytes: 64 * 1024, maxBodyBytes: 1024 * 1024 };

/** Reads `wire` delivered in `chunks` pieces; returns the result and the body, or the ProtocolError message. */
function read(
  wire: string | Buffer,
  { method = 'GET', splits = [] as number[], limits = LIMITS } = {},
): { result: ReadResult; body: Buffer } | { error: string } {
  const bytes = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  const parts: Buffer[] = [];
  const reader = new ResponseReader(method, limits, (c) => parts.push(Buffer.from(c)));
  try {
    let at = 0;
    for (const cut of [...splits.filter((s) => s > 0 && s < bytes.length)].sort((a, b) => a - b)) {
      reader.push(bytes.subarray(at, cut));
      at = cut;
      if (reader.done) break;
    }
    if (!reader.done) reader.push(bytes.subarray(at));
    const result = reader.done ? reader.result() : reader.end();
    return { result, body: Buffer.concat(parts) };
  } catch (error) {
    if (error instanceof ProtocolError) return { error: error.message };
    throw error;
  }
}

function ok(outcome: ReturnType<typeof read>): { result: ReadResult; body: Buffer } {
  if ('error' in outcome) assert.fail(outcome.error);
  return outcome;
}

describe('ResponseReader: framing (RFC 9112 §6.3)', () => {
  test('Content-Length delimits the body; what follows is not read', () => {
    const { result, body } = ok(read('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: "a"\r\n\r\nhelloEXTRA'));
    assert.equal(result.head.status, 200);
    assert.deepEqual(result.head.headers, [
      ['Content-Length', '5'],
      ['ETag', '"a"'],
    ]);
    assert.equal(body.toString(), 'hello');
    assert.equal(result.framing, 'content-length');
  });

  test('chunked, with extensions and trailers (§7.1)', () => {
    const wire =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n';
    const { result, body } = ok(read(wire, { splits: [3, 40, 41, 60] }));
    assert.equal(body.toString(), 'hello world');
    assert.equal(result.framing, 'chunked');
  });

  test('no length: the body runs to the close', () => {
    const { result, body } = ok(read('HTTP/1.0 200 OK\r\n\r\nall of it'));
    assert.equal(body.toString(), 'all of it');
    assert.equal(result.framing, 'close');
  });

  test('a 304 ends at its header section: bytes after it are counted as stray (rule 1)', () => {
    const { result, body } = ok(read('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello'));
    assert.equal(result.strayBytes, 5);
    assert.equal(body.length, 0);
  });

  test('a chunked 304 that sends its zero chunk: 5 stray bytes', () => {
    const { result } = ok(read('HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'));
    assert.equal(result.strayBytes, 5);
  });

  test('HEAD: Content-Length describes the GET body, none follows', () => {
    const { result } = ok(read('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', { method: 'HEAD' }));
    assert.equal(result.bodyBytes, 0);
    assert.equal(result.strayBytes, 0);
  });

  test('interim 1xx responses are skipped (RFC 9110 §15.2)', () => {
    const wire =
      'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const { result, body } = ok(read(wire));
    assert.equal(result.head.status, 200);
    assert.equal(body.toString(), 'ok');
  });

  test('a bare LF ends lines (§2.2), and obs-fold is joined with a space (§5.2)', () => {
    const { result } = ok(read('HTTP/1.1 200 OK\nX-A: one\n  two\nContent-Length: 0\n\n'));
    assert.deepEqual(result.head.headers[0], ['X-A', 'one two']);
  });
});

describe('ResponseReader: caps and faults', () => {
  test('a body past the cap is truncated and reading stops', () => {
    const limits = { maxHeaderBytes: 1024, maxBodyBytes: 4 };
    const { result, body } = ok(read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789', { limits }));
    assert.equal(result.truncated, true);
    assert.equal(body.toString(), '0123');
  });

  const faults: [string, string, RegExp][] = [
    ['closed before anything', '', /without sending a response/],
    ['closed in the headers', 'HTTP/1.1 200 OK\r\nETag: "a"', /middle of the response headers/],
    ['closed mid-body', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', /after 3 of 10 body bytes/],
    ['closed mid-chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', /chunked body/],
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n', /not an HTTP\/1.x status line/],
    [
      'conflicting lengths',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      /invalid Content-Length/,
    ],
    ['a bad header line', 'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /malformed header line/],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /invalid chunk size/],
  ];
  for (const [name, wire, message] of faults)
    test(name, () => {
      const outcome = read(wire);
      assert.ok('error' in outcome, 'expected a ProtocolError');
      assert.match(outcome.error, message);
    });

  test('a malformed header line is named, never shown: its value may be a credential', () => {
    for (const line of ['Set Cookie: session=s3cret', 'Authorization Bearer s3cret', '(s3cret): x']) {
      const outcome = read(`HTTP/1.1 200 OK\r\n${line}\r\n\r\n`);
      assert.ok('error' in outcome, line);
      assert.match(outcome.error, /malformed header line/);
      assert.doesNotMatch(outcome.error, /s3cret/, line);
    }
    const placed = read('HTTP/1.1 200 OK\r\nETag: "a"\r\nSet Cookie: session=s3cret\r\n\r\n');
    assert.ok('error' in placed);
    assert.match(placed.error, /field line 2 /);
  });

  test('headers past maxHeaderBytes are refused, even one byte at a time', () => {
    const wire = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(3000)}\r\n\r\n`;
    const limits = { maxHeaderBytes: 2048, maxBodyBytes: 10 };
    const splits = Array.from({ length: wire.length }, (_, i) => i);
    const outcome = read(wire, { limits, splits });
    assert.ok('error' in outcome);
    assert.match(outcome.error, /exceed 2048 bytes/);
  });
});

describe('ResponseReader: properties', () => {
  const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
  const value = fc.stringMatching(/^[!-~]([ !-~]{0,30}[!-~])?$/);
  const response = fc.record({
    status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
    headers: fc
      .array(fc.tuple(token, value), { maxLength: 8 })
      .map((h) => h.filter(([n]) => !/^(content-length|transfer-encoding)$/i.test(n))),
    body: fc.uint8Array({ maxLength: 300 }),
    framing: fc.constantFrom('content-length', 'chunked', 'close'),
    chunkSizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 10 }),
    splits: fc.array(fc.nat(800), { maxLength: 12 }),
  });

  test('what is written is what is read, however the bytes are split', () => {
    fc.assert(
      fc.property(response, (r) => {
        const head = [`HTTP/1.1 ${r.status} Reason`, ...r.headers.map(([n, v]) => `${n}: ${v}`)];
        let payload = Buffer.from(r.body);
        if (r.framing === 'content-length') head.push(`Content-Length: ${r.body.length}`);
        if (r.framing === 'chunked') {
          head.push('Transfer-Encoding: chunked');
          const parts: Buffer[] = [];
          for (let at = 0, i = 0; at < r.body.length; i++) {
            const n = Math.min(r.chunkSizes[i % r.chunkSizes.length]!, r.body.length - at);
            parts.push(
              Buffer.from(`${n.toString(16)}\r\n`),
              Buffer.from(r.body.subarray(at, at + n)),
              Buffer.from('\r\n'),
            );
            at += n;
          }
          parts.push(Buffer.from('0\r\n\r\n'));
          payload = Buffer.concat(parts);
        }
        const wire = Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
        const { result, body } = ok(read(wire, { splits: r.splits }));
        assert.equal(result.head.status, r.status);
        assert.deepEqual(result.head.headers.slice(0, r.headers.length), r.headers);
        assert.deepEqual(body, Buffer.from(r.body));
      }),
    );
  });

  test('arbitrary bytes give a result or a ProtocolError, never another exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
          fc.string({ maxLength: 400 }).map((s) => Buffer.from(`HTTP/1.1 200 OK\r\n${s}`, 'latin1')),
        ),
        fc.array(fc.nat(400), { maxLength: 6 }),
        fc.constantFrom('GET', 'HEAD'),
        (wire, splits, method) => {
          read(wire, { splits, method }); // throws only for errors other than ProtocolError
        },
      ),
    );
  });
});
