/**
 * `npm run bench -- scale`: how costs grow with the amount of work. Each section is a module in bench/scale/
 * exporting `title` and `run(options)` like a benchmark; this runner prints them one after the other and returns
 * all their ratios for `--check`.
 *
 *   stores   sqliteStore from 1k to 1M entries: a put below and at maxBytes, a hit, event-loop delay (issue #16)
 *   serve    etagkit serve from 1k to 100k files requested at random: CPU per 200 and 304, memory (issue #16)
 */
import type { BenchOptions, Ratio } from './support/bench.ts';

/** One line per section: bench/scale/<name>.ts. */
const SECTIONS = ['stores', 'serve'];

interface Section {
  title: string;
  run(options: BenchOptions): Promise<Ratio[]>;
}

export async function run(options: BenchOptions): Promise<Ratio[]> {
  const ratios: Ratio[] = [];
  for (const name of SECTIONS) {
    const section = (await import(new URL(`scale/${name}.ts`, import.meta.url).href)) as Section;
    console.log(`### ${section.title}\n`);
    ratios.push(...(await section.run(options)));
    console.log('');
  }
  return ratios;
}
