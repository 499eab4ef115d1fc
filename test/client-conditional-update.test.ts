/**
 * conditionalUpdate end to end: a real node:http server that guards writes with the core's
 * evaluatePreconditions (RFC 9110 §13.2.2), and concurrent updaters that must not lose an increment.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ConditionalUpdateError, conditionalUpdate } from '../src/client/conditional-update.ts';
import { createFetch } from '../src/client/fetch.ts';
import { memoryStore } from '../src/client/stores/memory.ts';
import { etagFromVersion, evaluatePreconditions } from '../src/core/index.ts';

interface Counter {
  n: number;
  version: number;
}

/**
 * A counter resource. `mode: 'if-match'` answers 412 to a stale If-Match (via evaluatePreconditions);
 * `mode: 'body-version'` ignores headers and answers 409 when the body's version is stale, like APIs that
 * put versions in bodies. `mode: 'weak'` sends a weak ETag only.
 */
function counterServer(mode: 'if-match' | 'body-version' | 'weak') {
  const state: Counter = { n: 0, version: 1 };
  const stats = { gets: 0, writes: 0, conflicts: 0 };
  const server = http.createServer(async (req, res) => {
    const etag = etagFromVersion(state.version, { weak: mode === 'weak' });
    if (req.method === 'GET') {
      stats.gets++;
      res.writeHead(200, { 'content-type': 'application/json', etag, 'cache-control': 'max-age=60' });
      res.end(JSON.stringify(state));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const next = JSON.parse(Buffer.concat(chunks).toString()) as Counter;
    stats.writes++;
    if (mode === 'body-version') {
      if (next.version !== state.version) {
        stats.conflicts++;
        res.writeHead(409, { 'content-type': 'text/plain' }).end('stale version');
        return;
      }
    } else {
      const decision = evaluatePreconditions({ method: 'PUT', headers: req.headers }, { etag });
      if (decision.action === 'precondition-failed') {
        stats.conflicts++;
        res.writeHead(412, { etag }).end();
        return;
      }
    }
    state.n = next.n;
    state.version++;
    res.writeHead(200, { 'content-type': 'application/json', etag: etagFromVersion(state.version) });
    res.end(JSON.stringify(state));
  });
  return { server, state, stats };
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/counter`;
}

const increment = (c: Counter): Counter => ({ n: c.n + 1, version: c.version });
const fast = { baseDelayMs: 2, maxDelayMs: 40, maxAttempts: 60 };

describe('conditionalUpdate over a real server (If-Match, 412)', () => {
  const origin = counterServer('if-match');
  let url = '';
  before(async () => {
    url = await listen(origin.server);
  });
  after(() => origin.server.close());

  test('16 concurrent updaters incrementing a counter: final value 16, nothing lost', async () => {
    const results = await Promise.all(
      Array.from({ length: 16 }, () => conditionalUpdate(url, increment, fast)),
    );
    assert.equal(origin.state.n, 16);
    assert.deepEqual(
      results.map((r) => r.value.n).sort((a, b) => a - b),
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    const attempts = results.reduce((sum, r) => sum + r.attempts, 0);
    assert.equal(attempts, 16 + origin.stats.conflicts, 'every conflict was retried exactly once');
    assert.ok(origin.stats.conflicts > 0, 'the updaters really did collide');
  });

  test('a stale writer gets 412 and re-applies its change to the current value', async () => {
    let interfered = false;
    const result = await conditionalUpdate<Counter>(
      url,
      async (current) => {
        if (!interfered) {
          interfered = true; // someone else writes between our GET and our PUT
          await conditionalUpdate(url, (c: Counter) => ({ ...c, n: c.n + 100 }));
        }
        return increment(current);
      },
      { sleep: async () => {} },
    );
    assert.equal(result.attempts, 2);
    assert.equal(origin.state.n, result.value.n);
    assert.equal(result.response.status, 200);
  });

  test('exhausted attempts: a clear error naming them', async () => {
    // Every read is followed by a competing write, so each of our writes is stale.
    await assert.rejects(
      conditionalUpdate(
        url,
        async (c: Counter) => {
          await conditionalUpdate(url, increment);
          return increment(c);
        },
        { maxAttempts: 3, sleep: async () => {} },
      ),
      (e: unknown) => {
        assert.ok(e instanceof ConditionalUpdateError);
        assert.equal(e.reason, 'conflict');
        assert.equal(e.attempts, 3);
        assert.match(e.message, /PUT .*counter\): still conflicting \(412\) after 3 attempts/);
        return true;
      },
    );
  });
});

describe('conditionalUpdate over a real server (versions in bodies, 409)', () => {
  const origin = counterServer('body-version');
  let url = '';
  before(async () => {
    url = await listen(origin.server);
  });
  after(() => origin.server.close());

  test('with conflictStatuses [409]: 16 concurrent updaters, final value 16', async () => {
    await Promise.all(
      Array.from({ length: 16 }, () =>
        conditionalUpdate(url, increment, { ...fast, conflictStatuses: [409] }),
      ),
    );
    assert.equal(origin.state.n, 16);
    assert.ok(origin.stats.conflicts > 0);
  });

  test('with the default [412], a 409 is a write failure, not retried', async () => {
    const before = origin.stats.writes;
    await assert.rejects(
      conditionalUpdate(url, (c: Counter) => ({ ...c, version: -1 })),
      (e: unknown) => e instanceof ConditionalUpdateError && e.reason === 'write-failed' && e.attempts === 1,
    );
    assert.equal(origin.stats.writes, before + 1);
  });
});

describe('conditionalUpdate against a server with weak ETags only', () => {
  const origin = counterServer('weak');
  let url = '';
  before(async () => {
    url = await listen(origin.server);
  });
  after(() => origin.server.close());

  test('refuses to write unconditionally and says why', async () => {
    await assert.rejects(conditionalUpdate(url, increment), /only a weak ETag W\/"1"/);
    assert.equal(origin.stats.writes, 0);
  });
});

describe('conditionalUpdate through createFetch (a caching fetch)', () => {
  const origin = counterServer('if-match');
  let url = '';
  before(async () => {
    url = await listen(origin.server);
  });
  after(() => origin.server.close());

  test('reads the current value although the GET is cacheable (max-age=60): no stale read, no retries', async () => {
    const cachingFetch = createFetch({ store: memoryStore() });
    await cachingFetch(url).then((r) => r.text()); // warm the cache with version 1
    await conditionalUpdate(url, (c: Counter) => ({ ...c, n: 500 })); // changed behind the cache's back
    const result = await conditionalUpdate(url, increment, { fetch: cachingFetch, maxAttempts: 1 });
    assert.equal(result.value.n, 501);
    assert.equal(result.attempts, 1);
    for (let i = 0; i < 3; i++)
      await conditionalUpdate(url, increment, { fetch: cachingFetch, maxAttempts: 1 });
    assert.equal(origin.state.n, 504);
  });
});
