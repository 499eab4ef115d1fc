/**
 * The lost-update problem (RFC 9110 §13.1.1), through the example APIs: 16 concurrent clients each increment
 * a counter by read-modify-write with If-Match, retrying on 412. Not one increment may be lost. Then the same
 * with half of the clients guarding their writes by If-Unmodified-Since (one-second dates, §13.1.4) alone.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { createApp as createExpressApp } from '../examples/express-api/server.ts';
import { createApp as createHonoApp } from '../examples/hono-api/server.ts';

const CLIENTS = 16;
const INCREMENTS = 8;

interface Reply {
  status: number;
  etag: string | undefined;
  body: string;
}

function call(
  agent: http.Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
) {
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, etag: res.headers.etag, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A client that guards its writes with If-Unmodified-Since only: GET, add one, PATCH with the Last-Modified it
 * read. Counts the writes accepted and refused with 428; a 412 starts the increment over.
 */
async function dateClient(url: string): Promise<{ accepted: number; refused: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let accepted = 0;
  let refused = 0;
  try {
    for (let tries = 0; tries < INCREMENTS; tries++) {
      const read = await call(agent, url, 'GET', {});
      const { visits, updatedAt } = JSON.parse(read.body) as { visits: number; updatedAt: string };
      const write = await call(
        agent,
        url,
        'PATCH',
        { 'content-type': 'application/json', 'if-unmodified-since': new Date(updatedAt).toUTCString() },
        JSON.stringify({ visits: visits + 1 }),
      );
      if (write.status === 428) {
        assert.match(JSON.parse(write.body).detail, /If-Unmodified-Since cannot guard.*If-Match/);
        refused++;
      } else if (write.status === 200) accepted++;
      else assert.equal(write.status, 412, write.body);
    }
  } finally {
    agent.destroy();
  }
  return { accepted, refused };
}

/** One client: GET, add one, PATCH with If-Match; on 412 start over. Returns how many 412s it met. */
async function client(url: string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let conflicts = 0;
  try {
    for (let done = 0; done < INCREMENTS; ) {
      const read = await call(agent, url, 'GET', {});
      assert.equal(read.status, 200);
      const { visits } = JSON.parse(read.body) as { visits: number };
      const write = await call(
        agent,
        url,
        'PATCH',
        { 'content-type': 'application/json', 'if-match': read.etag! },
        JSON.stringify({ visits: visits + 1 }),
      );
      if (write.status === 412) {
        conflicts++;
        continue;
      }
      assert.equal(write.status, 200, write.body);
      assert.notEqual(write.etag, read.etag, 'a successful write returns the new ETag');
      done++;
    }
  } finally {
    agent.destroy();
  }
  return conflicts;
}

async function run(server: http.Server): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/users/1`;
  try {
    const conflicts = await Promise.all(Array.from({ length: CLIENTS }, () => client(url)));
    const final = await call(new http.Agent(), url, 'GET', {});
    assert.equal(JSON.parse(final.body).visits, CLIENTS * INCREMENTS, 'no increment lost');
    // With 16 clients racing, some writes must have been refused: the test really exercised If-Match.
    assert.ok(conflicts.reduce((a, b) => a + b, 0) > 0, 'expected at least one 412 among concurrent clients');
    const unconditional = await call(
      new http.Agent(),
      url,
      'PATCH',
      { 'content-type': 'application/json' },
      '{}',
    );
    assert.equal(unconditional.status, 428, 'a PATCH without If-Match is refused');
  } finally {
    await new Promise((r) => server.close(r));
  }
}

/**
 * 8 If-Match clients and 8 If-Unmodified-Since clients at once. updatedAt has millisecond precision, Last-Modified
 * one second, so many writes share a second: a date guard that were accepted would overwrite them. Every write
 * accepted must be counted; with requirePreconditions, every date-only write is refused with 428.
 */
async function runMixed(server: http.Server): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/users/1`;
  try {
    const half = CLIENTS / 2;
    const [tagged, dated] = await Promise.all([
      Promise.all(Array.from({ length: half }, () => client(url))),
      Promise.all(Array.from({ length: half }, () => dateClient(url))),
    ]);
    assert.equal(tagged.length, half);
    const accepted = dated.reduce((n, d) => n + d.accepted, 0);
    const refused = dated.reduce((n, d) => n + d.refused, 0);
    const final = await call(new http.Agent(), url, 'GET', {});
    assert.equal(JSON.parse(final.body).visits, half * INCREMENTS + accepted, 'every accepted write counted');
    assert.equal(accepted, 0, 'no write guarded by a one-second date alone is accepted');
    assert.equal(refused, half * INCREMENTS);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

test('express example: 16 concurrent read-modify-write clients lose no update', async () => {
  await run(http.createServer(createExpressApp()));
});

test('hono example: 16 concurrent read-modify-write clients lose no update', async () => {
  await run(http.createServer(getRequestListener(createHonoApp().fetch)));
});

test('express example: If-Unmodified-Since alone is refused (428) beside If-Match writers, nothing lost', async () => {
  await runMixed(http.createServer(createExpressApp()));
});

test('hono example (conditional() inside): If-Unmodified-Since alone is refused, nothing lost', async () => {
  await runMixed(http.createServer(getRequestListener(createHonoApp().fetch)));
});
