/**
 * `etagkit serve --writable` killed with SIGKILL in the middle of concurrent PUTs, round after round: no file is
 * ever torn (each is absent or exactly one writer's whole body), a temp file is never reachable by GET, and the
 * next server sweeps every temp file the dead one left before it starts listening.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type RunningCli, startCli } from './support/cli.ts';
import { request } from './support/http.ts';

const ROUNDS = 4;
const WRITERS = 12;
const FILES = 4; // three writers per file
const SIZE = 2 * 1024 * 1024;
const HEAD = 32;

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etagkit-crash-'));
});

after(() => rm(dir, { recursive: true, force: true }));

/** Writer w's body in round r: a header naming both, then one byte value repeated to the end. */
function body(round: number, writer: number): Buffer {
  const data = Buffer.alloc(SIZE, 1 + ((round * WRITERS + writer) % 250));
  data.write(`round=${round} writer=${writer}\n`.padEnd(HEAD, ' '), 'latin1');
  return data;
}

/** Whether `data` is one writer's complete body. */
function isWhole(data: Buffer): boolean {
  const m = /^round=(\d+) writer=(\d+)\n/.exec(data.subarray(0, HEAD).toString('latin1'));
  return m !== null && data.length === SIZE && data.equals(body(Number(m[1]), Number(m[2])));
}

const temps = async () => (await readdir(dir)).filter((name) => name.startsWith('.etagkit-'));

async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await condition()) return;
    await delay(10);
  }
  assert.fail(`never: ${what}`);
}

/** Opens a PUT of `data` and sends `sent` bytes of its body; the rest never comes. */
async function startPut(url: string, path: string, data: Buffer, sent: number): Promise<Socket> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(`PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${data.length}\r\n\r\n`);
  socket.write(data.subarray(0, sent));
  return socket;
}

test('SIGKILL during concurrent PUTs: no torn file, temp files hidden, then swept by the next server', async () => {
  let leftBehind = 0;
  let server: RunningCli | undefined;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      server = await startCli(['serve', dir, '--port', '0', '--writable']);
      assert.deepEqual(await temps(), [], `round ${round}: temp files swept before listening`);
      // Even writers send their whole body, odd ones stop halfway: some renames race the kill, some never start.
      const stalled = WRITERS / 2;
      const sockets = await Promise.all(
        Array.from({ length: WRITERS }, (_, w) =>
          startPut(server!.url, `/f${w % FILES}.bin`, body(round, w), w % 2 === 0 ? SIZE : SIZE / 2),
        ),
      );
      await until('the stalled bodies are being received', async () => (await temps()).length >= stalled);
      const [temp] = await temps();
      assert.equal((await request(server.url, `/${temp}`)).status, 404, 'a temp file is not reachable');
      server.child.kill('SIGKILL');
      await once(server.child, 'exit');
      for (const socket of sockets) socket.destroy();
      server = undefined;

      leftBehind += (await temps()).length;
      for (let f = 0; f < FILES; f++) {
        const data = await readFile(join(dir, `f${f}.bin`)).catch(() => undefined);
        assert.ok(data === undefined || isWhole(data), `round ${round}: f${f}.bin is torn`);
      }
    }
    assert.ok(leftBehind >= ROUNDS * (WRITERS / 2), 'every round left the stalled temp files behind');
    server = await startCli(['serve', dir, '--port', '0', '--writable']);
    assert.deepEqual(await temps(), []);
  } finally {
    await server?.stop();
  }
});
