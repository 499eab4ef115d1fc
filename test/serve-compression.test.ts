/**
 * On-the-fly compression under load (the listener in this process, so that its compressions can be watched on
 * diagnostics_channel): simultaneous requests share one compression, concurrent compressions are bounded and
 * requests beyond the bound get the identity bytes at once, an encoding that does not shrink the file is made
 * once, and an encoding is kept so that it is made once per version of the file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  COMPRESSION_CHANNEL,
  type CompressionEvent,
  defaultCompressionLimit,
} from '../src/files/compression.ts';
import { serveFilesNode } from '../src/files/node.ts';
import { type RawResponse, request } from './support/http.ts';

const MIB = 1024 * 1024;
let dir: string;
let server: Server;
let base: string;
let events: CompressionEvent[] = [];
const record = (message: unknown) => events.push(message as CompressionEvent);

/** Text that compresses well but not instantly: a few MiB of varied lines. */
function text(bytes: number, seed: number): string {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const line = `${seed}:${i} ${(i * 2654435761) % 1000003} lorem ipsum dolor sit amet ${i % 97}\n`;
    lines.push(line);
    length += line.length;
  }
  return lines.join('').slice(0, bytes);
}

async function start(options: Parameters<typeof serveFilesNode>[1] = {}): Promise<void> {
  server = createServer(await serveFilesNode(dir, options));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function stop(): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Enough sockets for every request of a burst to be in flight at once. */
const agent = new Agent({ keepAlive: true, maxSockets: 128 });
const gzipGet = (path: string, headers: Record<string, string> = {}) =>
  request(base, path, { agent, headers: { 'accept-encoding': 'gzip', ...headers } });
const count = (phase: CompressionEvent['phase']) => events.filter((e) => e.phase === phase).length;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etagkit-compress-'));
  subscribe(COMPRESSION_CHANNEL, record);
});

afterEach(() => {
  events = [];
});

after(async () => {
  unsubscribe(COMPRESSION_CHANNEL, record);
  agent.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('bounded, shared on-the-fly compression', () => {
  before(() => start());
  after(() => stop());

  test('100 simultaneous gzip requests for one file: one compression, every client gets the same gzip bytes', async () => {
    const source = text(2 * MIB, 1);
    await writeFile(join(dir, 'one.txt'), source);
    const responses = await Promise.all(Array.from({ length: 100 }, () => gzipGet('/one.txt')));
    assert.equal(count('start'), 1, 'one compression');
    assert.equal(count('busy'), 0, 'the others waited for it (or came after it and found it kept)');
    assert.ok(count('join') > 0, 'some requests arrived while it ran');
    const tags = new Set(responses.map((r) => r.headers.etag));
    assert.equal(tags.size, 1);
    for (const res of responses) {
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], 'gzip');
      assert.equal(res.headers.vary, 'Accept-Encoding');
    }
    assert.equal(gunzipSync(responses[0]!.body).toString(), source);
    // Kept: the next request is served from memory, without compressing again.
    assert.equal((await gzipGet('/one.txt')).headers.etag, responses[0]!.headers.etag);
    assert.equal(count('start'), 1);
  });

  test('many distinct large files at once: compressions never exceed the bound, the rest get identity at once, and a small file is served meanwhile', async () => {
    const FILES = 24;
    const limit = defaultCompressionLimit();
    await writeFile(join(dir, 'small.html'), '<p>small</p>'.repeat(30));
    await gzipGet('/small.html'); // remembered, like any page already visited
    events = [];
    const sources = await Promise.all(
      Array.from({ length: FILES }, async (_, i) => {
        const source = text(3 * MIB, 100 + i);
        await writeFile(join(dir, `big-${i}.txt`), source);
        return source;
      }),
    );
    let running = 0;
    let smallAnsweredWhileRunning = false;
    const responses = Promise.all(sources.map((_, i) => gzipGet(`/big-${i}.txt`)));
    // Once the first compression has started, another client asks for a small page.
    const small = new Promise<RawResponse>((resolve) => {
      const watch = (message: unknown) => {
        const event = message as CompressionEvent;
        if (event.phase === 'start') running++;
        if (event.phase === 'end') running--;
        if (event.phase === 'start' && running === 1 && !smallAsked) {
          smallAsked = true;
          gzipGet('/small.html').then((res) => {
            smallAnsweredWhileRunning = running > 0;
            unsubscribe(COMPRESSION_CHANNEL, watch);
            resolve(res);
          });
        }
      };
      let smallAsked = false;
      subscribe(COMPRESSION_CHANNEL, watch);
    });
    const all = await responses;
    assert.equal((await small).status, 200);
    assert.ok(smallAnsweredWhileRunning, 'the small page did not wait for the compressions');

    const peak = Math.max(...events.filter((e) => e.phase === 'start').map((e) => e.running));
    assert.ok(peak <= limit, `at most ${limit} compressions at once, saw ${peak}`);
    const compressed = all.filter((r) => r.headers['content-encoding'] === 'gzip');
    const identity = all.filter((r) => r.headers['content-encoding'] === undefined);
    assert.equal(compressed.length, count('start'), 'only the requests that got a slot compressed');
    assert.equal(identity.length, count('busy'), 'the others were told busy and sent identity');
    assert.ok(identity.length >= FILES - limit * 4, 'most requests found every slot taken');
    // Memory held by compressions is bounded by the slots, not the number of requests.
    const inFlight = events.filter((e) => e.phase === 'end').map((e) => (e as { bytesIn: number }).bytesIn);
    assert.ok(Math.max(...inFlight) <= 3 * MIB);
    for (const [i, res] of all.entries()) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.vary, 'Accept-Encoding', 'identity too says it varies');
      const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.body) : res.body;
      assert.equal(body.toString(), sources[i], `big-${i}.txt`);
      if (res.headers['content-encoding'] === undefined)
        assert.doesNotMatch(String(res.headers.etag), /-gzip"$/);
    }
  });

  test('an encoding that does not shrink the file is made once; then identity is served without trying again', async () => {
    await writeFile(join(dir, 'random.txt'), randomBytes(512 * 1024));
    const first = await gzipGet('/random.txt');
    const second = await gzipGet('/random.txt');
    assert.equal(count('start'), 1);
    for (const res of [first, second]) {
      assert.equal(res.headers['content-encoding'], undefined);
      assert.equal(res.headers.vary, 'Accept-Encoding');
    }
    assert.equal(second.headers.etag, first.headers.etag);
  });

  test('a 304 for an encoding needs no compression', async () => {
    await writeFile(join(dir, 'revalidated.txt'), text(MIB, 7));
    const tag = String((await gzipGet('/revalidated.txt')).headers.etag);
    await stop();
    await start(); // a new process: nothing in memory
    events = [];
    const res = await gzipGet('/revalidated.txt', { 'if-none-match': tag });
    assert.equal(res.status, 304);
    assert.equal(count('start'), 0);
  });
});

describe('what is compressed depends on what can be kept', () => {
  before(() => start({ cacheBytes: 8 * MIB }));
  after(() => stop());

  test('a file larger than an eighth of --cache-bytes is sent as stored: its encoding could not be kept', async () => {
    await writeFile(join(dir, 'large.txt'), text(3 * MIB, 9));
    for (let i = 0; i < 3; i++) {
      const res = await gzipGet('/large.txt');
      assert.equal(res.headers['content-encoding'], undefined);
    }
    assert.equal(count('start'), 0, 'never compressed, so never compressed again on every request');
  });
});
