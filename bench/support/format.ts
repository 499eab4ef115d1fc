/** Markdown output shared by the benchmarks: one way to print a number, a median with its range, a table. */
import type { Spread } from './rounds.ts';

/** 25846.3 → "25,846"; values under 100 keep `digits` decimals (CPU µs, MB/s of slow paths). */
export function num(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.abs(value) >= 100
    ? Math.round(value).toLocaleString('en-US')
    : value.toFixed(digits).replace(/^-0(\.0+)?$/, '0$1');
}

/** "25,846 (24,100–26,900)": the median, then the lowest and highest round. */
export function median(s: Spread | undefined, digits = 1): string {
  if (!s) return 'n/a';
  return `${num(s.median, digits)} (${num(s.low, digits)}–${num(s.high, digits)})`;
}

/** "1.23× (1.10–1.35)". */
export function times(s: Spread | undefined): string {
  if (!s) return 'n/a';
  const f = (x: number) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));
  return `${f(s.median)}× (${f(s.low)}–${f(s.high)})`;
}

/** Prints a Markdown table; columns after the first are right-aligned (they hold numbers). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(
    `| --- |${header
      .slice(1)
      .map(() => ' ---: |')
      .join('')}`,
  );
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}
