/**
 * The dashboard's front-end build: esbuild bundles ui/main.tsx (Preact, uPlot, jsdiff's patch parser) and its
 * CSS into two files. `npm run build` writes them to dist/monitor/dashboard/assets/ (`node
 * src/monitor/dashboard/build.ts`); assets.ts calls `bundleDashboard()` in memory when running from sources.
 * Not part of the published package: esbuild is a devDependency.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

const ENTRY = new URL('./ui/main.tsx', import.meta.url).pathname;

/** Bundles the page: `{ 'app.js': …, 'app.css': … }`, minified, for browsers of the last few years. */
export async function bundleDashboard(): Promise<Record<string, Buffer>> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: 'out',
    entryNames: 'app',
    legalComments: 'eof',
    logLevel: 'silent',
  });
  const files: Record<string, Buffer> = {};
  for (const file of result.outputFiles)
    files[file.path.slice(file.path.lastIndexOf('/') + 1)] = Buffer.from(file.contents);
  return files;
}

if (import.meta.main) {
  const out = new URL('../../../dist/monitor/dashboard/assets/', import.meta.url);
  await mkdir(out, { recursive: true });
  const files = await bundleDashboard();
  for (const [name, body] of Object.entries(files)) await writeFile(new URL(name, out), body);
  const sizes = Object.entries(files).map(
    ([name, body]) => `${name} ${(body.byteLength / 1024).toFixed(1)} KiB`,
  );
  console.log(`dashboard: ${sizes.join(', ')}`);
}
