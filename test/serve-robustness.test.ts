/**
 * The node:http file listener when things go wrong mid-request: clients that leave early, bodies that stop or
 * overflow mid-stream, files that shrink while they are sent. The listener runs in this process so that its
 * open files can be counted (Linux /proc/self/fd).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readlink, rm, truncate, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type NodeListener, serveFilesNode } from '../src/files/node.ts';
import { request } from './support/http.ts';

const BIG = 1024 * 1024;
const SHRINKING = 32 * 1024 * 1024; // more than loopback socket buffers hold, so most of it is read after the cut

let dir: string;
let listener: NodeListener;
let server: Server;
let base: string;
let port: number;

/**
 * Under `/gone/…` the response is destroyed before the file server sees the request, as when a client leaves
 * while the file is being looked up and opened.
 */
function route(req: IncomingMessage, res: ServerResponse): void {
  if (req.url?.startsWith('/gone/')) {
    req.url = req.url.slice('/gone'.length);
    res.destroy();
  }
  listener(req, res);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etagkit-robust-'));
  await writeFile(join(dir, 'small.txt'), 'small');
  listener = await serveFilesNode(dir, { writable: true, maxBodyBytes: 1000 });
  server = createServer(route);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** Whether this process holds `name` (in the test directory) open. */
async function isOpen(name: string): Promise<boolean> {
  for (const fd of await readdir('/proc/self/fd')) {
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === join(dir, name)) return true;
  }
  return false;
}

/** Polls until `condition` holds (the server finishes in its own time); fails after about three seconds. */
async function eventually(what: string, condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await condition()) return;
    await delay(10);
  }
  assert.fail(`never: ${what}`);
}

const tempFiles = async () => (await readdir(dir)).filter((f) => f.startsWith('.etagkit-'));

/** Sends raw bytes; resolves with everything received once the server closes the connection. */
function rawExchange(socket: Socket): Promise<string> {
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  return new Promise((resolve) => socket.on('close', () => resolve(received)));
}

function openSocket(): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', () => {});
  });
}

describe('files are closed whatever happens to the response', () => {
  const cases: [string, Record<string, string>][] = [
    ['the whole file', {}],
    ['§14.2 one range', { range: 'bytes=100000-' }],
    ['§14.6 several ranges (multipart/byteranges)', { range: 'bytes=0-9, 200000-300000' }],
  ];
  for (const [i, [name, headers]] of cases.entries()) {
    test(`${name}: a client gone before the response is written leaves no file open`, async () => {
      await writeFile(join(dir, `gone-${i}.bin`), Buffer.alloc(BIG, 7));
      await assert.rejects(request(base, `/gone/gone-${i}.bin`, { headers }));
      await eventually('the file is closed', async () => !(await isOpen(`gone-${i}.bin`)));
    });
  }

  test('a client that disconnects mid-download leaves no file open', async () => {
    await writeFile(join(dir, 'left.bin'), Buffer.alloc(BIG, 7));
    const socket = await openSocket();
    socket.write('GET /left.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    socket.destroy();
    await eventually('the file is closed', async () => !(await isOpen('left.bin')));
  });
});

describe('a file cut short while it is sent', () => {
  test('the connection is closed, never reused: a pipelined response is not read as the rest of the body', async () => {
    await writeFile(join(dir, 'shrinking.bin'), Buffer.alloc(SHRINKING, 1));
    const socket = await openSocket();
    const received = rawExchange(socket);
    socket.write('GET /shrinking.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    socket.pause();
    await truncate(join(dir, 'shrinking.bin'), 0); // written in place by another program (say, copytruncate)
    socket.resume();
    const text = await received;
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, 'only one response on this connection');
    await eventually('the file is closed', async () => !(await isOpen('shrinking.bin')));
  });
});

describe('request bodies that stop or overflow mid-stream', () => {
  test('a PUT whose client disconnects mid-body creates nothing and leaves no temp file', async () => {
    const socket = await openSocket();
    socket.write('PUT /cut.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b');
    await eventually('the body is being received', async () => (await tempFiles()).length === 1);
    socket.destroy();
    await eventually('the temp file is removed', async () => (await tempFiles()).length === 0);
    assert.equal((await request(base, '/cut.txt')).status, 404);
    assert.equal((await request(base, '/small.txt')).status, 200, 'the server keeps serving');
  });

  test('§15.5.14: a chunked body that passes the limit gets 413, the client reads it, nothing is left', async () => {
    const socket = await openSocket();
    const received = rawExchange(socket);
    const chunk = `${(600).toString(16)}\r\n${'x'.repeat(600)}\r\n`;
    socket.write(`PUT /huge.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}`);
    assert.match(await received, /^HTTP\/1\.1 413 /);
    await eventually('the temp file is removed', async () => (await tempFiles()).length === 0);
    assert.equal((await request(base, '/huge.txt')).status, 404);
  });
});
