/**
 * etagkit's own servers pass their own audit: `etagkit serve` and `conditional()` (Fetch API and node:http)
 * produce no error and no warning, with the write probes too, within the default budget.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { conditional as nodeConditional } from '../src/adapters/node.ts';
import { audit, type Report } from '../src/audit/index.ts';
import { etagFromVersion } from '../src/core/index.ts';
import { conditional } from '../src/server/index.ts';
import { type RunningCli, startCli } from './support/cli.ts';

const MTIME = new Date('2024-01-02T03:04:05Z');
const TEXT = 'a page with enough text to be worth compressing\n'.repeat(100);

let dir: string;
let serve: RunningCli;
const servers: Server[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etagkit-audit-'));
  for (const [name, content] of [
    ['page.html', `<!doctype html><title>t</title><pre>${TEXT}</pre>`],
    ['data.json', JSON.stringify({ text: TEXT })],
    ['photo.bin', Buffer.alloc(5000, 7)],
    ['notes.txt', TEXT],
  ] as const) {
    await writeFile(join(dir, name), content);
    await utimes(join(dir, name), MTIME, MTIME);
  }
  serve = await startCli(['serve', dir, '--port', '0', '--writable', '--require-preconditions']);
});

after(async () => {
  await serve?.stop();
  for (const s of servers) s.close();
  await rm(dir, { recursive: true, force: true });
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function assertClean(report: Report) {
  const serious = report.findings.filter((f) => f.severity !== 'info');
  assert.deepEqual(
    serious.map((f) => `${f.id}: ${f.message}`),
    [],
  );
}

describe('etagkit serve passes etagkit check', () => {
  for (const name of ['page.html', 'data.json', 'photo.bin'])
    test(name, async () => {
      const report = await audit(`${serve.url}/${name}`);
      assertClean(report);
      assert.deepEqual(report.trust, { etag: 'reliable', lastModified: 'reliable' });
      assert.ok(report.requests <= 12, 'within the default budget');
    });

  test('every probe, with a budget for all of them', async () => {
    const report = await audit(`${serve.url}/page.html`, { budget: 30 });
    assertClean(report);
    assert.deepEqual(report.skipped, []);
    assert.ok(
      report.probes.some((p) => p.name === 'inm-encoded'),
      'the compressed tag was tried',
    );
  });

  test('write probes on an existing file restore its bytes', async () => {
    const report = await audit(`${serve.url}/notes.txt`, { writeProbe: true });
    assertClean(report);
    assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), TEXT);
  });

  test('write probes on a new path create it, test it, and delete it', async () => {
    const report = await audit(`${serve.url}/new.txt`, { writeProbe: true });
    assertClean(report);
    await assert.rejects(readFile(join(dir, 'new.txt')), { code: 'ENOENT' });
  });
});

describe('conditional() passes etagkit check', () => {
  const profile = { name: 'Ada', bio: TEXT, version: 7, updatedAt: MTIME };

  test('Fetch API, with validate()', async () => {
    const handler = conditional(() => Response.json(profile), {
      validate: () => ({ etag: etagFromVersion(profile.version), lastModified: profile.updatedAt }),
      headers: { 'cache-control': 'no-cache' },
    });
    const url = await listen(createServer(getRequestListener(handler)));
    const report = await audit(`${url}/profile`);
    assertClean(report);
    assert.deepEqual(report.trust, { etag: 'reliable', lastModified: 'reliable' });
  });

  test('Fetch API, hashing the body', async () => {
    const handler = conditional(() => new Response(TEXT), { headers: { 'cache-control': 'no-cache' } });
    const url = await listen(createServer(getRequestListener(handler)));
    const report = await audit(`${url}/text`);
    assertClean(report);
    assert.equal(report.trust.etag, 'reliable');
  });

  test('node:http, with writes guarded by requirePreconditions', async () => {
    let body = Buffer.from(TEXT);
    let version = 1;
    const listener = nodeConditional(
      async (req, res) => {
        if (req.method === 'PUT') {
          const chunks: Buffer[] = [];
          for await (const c of req) chunks.push(c as Buffer);
          body = Buffer.concat(chunks);
          version++;
          res.statusCode = 204;
          return res.end();
        }
        res.setHeader('content-type', 'text/plain');
        res.end(body);
      },
      {
        validate: () => ({ etag: etagFromVersion(version) }),
        headers: { 'cache-control': 'no-cache' },
        requirePreconditions: true,
      },
    );
    const url = await listen(createServer(listener));
    const report = await audit(`${url}/doc`, { writeProbe: true });
    assertClean(report);
    assert.equal(body.toString(), TEXT, 'the bytes are as they were');
    assert.equal(report.trust.lastModified, 'absent');
  });
});
