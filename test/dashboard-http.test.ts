/**
 * The dashboard over HTTP, without a browser: the API's validators (RFC 9110 §13.1.2 If-None-Match → 304 while
 * the history does not move, 200 with a new ETag once it does), the token and Origin checks that guard it
 * (constant-time token, no CSRF, no DNS rebinding), the read-only mode, bad requests, /metrics, and
 * `etagkit watch --ui` from the command line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDashboard, type DashboardOptions } from '../src/monitor/dashboard/server.ts';
import { sqliteHistory } from '../src/monitor/history/sqlite.ts';
import { createMonitor, type Monitor } from '../src/monitor/monitor.ts';
import { runCli, startCli } from './support/cli.ts';
import { type Origin, startOrigin } from './support/monitor-origin.ts';

const TOKEN = 'a-long-dashboard-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'etagkit-dashboard-http-'));
let origin: Origin;
let monitor: Monitor;
const servers: Server[] = [];

before(async () => {
  origin = await startOrigin();
  origin.set('/page', { body: 'first', etag: '"p1"' });
  origin.set('/data', { body: '{"price":10}', type: 'application/json', etag: '"d1"' });
  monitor = await createMonitor({ db: join(dir, 'watch.db') });
  await monitor.add({ url: origin.url('/page'), intervalMs: 3_600_000 });
  await monitor.add({ url: origin.url('/data'), intervalMs: 3_600_000 });
  await monitor.checkNow();
});

after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await monitor.close();
  await origin.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(options: DashboardOptions): Promise<string> {
  const server = createServer(createDashboard(options).listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A raw request, so Host and Origin can be anything (fetch would refuse to set them). */
