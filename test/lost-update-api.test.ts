/**
 * The lost-update problem (RFC 9110 §13.1.1), through the example APIs: 16 concurrent clients each increment
 * a counter by read-modify-write with If-Match, retrying on 412. Not one increment may be lost.
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

test('express example: 16 concurrent read-modify-write clients lose no update', async () => {
  await run(http.createServer(createExpressApp()));
});

test('hono example: 16 concurrent read-modify-write clients lose no update', async () => {
  await run(http.createServer(getRequestListener(createHonoApp().fetch)));
});
