/**
 * Runs the benchmarks in bench/: each one side by side with its peers, printing Markdown tables.
 *
 *   npm run bench                          every benchmark, full length (the tables of bench/RESULTS.md)
 *   npm run bench -- serve middleware      only these
 *   npm run bench -- --write [names…]      …and replace their generated blocks in bench/RESULTS.md
 *   npm run bench -- --quick [names…]      short runs, for trying things out
 *   npm run bench:check [-- names…]        short runs, and exit 1 when a ratio is out of its bound
 *                                          (= npm run bench -- --check; not part of npm test)
 *
 * Tables go to stdout, progress to stderr. Time budget: a full run of every benchmark takes at most 30 minutes
 * on a quiet 2-core machine (25 measured on 2026-12-01: middleware ~7, scale ~3.5, serve ~3; a new benchmark
 * should stay under 2 minutes full and 30 s quick); the time each took is printed after its tables, and a run over budget says so.
 *
 * Writing a benchmark: `bench/<name>.ts` (names starting with `_` are skipped) exports
 *
 *   import type { BenchOptions, Ratio } from './support/bench.ts';
 *   export async function run(options: BenchOptions): Promise<Ratio[]> {
 *     const s = settings(options);                        // rounds, seconds, warm-up, connections
 *     …console.log() its tables…
 *     return [named('proxy hit ÷ origin, req/s', spread, { atLeast: 1.5 })];
 *   }
 *
 * - Run lengths come from `settings(options)` (support/bench.ts), so `--quick` shortens every benchmark alike.
 * - Compare contenders in interleaved rounds: `interleave()` and `pairedRatio()` (support/rounds.ts); for HTTP
 *   servers, `measureCells()` (support/cells.ts) gives req/s and server CPU per request from one call, with every
 *   response's status checked (support/load.ts). Print with support/format.ts, and say how the table was measured.
 * - Each returned `Ratio` is a median with its range, and at most one bound: `atLeast` (a speed-up must stay
 *   above it) or `atMost` (a cost must stay below it). Bounds are regression floors, set with room for a noisy
 *   machine under `--quick` — not the targets, which RESULTS.md states. A ratio with no bound is only printed.
 * - Under `--check`, a benchmark with a ratio out of bounds is run once more; the check fails only on a ratio out
 *   of bounds in both runs, so a neighbour's burst of CPU does not fail it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type BenchOptions, type Ratio, violation } from './support/bench.ts';

const BUDGET_MINUTES = 30;
const dir = new URL('.', import.meta.url);
const resultsFile = new URL('RESULTS.md', dir);
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}
try {
  args = parse();
} catch {
  usage(
    `unknown option in "${process.argv.slice(2).join(' ')}"; options are --quick, --check, --write, --help`,
  );
}
if (args.values.help) {
  console.log(
    `usage: npm run bench -- [--quick | --check | --write] [name…]\nbenchmarks: ${available.join(', ')}`,
  );
  process.exit(0);
}
const unknown = args.positionals.filter((name) => !available.includes(name));
if (unknown.length) usage(`unknown benchmark "${unknown[0]}"; available: ${available.join(', ')}`);
if (args.values.write && (args.values.quick || args.values.check))
  usage('--write records full runs only: drop --quick/--check');

const options: BenchOptions = { quick: args.values.quick || args.values.check };
const names = args.positionals.length ? args.positionals : available;
const started = performance.now();
const outcomes: Outcome[] = [];

console.error(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}`);
for (const name of names) {
  const first = await runOne(name);
  const suspects = new Set(first.ratios.filter((r) => violation(r)).map((r) => r.name));
  if (!args.values.check || first.failed || suspects.size === 0) {
    outcomes.push({ ...first, confirmed: suspects });
    continue;
  }
  // A ratio fails the check only when it is out of bounds in both runs: one noisy run is not a regression.
  console.error(`${name}: ${suspects.size} ratio(s) out of bounds; running it once more to confirm`);
  const second = await runOne(name);
  const confirmed = new Set(
    second.ratios.filter((r) => violation(r) && suspects.has(r.name)).map((r) => r.name),
  );
  outcomes.push({ ...second, confirmed });
}

const crashed = outcomes.filter((o) => o.failed);
const out = outcomes.flatMap((o) =>
  o.ratios.filter((r) => o.confirmed.has(r.name)).map((r) => ({ bench: o.name, r })),
);
if (args.values.check) {
  console.log('\n## check\n');
  console.log('| benchmark | ratio | median (range) | bound | |');
  console.log('| --- | --- | ---: | ---: | --- |');
  for (const { name, ratios, confirmed } of outcomes) {
    if (ratios.length === 0) console.log(`| ${name} | (no bounds declared) | | | |`);
    for (const r of ratios) {
      const bound =
        r.atLeast !== undefined ? `≥ ${r.atLeast}×` : r.atMost !== undefined ? `≤ ${r.atMost}×` : '—';
      const range = `${r.median.toFixed(2)}× (${r.low.toFixed(2)}–${r.high.toFixed(2)})`;
      const verdict = confirmed.has(r.name)
        ? '**FAIL**'
        : violation(r)
          ? 'ok (in bounds in the other run)'
          : 'ok';
      console.log(`| ${name} | ${r.name} | ${range} | ${bound} | ${verdict} |`);
    }
  }
}
const minutes = (performance.now() - started) / 60_000;
console.error(`\n${names.length} benchmark(s) in ${minutes.toFixed(1)} min`);
if (!options.quick && minutes > BUDGET_MINUTES)
  console.error(
    `over the ${BUDGET_MINUTES}-minute budget: see the time each benchmark took, above its tables`,
  );
for (const { name, failed } of crashed) console.error(`FAILED ${name}: ${failed}`);
for (const { bench, r } of out) console.error(`OUT OF BOUNDS ${bench}: ${r.name}: ${violation(r)}`);
if (crashed.length || (args.values.check && out.length)) process.exit(1);

interface Run {
  name: string;
  ratios: Ratio[];
  /** Why the benchmark threw. */
  failed?: string;
}

