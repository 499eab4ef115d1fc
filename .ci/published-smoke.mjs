// What a user of the published package runs, on the Node running this script: every export loads through
// require() (no top-level await), and the main paths work from dist/ — a conditional server, the caching client
// on each store, the CLI. Run by .ci/run on the pinned Node and on the lowest Node that package.json's engines
// names.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
for (const entry of Object.keys(pkg.exports)) require(`etagkit${entry.slice(1)}`);

const { etagFromContent } = require('etagkit');
const { conditional } = await import('etagkit/node');
const { createFetch, memoryStore, sqliteStore, redisStore } = await import('etagkit/client');

let originRequests = 0;
const body = 'hello from dist';
const server = createServer(
  conditional(
    (_req, res) => {
      originRequests++;
      res.setHeader('cache-control', 'max-age=0');
      res.end(body);
    },
    { validate: () => ({ etag: etagFromContent(body) }) },
  ),
);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const dir = mkdtempSync(join(tmpdir(), 'etagkit-smoke-'));
const stores = {
  memory: memoryStore(),
  sqlite: sqliteStore(join(dir, 'cache.db')),
  redis: redisStore(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
    prefix: `smoke:${process.pid}:${Date.now()}:`,
  }),
};
try {
  for (const [name, store] of Object.entries(stores)) {
    const cachedFetch = createFetch({ store });
    const first = await cachedFetch(url);
    assert.equal(await first.text(), body, name);
    const second = await cachedFetch(url);
    assert.equal(second.status, 200, name);
    assert.equal(await second.text(), body, name);
    assert.match(
      second.headers.get('cache-status'),
      /fwd=stale; fwd-status=304/,
      `${name}: revalidated with a 304`,
    );
    await store.close();
  }
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
assert.equal(originRequests, 3, 'one full response per store; the revalidations were 304s');

// The dashboard's bundled page ships in dist/ and is served without any build step.
const { createDashboard, sqliteHistory } = await import('etagkit/monitor');
const history = await sqliteHistory(':memory:');
const dashboard = createServer(createDashboard({ store: history }).listener);
await new Promise((resolve) => dashboard.listen(0, '127.0.0.1', resolve));
try {
  const base = `http://127.0.0.1:${dashboard.address().port}`;
  for (const path of ['/', '/assets/app.js', '/assets/app.css', '/api/overview'])
    assert.equal((await fetch(`${base}${path}`)).status, 200, `dashboard ${path}`);
} finally {
  dashboard.close();
  await history.close();
}

const cli = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../dist/cli/bin.js');
assert.equal(execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim(), pkg.version);
console.log(`published-smoke: ok on node ${process.versions.node}`);