function call(
  base: string,
  path: string,
  {
    method = 'GET',
    headers = {},
    body,
  }: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the API answers conditional requests from the history’s change counter', () => {
  let base: string;
  before(async () => {
    base = await serve({ monitor });
  });

  test('§13.1.2: If-None-Match with the current ETag → 304, no body; after a check → 200 and a new ETag', async () => {
    const first = await call(base, '/api/overview');
    assert.equal(first.status, 200);
    assert.equal(first.headers['cache-control'], 'no-cache');
    const etag = first.headers.etag as string;
    assert.match(etag, /^"[^"]+"$/);
    const again = await call(base, '/api/overview', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    assert.equal(again.headers.etag, etag);
    origin.set('/page', { body: 'second', etag: '"p2"' });
    await monitor.checkNow(origin.url('/page'));
    const moved = await call(base, '/api/overview', { headers: { 'if-none-match': etag } });
    assert.equal(moved.status, 200);
    assert.notEqual(moved.headers.etag, etag);
    const overview = JSON.parse(moved.body);
    const page = overview.rows.find((r: { url: string }) => r.url === origin.url('/page'));
    assert.equal(page.version, 2);
    assert.deepEqual(overview.latest[0].added, ['second']);
  });

  test('a diff of two kept versions keeps its ETag while the history moves on', async () => {
    const path = `/api/diff?url=${encodeURIComponent(origin.url('/page'))}&from=1&to=2`;
    const first = await call(base, path);
    assert.equal(first.status, 200);
    assert.match(JSON.parse(first.body).patch, /-first\n\+second/);
    await monitor.checkNow(origin.url('/data'));
    const again = await call(base, path, { headers: { 'if-none-match': first.headers.etag as string } });
    assert.equal(again.status, 304);
  });

  test('bad requests say what was wrong', async () => {
    assert.equal((await call(base, '/api/diff')).status, 400);
    const missing = await call(base, `/api/watch?url=${encodeURIComponent('http://nowhere.example/')}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['content-type'], 'application/problem+json');
    const version = await call(base, `/api/diff?url=${encodeURIComponent(origin.url('/page'))}&from=9&to=2`);
    assert.equal(version.status, 404);
    assert.match(JSON.parse(version.body).detail, /no version 9/);
    const put = await call(base, '/api/overview', { method: 'PUT' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, 'GET, HEAD');
    assert.equal((await call(base, '/nothing')).status, 404);
    const write = (body: string, type = 'application/json') =>
      call(base, '/api/watches', {
        method: 'POST',
        headers: { origin: base, 'content-type': type },
        body,
      });
    assert.match(JSON.parse((await write('{"url":"ftp://x/"}')).body).detail, /not an http/);
    assert.equal((await write('url=http://x/', 'application/x-www-form-urlencoded')).status, 400);
    assert.equal((await write('{"url":')).status, 400);
    assert.equal((await write(JSON.stringify({ url: 'http://x.example/', interval: 'soon' }))).status, 400);
    const long = await write(JSON.stringify({ url: 'http://x.example/', interval: 'x'.repeat(10_000) }));
    assert.equal(long.status, 400);
    assert.ok(long.body.length < 1000, 'a long bad value is not echoed whole');
    assert.equal(
      (await write(JSON.stringify({ url: `http://x.example/${'a'.repeat(20_000)}` }))).status,
      400,
    );
  });

  test('PATCH re-times and pauses a watch, DELETE removes it: all in the history', async () => {
    const url = origin.url('/data');
    const target = `/api/watches?url=${encodeURIComponent(url)}`;
    const headers = { origin: base, 'content-type': 'application/json' };
    let r = await call(base, target, { method: 'PATCH', headers, body: '{"interval":"2h","paused":true}' });
    assert.equal(r.status, 204);
    let stored = await monitor.store.watch(url);
    assert.equal(stored?.definition.intervalMs, 7_200_000);
    assert.equal(stored?.paused, true);
    r = await call(base, target, { method: 'PATCH', headers, body: '{"interval":"30m"}' });
    stored = await monitor.store.watch(url);
    assert.equal(stored?.definition.intervalMs, 1_800_000);
    assert.equal(stored?.paused, true, 'a new interval does not resume a paused watch');
    r = await call(base, target, { method: 'DELETE', headers: { origin: base } });
    assert.equal(r.status, 204);
    assert.equal(await monitor.store.watch(url), undefined);
    assert.equal((await call(base, target, { method: 'DELETE', headers: { origin: base } })).status, 404);
  });

  test('/metrics: Prometheus text per host', async () => {
    const r = await call(base, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    const host = new URL(origin.url('/')).host;
    for (const name of [
      'checks_total',
      'not_modified_total',
      'changes_total',
      'errors_total',
      'bytes_transferred_total',
    ])
      assert.match(r.body, new RegExp(`^# TYPE etagkit_monitor_${name} counter$`, 'm'));
    assert.match(
      r.body,
      new RegExp(`^etagkit_monitor_checks_total\\{host="${host.replace('.', '\\.')}"\\} \\d+$`, 'm'),
    );
    assert.match(r.body, /^etagkit_monitor_bytes_saved\{host="[^"]+"\} -?\d+$/m);
  });
});

describe('access: token, Origin and Host', () => {
  let open: string;
  let guarded: string;
  before(async () => {
    open = await serve({ monitor });
    guarded = await serve({ monitor, token: TOKEN });
  });
  const post = (base: string, headers: Record<string, string>) =>
    call(base, '/api/watches', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ url: origin.url('/page') }),
    });

  test('with a token, every API request needs it; the page itself loads and asks for it', async () => {
    assert.equal((await call(guarded, '/api/overview')).status, 401);
    assert.equal((await call(guarded, '/metrics')).status, 401);
    const wrong = await call(guarded, '/api/overview', { headers: { authorization: `Bearer ${TOKEN}x` } });
    assert.equal(wrong.status, 401);
    const short = await call(guarded, '/api/overview', { headers: { authorization: 'Bearer a' } });
    assert.equal(short.status, 401);
    const basic = await call(guarded, '/api/overview', { headers: { authorization: `Basic ${TOKEN}` } });
    assert.equal(basic.status, 401);
    const right = await call(guarded, '/api/overview', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(right.status, 200);
    assert.equal(
      (await call(guarded, '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      200,
    );
    const page = await call(guarded, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /&quot;tokenRequired&quot;:true/);
    assert.match(page.headers['content-security-policy'] as string, /script-src 'self'/);
  });

  test('a state-changing request needs the token and the dashboard’s own Origin (no CSRF)', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await post(guarded, { origin: guarded })).status, 401, 'Origin alone is not enough');
    assert.equal((await post(guarded, auth)).status, 403, 'no Origin');
    assert.equal((await post(guarded, { ...auth, origin: 'http://evil.example' })).status, 403);
    assert.equal((await post(guarded, { ...auth, origin: 'null' })).status, 403);
    assert.equal((await post(guarded, { ...auth, origin: guarded })).status, 201);
  });

  test('without a token: loopback Host names only (no DNS rebinding), and Origin on writes', async () => {
    const port = new URL(open).port;
    assert.equal((await call(open, '/api/overview', { headers: { host: `localhost:${port}` } })).status, 200);
    assert.equal((await call(open, '/api/overview', { headers: { host: `[::1]:${port}` } })).status, 200);
    const rebound = await call(open, '/api/overview', { headers: { host: `attacker.example:${port}` } });
    assert.equal(rebound.status, 403);
    assert.match(JSON.parse(rebound.body).detail, /--ui-token/);
    const forged = await post(open, {
      host: `attacker.example:${port}`,
      origin: `http://attacker.example:${port}`,
    });
    assert.equal(forged.status, 403);
    assert.equal((await post(open, { origin: 'http://evil.example' })).status, 403);
    assert.equal((await post(open, {})).status, 403);
    assert.equal((await post(open, { origin: open })).status, 201);
  });

  test('a history opened read-only shows everything and refuses changes', async () => {
    const store = await sqliteHistory(join(dir, 'watch.db'), { readOnly: true });
    try {
      const base = await serve({ store });
      const overview = await call(base, '/api/overview');
      assert.equal(overview.status, 200);
      assert.ok(JSON.parse(overview.body).rows.length >= 1);
      assert.match((await call(base, '/')).body, /read-only/);
      const refused = await post(base, { origin: base });
      assert.equal(refused.status, 409);
      assert.match(JSON.parse(refused.body).detail, /read-only/);
    } finally {
      await store.close();
    }
  });
});

