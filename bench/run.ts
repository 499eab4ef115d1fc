/**
 * `npm run bench -- <name>…` runs bench/<name>.ts side by side with its peers; with no name, runs them all.
 * Benchmarks print Markdown tables meant for bench/RESULTS.md.
 */
import { readdirSync } from 'node:fs';

const dir = new URL('.', import.meta.url);
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
}
for (const name of wanted.length ? wanted : available) {
  console.log(`\n## ${name}\n`);
  const { run } = (await import(new URL(`${name}.ts`, dir).href)) as { run(): Promise<void> };
  await run();
}