/** A benchmark's last run, and the names of its ratios out of bounds in every run made (the check's failures). */
interface Outcome extends Run {
  confirmed: Set<string>;
}

/** Runs one benchmark, capturing what it prints (for --write); a throw is recorded, not fatal to the others. */
async function runOne(name: string): Promise<Run> {
  console.log(`\n## ${name}\n`);
  const load = loadavg()[0]!.toFixed(1);
  const t0 = performance.now();
  const printed: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = function (this: typeof process.stdout, chunk: unknown, ...rest: never[]) {
    printed.push(String(chunk));
    return write.call(this, chunk as string, ...rest);
  } as typeof process.stdout.write;
  try {
    const module = (await import(new URL(`${name}.ts`, dir).href)) as {
      run(options: BenchOptions): Promise<Ratio[] | undefined>;
    };
    const ratios = (await module.run(options)) ?? [];
    const seconds = Math.round((performance.now() - t0) / 1000);
    console.log(
      `\n_${name}: ${seconds} s on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ` +
        `load average ${load} → ${loadavg()[0]!.toFixed(1)} (${cpus().length} cores)._`,
    );
    process.stdout.write = write;
    if (args.values.write) record(name, printed.join(''));
    return { name, ratios };
  } catch (error) {
    process.stdout.write = write;
    console.error(error);
    return { name, ratios: [], failed: (error as Error).message };
  }
}

/** Replaces the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in RESULTS.md (appends if absent). */
function record(name: string, text: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${begin}\n${text.trim()}\n${end}`;
  const current = readFileSync(resultsFile, 'utf8');
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + block + current.slice(to + end.length)
      : `${current.trimEnd()}\n\n## ${name} — \`npm run bench -- ${name}\`\n\n${block}\n`;
  writeFileSync(resultsFile, next);
  console.error(`${name}: recorded in bench/RESULTS.md`);
}

function usage(message: string): never {
  console.error(`${message}\nusage: npm run bench -- [--quick | --check | --write] [name…]`);
  process.exit(2);
}
