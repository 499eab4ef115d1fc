/**
 * `etagkit serve` as the tree grows: 1k → 100k files of 1 KB (five per directory, so 100k files sit in 20k
 * directories), requested uniformly at random — the worst case for every cache the server keeps. Per point:
 * req/s and server CPU per request for 200s and for 304s, and the server's resident memory afterwards, with the
 * default `--cache-bytes` and, at the largest point, with a cache big enough for the whole tree.
 *
 * Target (issue 16): cost per request flat from 1k to 100k files — no cliff when the tree outgrows a cache —
 * and memory bounded by `--cache-bytes`. Each point runs for a fixed time (warm-up + two measured runs); building
 * the tree is not measured.
 *
 * Run alone: `node bench/scale/serve.ts [--quick]`.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { etagFromStats } from '../../src/core/index.ts';
import { type BenchOptions, type Ratio, settings } from '../support/bench.ts';
import { cpuTimeMicros } from '../support/cpu.ts';
import { num, table } from '../support/format.ts';
import { startListening, stopServer } from '../support/load.ts';
import { named, spread } from '../support/rounds.ts';

export const title = '`etagkit serve` from 1k to 100k files';

const here = fileURLToPath(new URL('.', import.meta.url));
const FILE_BYTES = 1024;
const PER_DIRECTORY = 5;

interface Point {
  files: number;
  cacheBytes?: string;
}

interface Row {
  point: Point;
  ok: Run;
  notModified: Run;
  idleMiB: number;
  rssMiB: number;
}

interface Run {
  requestsPerSecond: number;
  cpuMicros: number;
}

/** The file's request path; file i lives in directory i / PER_DIRECTORY. */
const pathOf = (i: number) => `/d${Math.floor(i / PER_DIRECTORY)}/f${i}.bin`;

/** Adds files `from`…`to - 1` to the tree, each 1 KB, starting with its own number (no two alike). */
function grow(root: string, from: number, to: number): void {
  const body = Buffer.alloc(FILE_BYTES, 'x');
  for (let i = from; i < to; i++) {
    if (i % PER_DIRECTORY === 0) mkdirSync(join(root, `d${i / PER_DIRECTORY}`), { recursive: true });
    body.write(`${i}\n`.padEnd(16, ' '));
    writeFileSync(join(root, pathOf(i)), body);
  }
}

/** A small, seeded random number generator (mulberry32), so every run asks for the same paths. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * GETs over the first `files` files — at random for `seconds`, or each file once in order when `seconds` is
 * undefined (the warm-up) — with If-None-Match when `etags` are given; every response must be 200 (304).
 */
async function load(
  base: string,
  files: number,
  etags: string[] | undefined,
  seconds: number | undefined,
  connections: number,
  pid: number,
): Promise<Run> {
  const draw = random(files);
  let sequence = 0;
  const next = seconds === undefined ? () => (sequence++ % files) / files : draw;
  const status = etags ? 304 : 200;
  const before = cpuTimeMicros(pid);
  const result = await autocannon({
    url: base,
    connections,
    ...(seconds === undefined ? { amount: files } : { duration: seconds }),
    requests: [
      {
        setupRequest: (request: autocannon.Request) => {
          const i = Math.floor(next() * files);
          return {
            ...request,
            path: pathOf(i),
            headers: etags ? { 'if-none-match': etags[i]! } : {},
          } as autocannon.Request;
        },
      },
    ],
  });
  const cpu = cpuTimeMicros(pid);
  const seen = Object.entries(result.statusCodeStats ?? {});
  const requests = seen.reduce((n, [, s]) => n + (s?.count ?? 0), 0);
  if (seen.some(([code, s]) => Number(code) !== status && (s?.count ?? 0) > 0) || result.errors > 0)
    throw new Error(`scale serve: expected only ${status}, saw ${JSON.stringify(result.statusCodeStats)}`);
  return {
    requestsPerSecond: requests / result.duration,
    cpuMicros: before === undefined || cpu === undefined ? Number.NaN : (cpu - before) / requests,
  };
}

function residentMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kb / 1024;
}

export async function run(options: BenchOptions): Promise<Ratio[]> {
  const s = settings(options);
  const points: Point[] = options.quick
    ? [{ files: 1000 }, { files: 10_000 }]
    : [{ files: 1000 }, { files: 10_000 }, { files: 100_000 }, { files: 100_000, cacheBytes: '256M' }];
  const work = await mkdtemp(join(tmpdir(), 'etagkit-bench-scale-serve-'));
  const rows: Row[] = [];
  let built = 0;
  let child: ChildProcess | undefined;
  try {
    for (const point of points) {
      process.stderr.write(
        `scale serve: ${point.files} files${point.cacheBytes ? ` (--cache-bytes ${point.cacheBytes})` : ''}\n`,
      );
      grow(work, built, point.files);
      built = Math.max(built, point.files);
      const etags = Array.from({ length: point.files }, (_, i) =>
        etagFromStats(statSync(join(work, pathOf(i)))),
      );
      const args = [join(here, '../../src/cli/main.ts'), 'serve', work, '--port', '0'];
      if (point.cacheBytes) args.push('--cache-bytes', point.cacheBytes);
      const started = await startListening(process.execPath, args);
      child = started.child;
      const base = started.base;
      const pid = child.pid!;
      const idleMiB = residentMiB(pid);
      await load(base, point.files, undefined, undefined, s.connections, pid);
      const ok = await load(base, point.files, undefined, s.seconds * 2, s.connections, pid);
      const notModified = await load(base, point.files, etags, s.seconds * 2, s.connections, pid);
      rows.push({ point, ok, notModified, idleMiB, rssMiB: residentMiB(pid) });
      await stopServer(child);
      child = undefined;
    }
  } finally {
    if (child) await stopServer(child);
    await rm(work, { recursive: true, force: true });
  }

  console.log(
    `Files of 1 KB, ${PER_DIRECTORY} per directory, requested uniformly at random by autocannon (${s.connections} ` +
      'connections, loopback); per point every file is requested once (warm-up), then ' +
      `${s.seconds * 2} s of random 200s and ${s.seconds * 2} s of random 304s. Server CPU = user + system time of ` +
      'the server process per response. RSS of the server when it started and after the runs (the CLI run from ' +
      'TypeScript sources starts at about 100 MiB). One run per point: read the shape of the curve, not single ' +
      'values.\n',
  );
  table(
    [
      'files (directories)',
      '--cache-bytes',
      '200 req/s',
      '200 µs CPU/req',
      '304 req/s',
      '304 µs CPU/req',
      'RSS MiB (idle → after)',
    ],
    rows.map(({ point, ok, notModified, idleMiB, rssMiB }) => [
      `${point.files.toLocaleString('en-US')} (${Math.ceil(point.files / PER_DIRECTORY).toLocaleString('en-US')})`,
      point.cacheBytes ?? '64M (default)',
      num(ok.requestsPerSecond),
      num(ok.cpuMicros),
      num(notModified.requestsPerSecond),
      num(notModified.cpuMicros),
      `${num(idleMiB, 0)} → ${num(rssMiB, 0)}`,
    ]),
  );
  // Target: flat. Bounds for --check are regression floors with room for a noisy machine.
  const first = rows[0]!;
  const last = rows.filter((row) => row.point.cacheBytes === undefined).at(-1)!;
  const growth = (what: string, pick: (row: Row) => number) =>
    named(
      `scale serve: ${what} CPU/request at ${last.point.files} files ÷ at ${first.point.files}`,
      spread([pick(last) / pick(first)]),
      { atMost: 3 },
    );
  return [growth('304', (row) => row.notModified.cpuMicros), growth('200', (row) => row.ok.cpuMicros)];
}

if (import.meta.main) {
  const ratios = await run({ quick: process.argv.includes('--quick') });
  for (const r of ratios) console.log(`${r.name}: ${r.median.toFixed(2)}×`);
}
