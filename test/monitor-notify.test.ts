/**
 * Notifications are delivered at least once: a webhook receiver that fails twice still gets the change (with the
 * same Idempotency-Key each time), a command hook gets the event on stdin, and the scheduler keeps its per-host
 * and global limits.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createMonitor } from '../src/monitor/index.ts';
import { type Origin, startOrigin } from './support/monitor-origin.ts';

const dir = mkdtempSync(join(tmpdir(), 'etagkit-notify-'));
let origin: Origin;
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A webhook receiver that answers 500 to its first `failures` requests, then 204. */
async function receiver(failures: number) {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(received.length <= failures ? 500 : 204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=secret`, received };
}

test('a webhook that fails twice gets the change on the third attempt, with one Idempotency-Key', async () => {
  const hook = await receiver(2);
  const path = join(dir, 'webhook.db');
  const monitor = await createMonitor({ db: path, webhooks: [hook.url], notify: { retryBaseMs: 20 } });
  const failures: string[] = [];
  monitor.on('fault', (f) => failures.push(f.message));
  const url = origin.url('/hooked');
  origin.set('/hooked', { body: 'one', etag: '"1"' });
  await monitor.checkNow(url);
  assert.equal(hook.received.length, 0, '"new" is not a change');
  origin.set('/hooked', { body: 'two', etag: '"2"' });
  await monitor.checkNow(url);
  assert.equal(await monitor.flushNotifications(10_000), true);
  assert.equal(hook.received.length, 3);
  assert.deepEqual(failures, ['HTTP 500', 'HTTP 500']);
  const keys = new Set(hook.received.map((r) => r.headers['idempotency-key']));
  assert.equal(keys.size, 1);
  const payload = JSON.parse(hook.received[2]!.body);
  assert.deepEqual(
    [payload.type, payload.url, payload.status, payload.version],
    ['change', url, 'changed', 2],
  );
  assert.equal(hook.received[2]!.headers['content-type'], 'application/json');
  await monitor.close();
  // The webhook's URL (and its token) is not written to the history.
  assert.equal(readFileSync(path).includes('token=secret'), false);
});

test('a command hook gets the event as JSON on stdin and its kind in the environment', async () => {
  const out = join(dir, 'hook.out');
  const monitor = await createMonitor({
    db: join(dir, 'command.db'),
    commands: [`cat > ${out}; echo "$ETAGKIT_EVENT $ETAGKIT_URL" >> ${out}`],
  });
  after(() => monitor.close());
  const url = origin.url('/commanded');
  origin.set('/commanded', { body: 'a' });
  await monitor.checkNow(url);
  origin.set('/commanded', { body: 'b' });
  await monitor.checkNow(url);
  assert.equal(await monitor.flushNotifications(10_000), true);
  const [json, env] = readFileSync(out, 'utf8').split('\n');
  assert.equal(JSON.parse(json!).status, 'changed');
  assert.equal(env, `change ${url}`);
});

test('a failing command is retried and reported; it never blocks the checks', async () => {
  const monitor = await createMonitor({
    db: join(dir, 'failing-command.db'),
    commands: ['exit 3'],
    notify: { retryBaseMs: 10, maxAttempts: 2 },
  });
  after(() => monitor.close());
  const faults: { message: string; final: boolean }[] = [];
  monitor.on('fault', (f) => faults.push(f));
  const url = origin.url('/command-fails');
  origin.set('/command-fails', { body: 'a' });
  await monitor.checkNow(url);
  origin.set('/command-fails', { body: 'b' });
  assert.equal((await monitor.checkNow(url)).status, 'changed');
  assert.equal(
    await monitor.flushNotifications(2000),
    true,
    'given up after maxAttempts: nothing left to send',
  );
  assert.deepEqual(
    faults.map((f) => [f.message, f.final]),
    [
      ['command exited with 3', false],
      ['command exited with 3', true],
    ],
  );
});

test('per-host and global concurrency are never exceeded; every watch is checked once per pass', async () => {
  for (let i = 0; i < 12; i++) {
    origin.set(`/hostA/${i}`, { body: `a${i}`, delayMs: 30 });
    origin.set(`/hostB/${i}`, { body: `b${i}`, delayMs: 30 });
  }
  const monitor = await createMonitor({ db: join(dir, 'limits.db'), perHost: 2, concurrency: 3 });
  after(() => monitor.close());
  // Two "hosts" on one origin: 127.0.0.1 and localhost name the same server.
  const port = new URL(origin.url('/')).port;
  for (let i = 0; i < 12; i++) {
    await monitor.add(`http://127.0.0.1:${port}/hostA/${i}`);
    await monitor.add(`http://localhost:${port}/hostB/${i}`);
  }
  const events = await monitor.checkNow();
  assert.equal(events.length, 24);
  assert.ok(events.every((e) => e.status === 'new'));
  assert.ok(origin.maxConcurrent('hostA') <= 2, `hostA peak ${origin.maxConcurrent('hostA')}`);
  assert.ok(origin.maxConcurrent('hostB') <= 2, `hostB peak ${origin.maxConcurrent('hostB')}`);
  assert.ok(origin.maxConcurrent('hostA') + origin.maxConcurrent('hostB') >= 3, 'both hosts ran at once');
});
