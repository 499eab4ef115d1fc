/**
 * `npm run bench -- hash`: etagFromContent (xxHash64 in WebAssembly) against the `etag` package (jshttp, what
 * Express uses: SHA-1 over the whole body) at 1 KB, 100 KB, 1 MB and 16 MB, plus createContentTagger fed 64 KB
 * chunks of the 16 MB body. Same buffers for every contender; per body size, the contenders alternate in
 * interleaved rounds (order rotated) after a warm-up, and the ratio is taken round by round. Single-threaded and
 * in-process: throughput here is CPU time.
 */
import { randomFillSync } from 'node:crypto';
import etag from 'etag';
import { createContentTagger, etagFromContent } from '../src/core/validators.ts';
import { internals } from '../src/core/xxh64.ts';
import { type BenchOptions, type Ratio, settings } from './support/bench.ts';
import { median, table, times } from './support/format.ts';
import { interleave, named, pairedRatio, spread } from './support/rounds.ts';

const SIZES: [label: string, bytes: number, floor: number][] = [
  ['1 KB', 1024, 3],
  ['100 KB', 100 * 1024, 3.5],
  ['1 MB', 1024 * 1024, 3.5],
  ['16 MB', 16 * 1024 * 1024, 3],
];
const CHUNK = 64 * 1024;
const WARMUP_MS = 200;

/** Keeps results alive so the engine cannot skip the work. */
let sink = 0;

/** Runs `fn` repeatedly for about `ms` milliseconds; returns bytes per second. */
function throughput(fn: () => string, bytes: number, ms: number): number {
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    sink += fn().length;
    iterations++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (iterations * bytes) / (elapsed / 1000);
}

function streamed(buffer: Buffer): string {
  const tagger = createContentTagger();
  for (let offset = 0; offset < buffer.byteLength; offset += CHUNK)
    tagger.update(buffer.subarray(offset, offset + CHUNK));
  return tagger.digest();
}

const mbps = (bytesPerSecond: number) => bytesPerSecond / 1e6;

export async function run(options: BenchOptions): Promise<Ratio[]> {
  await internals.instantiated;
  if (!internals.wasmReady())
    throw new Error('xxhash-wasm did not instantiate: this would measure the fallback');
  const { rounds } = settings(options);
  const roundMs = options.quick ? 200 : 500;
  console.log(
    `MB = 10^6 bytes; per body size, ${rounds} interleaved rounds of ${roundMs} ms per contender (order rotated) ` +
      `after ${WARMUP_MS} ms of warm-up each; median (lowest–highest round); ratios taken round by round. ` +
      `In-process, one thread: throughput is CPU time.\n`,
  );
  const ratios: Ratio[] = [];
  const rows: string[][] = [];
  let streamRow: string[] = [];
  for (const [label, bytes, floor] of SIZES) {
    const buffer = randomFillSync(Buffer.allocUnsafe(bytes));
    const contenders: Record<string, () => string> = {
      etag: () => etag(buffer),
      ours: () => etagFromContent(buffer),
    };
    if (bytes === 16 * 1024 * 1024) {
      if (streamed(buffer) !== etagFromContent(buffer))
        throw new Error('createContentTagger disagrees with etagFromContent');
      contenders['stream'] = () => streamed(buffer);
    }
    const result = await interleave(Object.keys(contenders), {
      rounds,
      warmup: async (name) => throughput(contenders[name]!, bytes, WARMUP_MS),
      measure: async (name) => mbps(throughput(contenders[name]!, bytes, roundMs)),
    });
    const ratio = pairedRatio(result.get('ours')!, result.get('etag')!);
    rows.push([
      label,
      median(spread(result.get('etag')!)),
      median(spread(result.get('ours')!)),
      times(ratio),
    ]);
    ratios.push(named(`hash ${label}: etagFromContent ÷ etag (SHA-1), MB/s`, ratio, { atLeast: floor }));
    const stream = result.get('stream');
    if (stream) {
      const streamRatio = pairedRatio(stream, result.get('etag')!);
      streamRow = [
        '`createContentTagger`, 16 MB in 64 KB chunks',
        median(spread(stream)),
        times(streamRatio),
      ];
      ratios.push(
        named('hash 16 MB streamed: createContentTagger ÷ etag, MB/s', streamRatio, { atLeast: 3 }),
      );
    }
  }
  table(['body', '`etag` (SHA-1) MB/s', '`etagFromContent` MB/s', 'ratio'], rows);
  console.log('');
  table(['streaming', 'MB/s', 'ratio vs `etag` on the whole 16 MB'], [streamRow]);
  if (sink === 0) console.log(''); // never true; reading sink keeps the work observable
  return ratios;
}
