import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import fc from 'fast-check';
import { Access, isLoopback } from './access.ts';

/** A request that arrived on port 8080 (the dashboard's own) with these headers. */
const req = (headers: Record<string, string>) =>
  ({ headers, socket: { localPort: 8080 } }) as unknown as IncomingMessage;
const TOKEN = 'correct-horse-battery-staple';

test('loopback names: localhost, 127.0.0.0/8, ::1 — nothing else', () => {
  for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]'])
    assert.ok(isLoopback(host), host);
  for (const host of [
    '0.0.0.0',
    '10.0.0.1',
    'localhost.evil.example',
    '127.0.0.1.evil.example',
    '::',
    'example.com',
  ])
    assert.ok(!isLoopback(host), host);
});

test('without a token: a loopback Host passes, any other is refused (DNS rebinding)', () => {
  const access = new Access(undefined);
  for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'localhost'])
    assert.equal(access.check(req({ host })), undefined, host);
  for (const host of ['evil.example:8080', '[::1', '', '192.168.1.2:8080'])
    assert.equal(access.check(req({ host }))?.status, 403, host);
  assert.equal(access.check(req({}))?.status, 403);
});

test('without a token: hostile Host forms are refused, every spelling of a loopback Host passes', () => {
  const access = new Access(undefined);
  // RFC 9110 §7.2: Host is uri-host [":" port]; names compare case-insensitively (RFC 3986 §3.2.2).
  for (const host of [
    'LOCALHOST:8080',
    'LocalHost',
    '127.0.0.1',
    '127.0.0.1:8080',
    '127.0.0.1:08080',
    '[::1]',
    '[0:0:0:0:0:0:0:1]:8080',
    '[::0:1]:8080',
  ])
    assert.equal(access.check(req({ host })), undefined, host);
  for (const host of [
    // userinfo (never part of a Host), or a loopback name smuggled before or after one
    'evil@localhost:8080',
    'localhost:8080@evil.example',
    '[::1]:8080@evil.example',
    'localhost@evil.example',
    // a port other than the one the request came in on, or not a port
    'localhost:9999',
    '[::1]:80',
    'localhost:',
    'localhost:8080:8080',
    'localhost:80a',
    'localhost:+8080',
    'localhost:99999999',
    // IPv6 forms that are not [address] (zone, bare, junk after the bracket), or not loopback
    '::1',
    '::1:8080',
    '[::1%25lo]:8080',
    '[::1]evil.example',
    '[::1]]:8080',
    '[localhost]:8080',
    '[::]:8080',
    '[::ffff:7f00:1]:8080',
    // trailing dot, encodings, shorthand IPv4, whitespace, other names
    'localhost.',
    'localhost.:8080',
    '127.0.0.1.',
    'local%68ost:8080',
    '127.1:8080',
    '0x7f.0.0.1',
    'localhost 8080',
    ' localhost',
    'localhost\\x',
    'localhost/x',
    'localhost.evil.example:8080',
  ])
    assert.equal(access.check(req({ host }))?.status, 403, host);
});

test('with a token: only "Bearer <token>" passes, whatever the Host', () => {
  const access = new Access(TOKEN);
  assert.equal(access.check(req({ host: 'dash.example', authorization: `Bearer ${TOKEN}` })), undefined);
  assert.equal(access.check(req({ authorization: `bearer  ${TOKEN}` })), undefined);
  for (const authorization of [
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(1)}`,
    `Basic ${TOKEN}`,
    TOKEN,
    'Bearer',
    '',
  ])
    assert.equal(access.check(req({ authorization }))?.status, 401, authorization);
});

test('writes need the own Origin: http or https with the Host the browser addressed', () => {
  const access = new Access(TOKEN);
  const auth = { authorization: `Bearer ${TOKEN}`, host: 'dash.example:8080' };
  assert.equal(access.checkWrite(req({ ...auth, origin: 'http://dash.example:8080' })), undefined);
  assert.equal(access.checkWrite(req({ ...auth, origin: 'https://dash.example:8080' })), undefined);
  for (const origin of ['http://dash.example', 'http://evil.example', 'null', 'http://dash.example:8080/'])
    assert.equal(access.checkWrite(req({ ...auth, origin }))?.status, 403, origin);
  assert.equal(access.checkWrite(req(auth))?.status, 403);
  assert.equal(access.checkWrite(req({ host: auth.host, origin: 'http://dash.example:8080' }))?.status, 401);
});

test('writes without a token: the Origin matches the loopback Host whatever the case of either', () => {
  const access = new Access(undefined);
  assert.equal(
    access.checkWrite(req({ host: 'LOCALHOST:8080', origin: 'http://localhost:8080' })),
    undefined,
  );
  assert.equal(
    access.checkWrite(req({ host: 'localhost:8080', origin: 'HTTP://LocalHost:8080' })),
    undefined,
  );
  assert.equal(
    access.checkWrite(req({ host: 'localhost:8080', origin: 'http://127.0.0.1:8080' }))?.status,
    403,
  );
});

test('property: any Host, Authorization and Origin get an answer, never an exception', () => {
  const open = new Access(undefined);
  const guarded = new Access(TOKEN);
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), (host, authorization, origin) => {
      for (const access of [open, guarded]) {
        access.check(req({ host, authorization, origin }));
        access.checkWrite(req({ host, authorization, origin }));
      }
    }),
  );
});
