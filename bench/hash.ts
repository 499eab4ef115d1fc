/**
 * `npm run bench -- hash`: etagFromContent (xxHash64 in WebAssembly) against the `etag` package (jshttp, what
 * Express uses: SHA-1 over the whole body) at 1 KB, 100 KB, 1 MB and 16 MB, plus createContentTagger fed 64 KB
 * chunks of the 16 MB body. Same buffers for both; each cell runs ~1 s after a warm-up, as two alternating
 * rounds of 0.5 s (the better round is kept, to lower the noise of other processes sharing the CPU).
 */
import { randomFillSync } from 'node:crypto';
import { cpus } from 'node:os';
import etag from 'etag';
import { createContentTagger, etagFromContent } from '../src/core/validators.ts';

const SIZES: [label: string, bytes: number][] = [
  ['1 KB', 1024],
  ['100 KB', 100 * 1024],
  ['1 MB', 1024 * 1024],
  ['16 MB', 16 * 1024 * 1024],
];
const CHUNK = 64 * 1024;
const ROUND_MS = 500;
const ROUNDS = 2;
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

/** Best throughput of each contender over alternating rounds, after a warm-up. */
function compare(contenders: Record<string, () => string>, bytes: number): Record<string, number> {
  const best: Record<string, number> = {};
  for (const [name, fn] of Object.entries(contenders)) {
    throughput(fn, bytes, WARMUP_MS);
    best[name] = 0;
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(contenders)) {
      best[name] = Math.max(best[name]!, throughput(fn, bytes, ROUND_MS));
    }
  }
  return best;
}

const mbps = (bytesPerSecond: number) => (bytesPerSecond / 1e6).toFixed(0);

function streamed(buffer: Buffer): string {
  const tagger = createContentTagger();
  for (let offset = 0; offset < buffer.byteLength; offset += CHUNK)
    tagger.update(buffer.subarray(offset, offset + CHUNK));
  return tagger.digest();
}

export async function run(): Promise<void> {
  console.log(
    `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}; MB = 10^6 bytes; ` +
      `best of ${ROUNDS} × ${ROUND_MS} ms per cell after ${WARMUP_MS} ms warm-up.\n`,
  );
  console.log('| body | `etag` (SHA-1) MB/s | `etagFromContent` MB/s | ratio |');
  console.log('| ---: | ---: | ---: | ---: |');
  let etag16 = 0;
  let buffer16: Buffer | undefined;
  for (const [label, bytes] of SIZES) {
    const buffer = randomFillSync(Buffer.allocUnsafe(bytes));
    const result = compare({ etag: () => etag(buffer), ours: () => etagFromContent(buffer) }, bytes);
    const ratio = result['ours']! / result['etag']!;
    console.log(`| ${label} | ${mbps(result['etag']!)} | ${mbps(result['ours']!)} | ${ratio.toFixed(1)}× |`);
    if (bytes === 16 * 1024 * 1024) {
      etag16 = result['etag']!;
      buffer16 = buffer;
    }
  }

  const body = buffer16!;
  if (streamed(body) !== etagFromContent(body))
    throw new Error('createContentTagger disagrees with etagFromContent');
  const stream = compare({ stream: () => streamed(body) }, body.byteLength)['stream']!;
  console.log('');
  console.log('| streaming | MB/s | ratio vs `etag` on the whole 16 MB |');
  console.log('| --- | ---: | ---: |');
  console.log(
    `| \`createContentTagger\`, 16 MB in 64 KB chunks | ${mbps(stream)} | ${(stream / etag16).toFixed(1)}× |`,
  );
  if (sink === 0) console.log(''); // never true; reading sink keeps the work observable
}
