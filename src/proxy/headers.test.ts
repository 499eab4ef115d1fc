import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GENERATED_ETAG, responseLines, upstreamRequestHeaders } from './headers.ts';

const context = { upstreamHost: 'origin:8080', remoteAddress: '10.0.0.7' };

test('RFC 9110 §7.6.1: hop-by-hop request fields and those named in Connection are not forwarded', () => {
  const out = upstreamRequestHeaders(
    {
      connection: 'keep-alive, X-Private',
      'x-private': 'secret',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'transfer-encoding': 'chunked',
      upgrade: 'websocket',
      'proxy-authorization': 'Basic eA==',
      accept: 'text/html',
      host: 'proxy.example',
    },
    context,
  );
  assert.deepEqual(Object.keys(out).sort(), [
    'accept',
    'host',
    'surrogate-capability',
    'via',
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-proto',
  ]);
  assert.equal(out.host, 'origin:8080');
  assert.equal(out['x-forwarded-host'], 'proxy.example');
});

test('RFC 9110 §7.6.3: Via and X-Forwarded-For are appended to what came in', () => {
  const out = upstreamRequestHeaders({ via: '1.1 edge', 'x-forwarded-for': '1.2.3.4' }, context);
  assert.equal(out.via, '1.1 edge, 1.1 etagkit');
  assert.equal(out['x-forwarded-for'], '1.2.3.4, 10.0.0.7');
});

test('omit and set: the client validators out, the proxy validators in', () => {
  const out = upstreamRequestHeaders(
    { 'if-none-match': '"client"', 'if-modified-since': 'x' },
    {
      ...context,
      omit: new Set(['if-none-match', 'if-modified-since']),
      set: { 'if-none-match': '"stored"' },
    },
  );
  assert.equal(out['if-none-match'], '"stored"');
  assert.equal(out['if-modified-since'], undefined);
});

test('response lines: hop-by-hop out, Set-Cookie lines kept apart, the proxy tag field never taken from upstream, Date added', () => {
  const lines = responseLines(
    {
      connection: 'x-a',
      'x-a': '1',
      'set-cookie': ['a=1', 'b=2'],
      [GENERATED_ETAG]: '"forged"',
      etag: '"e"',
    },
    Date.UTC(2030, 0, 1),
  );
  assert.deepEqual(lines, [
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
    ['etag', '"e"'],
    ['date', 'Tue, 01 Jan 2030 00:00:00 GMT'],
  ]);
});
