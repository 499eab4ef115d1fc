/**
 * `kill -9` during a pass, then restart: no lost or duplicated history rows, no half-written snapshot, the schedule
 * resumes where it stopped, and notifications pending at the crash are delivered.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { brotliDecompressSync } from 'node:zlib';
import { type Origin, startOrigin } from './support/monitor-origin.ts';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const URLS = 60;
const INTERVAL_MS = 2000;
const dir = mkdtempSync(join(tmpdir(), 'etagkit-crash-'));
const origins: Origin[] = [];
after(async () => {
  await Promise.all(origins.map((o) => o.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `etagkit watch` and resolves once it has printed `lines` JSON lines. */
function watch(args: string[]): {
  child: ChildProcess;
  lines(): number;
  printed(lines: number): Promise<void>;
} {
  const child = spawn(process.execPath, [MAIN, 'watch', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let count = 0;
  let stderr = '';
  const waiters: [number, () => void][] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    count += chunk.toString().split('\n').length - 1;
    for (const [n, resolve] of waiters) if (count >= n) resolve();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  return {
    child,
    lines: () => count,
    printed: (lines) =>
      new Promise((resolve, reject) => {
        if (count >= lines) return resolve();
        waiters.push([lines, resolve]);
        child.once('exit', (code) =>
          reject(new Error(`watch exited (${code}) after ${count} lines:\n${stderr}`)),
        );
      }),
  };
}

test('kill -9 mid-pass, restart: every due time recorded exactly once, snapshots whole, webhooks delivered', async () => {
  const origin = await startOrigin();
  origins.push(origin);
  let served = 0;
  // Every fifth URL changes on every request (a change per check), the others never; answers take 20 ms.
  for (let i = 0; i < URLS; i++) {
    const path = `/crash/${i}`;
    if (i % 5 === 0) origin.set(path, { body: () => `changing ${i}: ${++served}`.repeat(20), delayMs: 20 });
    else origin.set(path, { body: `steady ${i}`.repeat(20), etag: `"s${i}"`, delayMs: 20 });
  }
  const received: { key: string; url: string; dueAt: number }[] = [];
  // Until the first process is killed the receiver never answers, so notifications are surely pending at the
  // crash; afterwards it answers slowly, so that deliveries overlap the restarted pass.
  let holding = true;
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (holding) return;
      const event = JSON.parse(body);
      setTimeout(() => {
        received.push({ key: String(req.headers['idempotency-key']), url: event.url, dueAt: event.dueAt });
        res.writeHead(204).end();
      }, 50);
    });
  });
  hook.listen(0, '127.0.0.1');
  await once(hook, 'listening');
  after(() => hook.close());
  const file = join(dir, 'urls.txt');
  writeFileSync(file, Array.from({ length: URLS }, (_, i) => origin.url(`/crash/${i}`)).join('\n'));
  const db = join(dir, 'crash.db');
  const args = [
    file,
    '--db',
    db,
    '--json',
    '--interval',
    `${INTERVAL_MS / 1000}s`,
    '--concurrency',
    '8',
    '--per-host',
    '8',
    '--webhook',
    `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
  ];

  const first = watch(args);
  await first.printed(URLS + URLS / 2); // well into the second pass, with checks in flight
  const killedAt = Date.now();
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  holding = false;

  const { DatabaseSync } = await import('node:sqlite');
  const reader = new DatabaseSync(db, { readOnly: true });
  after(() => reader.close());
  const pendingAtCrash = (reader.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  assert.ok(pendingAtCrash > 0, 'notifications were pending when the process was killed');
  const second = watch(args);
  // Wait (on the history, not on a clock) until every watch has a check after the restart and the outbox is empty.
  for (;;) {
    const done = reader
      .prepare(
        `SELECT (SELECT COUNT(DISTINCT watch_id) FROM checks WHERE time > ?) AS resumed,
                (SELECT COUNT(*) FROM outbox) AS pending`,
      )
      .get(new Date(killedAt + 500).toISOString()) as { resumed: number; pending: number };
    if (done.resumed === URLS && done.pending === 0) break;
    await second.printed(second.lines() + 1);
  }
  second.child.kill('SIGTERM');
  await once(second.child, 'exit');

  // Exactly once per (watch, due time), and no due time lost: consecutive due times are one jittered interval
  // apart (±10 %), never two — unless the earlier check finished so late that its next slot had already passed
  // (a loaded machine; the schedule then moves forward in whole steps, by design, not by loss).
  const rows = reader
    .prepare('SELECT watch_id, due_at, time, status, digest FROM checks ORDER BY watch_id, due_at')
    .all() as {
    watch_id: number;
    due_at: number;
    time: string;
    status: string;
    digest: string | null;
  }[];
  const byWatch = new Map<number, typeof rows>();
  for (const row of rows) byWatch.set(row.watch_id, [...(byWatch.get(row.watch_id) ?? []), row]);
  assert.equal(byWatch.size, URLS);
  for (const [id, checks] of byWatch) {
    assert.ok(checks.length >= 2, `watch ${id}: ${checks.length} checks`);
    for (let i = 1; i < checks.length; i++) {
      const previous = checks[i - 1]!;
      const gap = checks[i]!.due_at - previous.due_at;
      const late = Date.parse(previous.time) - previous.due_at > 0.9 * INTERVAL_MS;
      assert.ok(gap > 0 && (gap < 1.8 * INTERVAL_MS || late), `watch ${id}: due times ${gap} ms apart`);
    }
  }

  // Every referenced snapshot is there and whole: its content hashes to its address.
  const snapshots = reader.prepare('SELECT digest, encoding, content FROM snapshots').all() as {
    digest: string;
    encoding: string;
    content: Uint8Array;
  }[];
  const stored = new Map(snapshots.map((s) => [s.digest, s]));
  for (const row of rows) if (row.digest) assert.ok(stored.has(row.digest), `snapshot ${row.digest} missing`);
  for (const s of snapshots) {
    const text = s.encoding === 'br' ? brotliDecompressSync(s.content) : Buffer.from(s.content);
    assert.equal(`sha256:${createHash('sha256').update(text).digest('hex')}`, s.digest);
  }

  // Every change was delivered at least once (pending ones after the restart).
  const changes = rows.filter((r) => r.status === 'changed');
  assert.ok(changes.length > 0);
  const delivered = new Set(received.map((r) => `${r.url} ${r.dueAt}`));
  const urls = reader.prepare('SELECT id, url FROM watches').all() as { id: number; url: string }[];
  const urlOf = new Map(urls.map((u) => [u.id, u.url]));
  for (const change of changes)
    assert.ok(
      delivered.has(`${urlOf.get(change.watch_id)} ${change.due_at}`),
      `change at ${change.due_at} not delivered`,
    );
});