describe('etagkit watch --ui', () => {
  test('beside a running monitor: prints "dashboard on http://HOST:PORT" and serves the page and the API', async () => {
    const file = join(dir, 'urls.txt');
    writeFileSync(file, `${origin.url('/page')} interval=1h\n`);
    const cli = await startCli(['watch', file, '--db', join(dir, 'cli.db'), '--ui', '0'], {}, 'dashboard');
    try {
      assert.match(cli.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(await (await fetch(cli.url)).text(), /<div id="app">/);
      const js = await fetch(`${cli.url}/assets/app.js`);
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type')!, /javascript/);
      const overview = await (await fetch(`${cli.url}/api/overview`)).json();
      assert.deepEqual(
        overview.rows.map((r: { url: string }) => r.url),
        [origin.url('/page')],
      );
    } finally {
      await cli.stop();
    }
    const readOnly = await startCli(['watch', '--ui', '0', '--db', join(dir, 'cli.db')], {}, 'dashboard');
    try {
      assert.match(readOnly.output(), /read-only/);
      const refused = await fetch(`${readOnly.url}/api/watches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: readOnly.url },
        body: '{"url":"http://x.example/"}',
      });
      assert.equal(refused.status, 409);
    } finally {
      await readOnly.stop();
    }
  });

  test('usage errors: another host without a token, a short token, --ui with --once, no history', async () => {
    const file = join(dir, 'urls.txt');
    const wide = await runCli(['watch', file, '--ui', '0', '--ui-host', '0.0.0.0']);
    assert.equal(wide.code, 2);
    assert.match(wide.stderr, /--ui-token or ETAGKIT_UI_TOKEN/);
    const short = await runCli(['watch', file, '--ui', '0', '--ui-token', 'short']);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /at least 16 characters/);
    assert.equal((await runCli(['watch', file, '--ui', '0', '--once'])).code, 2);
    assert.equal((await runCli(['watch', file, '--ui-token', TOKEN])).code, 2);
    const none = await runCli(['watch', '--ui', '0', '--db', join(dir, 'absent.db')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no history at/);
  });
});
