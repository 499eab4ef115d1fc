/**
 * Interleaved rounds and their statistics. Other processes on the machine come and go; measuring A, B, C, then
 * B, C, A, then C, A, B… spreads their load over every contender alike, and comparing A with B round by round
 * (not A's best with B's best) cancels the slow minutes that both went through.
 */
import type { Ratio } from './bench.ts';

export interface Spread {
  median: number;
  low: number;
  high: number;
}

/**
 * Runs `warmup` once for every contender, then `rounds` rounds of `measure` over all of them, the starting
 * contender moving one place each round. Returns each contender's measurements in round order.
 */
export async function interleave<T>(
  contenders: readonly string[],
  options: {
    rounds: number;
    warmup?: (name: string) => Promise<unknown>;
    measure: (name: string, round: number) => Promise<T>;
    /** Called before each round (progress on stderr, say). */
    onRound?: (round: number) => void;
  },
): Promise<Map<string, T[]>> {
  const results = new Map<string, T[]>(contenders.map((name) => [name, []]));
  if (options.warmup) for (const name of contenders) await options.warmup(name);
  for (let round = 0; round < options.rounds; round++) {
    options.onRound?.(round);
    for (let i = 0; i < contenders.length; i++) {
      const name = contenders[(round + i) % contenders.length]!;
      results.get(name)!.push(await options.measure(name, round));
    }
  }
  return results;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread() of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, low: sorted[0]!, high: sorted.at(-1)! };
}

/** The spread of `a[i] / b[i]`: a ratio per round, both sides measured minutes apart at most. */
export function pairedRatio(a: readonly number[], b: readonly number[]): Spread {
  if (a.length !== b.length) throw new Error(`pairedRatio() of ${a.length} and ${b.length} rounds`);
  return spread(a.map((x, i) => x / b[i]!));
}

/** A `Ratio` for `bench/run.ts` from a spread, with the bound `--check` holds it to. */
export function named(
  name: string,
  { median, low, high }: Spread,
  bound: { atLeast: number } | { atMost: number } | Record<string, never> = {},
): Ratio {
  return { name, median, low, high, ...bound };
}
