/**
 * The contract between `bench/run.ts` and each benchmark file `bench/<name>.ts` (documented at the top of run.ts):
 *
 *   export async function run(options: BenchOptions): Promise<Ratio[]>
 *
 * `run` prints its Markdown tables with console.log and returns the ratios it wants guarded, each with the
 * bound that `npm run bench -- --check` holds it to. Run lengths come from `settings(options)`, so that every
 * benchmark is quick under `--quick`/`--check` and the same length as its neighbours otherwise.
 */

export interface BenchOptions {
  /** `--quick` or `--check`: fewer and shorter rounds, to catch a regression — not numbers for RESULTS.md. */
  quick: boolean;
}

/** A ratio a benchmark measured, and the bound `--check` holds its median to. */
export interface Ratio {
  /** What is compared, readable alone: `serve 304 1 KB: server CPU/request ÷ bare node:http 304`. */
  name: string;
  /** The median over the rounds (of per-round ratios when both sides ran in the same round). */
  median: number;
  low: number;
  high: number;
  /** `--check` fails when the median is below this (for speed-ups, where higher is better)… */
  atLeast?: number;
  /** …or above this (for costs, where lower is better). */
  atMost?: number;
}

export interface Settings {
  /** Interleaved rounds: every contender runs once per round, the order rotated from round to round. */
  rounds: number;
  /** Length of one measured run. */
  seconds: number;
  /** Load before the first round, so that the JIT has compiled the hot paths before anything is measured. */
  warmupSeconds: number;
  /** autocannon connections. */
  connections: number;
}

/**
 * Run lengths shared by all HTTP benchmarks. Full runs: 5 rounds × 1.5 s after 1 s of warm-up; quick runs: 3 × 1 s
 * after 0.5 s. `BENCH_ROUNDS` and `BENCH_SECONDS` override rounds and seconds (for exploring, not for RESULTS.md).
 */
export function settings({ quick }: BenchOptions): Settings {
  const fromEnv = (name: string) => {
    const value = Number(process.env[name]);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  };
  return {
    rounds: fromEnv('BENCH_ROUNDS') ?? (quick ? 3 : 5),
    seconds: fromEnv('BENCH_SECONDS') ?? (quick ? 1 : 1.5),
    warmupSeconds: quick ? 0.5 : 1,
    connections: 16,
  };
}

/** Returns `ratio` when it is out of its bound, with a sentence saying how. */
export function violation(ratio: Ratio): string | undefined {
  if (ratio.atLeast !== undefined && ratio.median < ratio.atLeast)
    return `${ratio.median.toFixed(2)}× is below its floor ${ratio.atLeast}×`;
  if (ratio.atMost !== undefined && ratio.median > ratio.atMost)
    return `${ratio.median.toFixed(2)}× is above its limit ${ratio.atMost}×`;
  return undefined;
}
