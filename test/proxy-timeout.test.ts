/**
 * The proxy's upstream timeout, end to end over 127.0.0.1: a sub-second `--timeout` is kept to within a small
 * margin (for the response head and between body chunks), and a timeout that would mean "never" (0, negative,
 * not a number) is refused up front.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createProxy } from '../src/proxy/index.ts';
import { runCli, startCli } from './support/cli.ts';
import { request } from './support/http.ts';
import { closeServer, listenLocal } from './support/proxy.ts';

const TIMEOUT_MS = 150;
/** Well under the half-second steps of a coarse timer, well over a busy machine's scheduling delay. */
const MARGIN_MS = 250;

let slow: Server;
let origin: string;
before(async () => {
  // /head/N answers after N ms; /body sends a first chunk and then nothing; /quick answers at once.
  slow = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin').pathname;
    if (url.startsWith('/head/'))
      setTimeout(() => res.end('late'), Number(url.slice('/head/'.length))).unref();
    else if (url === '/body') {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '10' });
      res.write('12345');
    } else res.end('quick');
  });
  origin = await listenLocal(slow);
});
after(() => closeServer(slow));

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

describe('a sub-second timeout is enforced', () => {
  it('for the response head: 504 within the timeout and a small margin', async () => {
    const proxy = createProxy({ upstream: origin, timeoutMs: TIMEOUT_MS });
    try {
      for (let i = 0; i < 3; i++) {
        const [res, ms] = await timed(() => proxy.fetch(new Request(`http://proxy/head/2000?${i}`)));
        assert.equal(res.status, 504);
        assert.match(String(res.headers.get('cache-status')), /detail=upstream-timeout/);
        assert.ok(ms >= TIMEOUT_MS - 5 && ms < TIMEOUT_MS + MARGIN_MS, `504 after ${Math.round(ms)} ms`);
      }
    } finally {
      await proxy.close();
    }
  });

  it('between body chunks: the response is cut within the timeout and a small margin', async () => {
    const proxy = createProxy({ upstream: origin, timeoutMs: TIMEOUT_MS });
    try {
      const [outcome, ms] = await timed(async () => {
        const res = await proxy.fetch(new Request('http://proxy/body'));
        return res.arrayBuffer().then(
          () => 'complete',
          () => 'cut',
        );
      });
      assert.equal(outcome, 'cut');
      assert.ok(ms < TIMEOUT_MS + MARGIN_MS, `cut after ${Math.round(ms)} ms`);
    } finally {
      await proxy.close();
    }
  });

  it('an upstream that answers within it is relayed', async () => {
    const proxy = createProxy({ upstream: origin, timeoutMs: TIMEOUT_MS });
    try {
      const res = await proxy.fetch(new Request('http://proxy/head/20'));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'late');
      assert.equal(await (await proxy.fetch(new Request('http://proxy/quick'))).text(), 'quick');
    } finally {
      await proxy.close();
    }
  });

  it('etagkit proxy --timeout 150ms', { timeout: 20_000 }, async () => {
    const cli = await startCli(['proxy', '--upstream', origin, '--port', '0', '--timeout', '150ms']);
    try {
      const [res, ms] = await timed(() => request(cli.url, '/head/2000'));
      assert.equal(res.status, 504);
      assert.ok(ms < TIMEOUT_MS + MARGIN_MS, `504 after ${Math.round(ms)} ms`);
    } finally {
      await cli.stop();
    }
  });
});

describe('a timeout that would mean "never" is refused', () => {
  for (const value of ['0', '0ms', '0s', '-1', '-5s', 'NaN', '0.0001'])
    it(`etagkit proxy --timeout ${value} → exit 2`, { timeout: 20_000 }, async () => {
      const run = await runCli(['proxy', '--upstream', origin, '--port', '0', `--timeout=${value}`]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /--timeout must be/);
      assert.match(run.stderr, /usage: etagkit proxy/);
    });

  it('createProxy({ timeoutMs: 0 }) throws', () => {
    for (const timeoutMs of [0, -1, Number.NaN])
      assert.throws(() => createProxy({ upstream: origin, timeoutMs }), RangeError);
  });
});
