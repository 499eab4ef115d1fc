/**
 * CPU cost per request of the render and of the ETag step alone, without sockets: fake requests go through
 * node:http's ServerResponse, each case in a fresh process (`node bench/middleware/in-process.ts <index>`), so
 * that node's own code sees only this case's objects, as a real server would. The 78 KB handlers send a body
 * serialised once beforehand, to isolate the ETag step; the render row is what serialising it costs each time.
 * With no socket node never encodes a string body, so the 78 KB rows charge etagkit the UTF-8 encoding it needs
 * for hashing, which a real server then reuses.
 */
import { execFile as execFileCallback } from 'node:child_process';
import http from 'node:http';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Settings } from '../support/bench.ts';
import { median, table } from '../support/format.ts';
import { interleave, type Spread, spread } from '../support/rounds.ts';
import { USERS } from './servers.ts';

const execFile = promisify(execFileCallback);
const THIS_FILE = fileURLToPath(import.meta.url);

type Case = [label: string, iterations: number, run: () => unknown];

async function cases(): Promise<Case[]> {
  const { default: express } = await import('express');
  const { conditional: nodeConditional } = await import('../../src/adapters/node.ts');
  const { conditional: expressConditional } = await import('../../src/adapters/express.ts');
  const { etagFromVersion } = await import('../../src/core/index.ts');
  const body = JSON.stringify(USERS);
  const tiny = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  };
  const large = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    res.end(body);
  };
  const plain = express();
  plain.set('etag', false);
  plain.get('/', (_q, r) => r.type('application/json').send(body));
  const withEtag = express();
  withEtag.get('/', (_q, r) => r.type('application/json').send(body));
  const kit = express();
  kit.get('/', expressConditional(), (_q, r) => r.type('application/json').send(body));
  const etag = etagFromVersion(42);
  const validated = nodeConditional(tiny, { validate: () => ({ etag }) });

  const socket = new Socket();
  const call = (listener: http.RequestListener, headers?: http.IncomingHttpHeaders) => () => {
    const req = new http.IncomingMessage(socket);
    req.method = 'GET';
    req.url = '/';
    req.headers = { host: 'bench', ...headers };
    listener(req, new http.ServerResponse(req));
  };
  return [
    [
      `render: JSON.stringify of the 500 users (${(body.length / 1000).toFixed(1)} KB)`,
      2000,
      () => JSON.stringify(USERS),
    ],
    ['node:http tiny 200, bare', 20000, call(tiny)],
    ['node:http tiny 200, conditional() with validate', 20000, call(validated)],
    ['node:http tiny 200, conditional() hashing', 20000, call(nodeConditional(tiny))],
    ['node:http 304, conditional() with validate', 20000, call(validated, { 'if-none-match': etag })],
    ['node:http 78 KB 200, bare', 2000, call(large)],
    ['node:http 78 KB 200, conditional() hashing', 2000, call(nodeConditional(large))],
    ['Express 78 KB, etag off (no validator)', 2000, call(plain)],
    ['Express 78 KB, default etag (SHA-1)', 2000, call(withEtag)],
    ['Express 78 KB, etagkit hashing', 2000, call(kit)],
  ];
}

/** In the child: the best of a few runs of one case, in µs of process CPU time per call. */
async function measureOne(index: number): Promise<number> {
  // The loops below never yield: let xxhash-wasm finish instantiating first, or they would time the fallback.
  const { internals } = await import('../../src/core/xxh64.ts');
  await internals.instantiated;
  if (!internals.wasmReady()) throw new Error('xxhash-wasm did not instantiate');
  const [, n, run] = (await cases())[index]!;
  let sink = 0;
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < n / 4; i++) sink += run() === undefined ? 0 : 1;
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) sink += run() === undefined ? 0 : 1;
    const { user, system } = process.cpuUsage(start);
    best = Math.min(best, (user + system) / n);
  }
  return sink >= 0 ? best : Number.NaN;
}

/** Measures every case `s.rounds` times, interleaved, each in a fresh process; prints the table. */
export async function inProcessTable(s: Settings): Promise<Map<string, Spread>> {
  const labels = (await cases()).map(([label]) => label);
  const rounds = await interleave(
    labels.map((_, i) => String(i)),
    {
      rounds: s.rounds,
      measure: async (index) => Number((await execFile(process.execPath, [THIS_FILE, index])).stdout.trim()),
    },
  );
  const out = new Map(labels.map((label, i) => [label, spread(rounds.get(String(i))!)]));
  console.log(
    `Each case in a fresh process, ${s.rounds} interleaved rounds; within a process the best of 5 timed loops ` +
      `after a warm-up loop; median (lowest–highest round) in µs of the process's CPU time (user + system).\n`,
  );
  table(
    ['handler', 'µs per request'],
    [...out].map(([label, value]) => [label, median(value, 2)]),
  );
  return out;
}

if (import.meta.main) console.log(await measureOne(Number(process.argv[2])));
