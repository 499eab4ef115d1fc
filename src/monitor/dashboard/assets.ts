/**
 * The page's files: built by `npm run build` (esbuild, see build.ts) into dist/monitor/dashboard/assets/ and read
 * from there; when etagkit runs from its TypeScript sources (development, tests), bundled in memory on first use
 * instead, so the page always matches the sources. Nothing is fetched from the network, ever.
 */
import { readFile } from 'node:fs/promises';
import { etagFromContent } from '../../core/validators.ts';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const FILES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

let loading: Promise<Map<string, Asset>> | undefined;

/** The assets by file name (`app.js`, `app.css`), loaded once. */
export function loadAssets(): Promise<Map<string, Asset>> {
  loading ??= (import.meta.url.endsWith('.ts') ? bundleFromSources() : readBuilt()).catch((error) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function readBuilt(): Promise<Map<string, Asset>> {
  const entries = await Promise.all(
    Object.keys(FILES).map(async (name) => {
      const url = new URL(`./assets/${name}`, import.meta.url);
      try {
        return [name, await readFile(url)] as const;
      } catch (error) {
        throw new Error(
          `the dashboard's ${name} is missing at ${url.pathname} (${(error as NodeJS.ErrnoException).code}); run npm run build`,
        );
      }
    }),
  );
  return toAssets(entries);
}

async function bundleFromSources(): Promise<Map<string, Asset>> {
  // Not a literal import: the TypeScript build must not pull the bundler (a devDependency) into dist/.
  const builder = new URL('./build.ts', import.meta.url).href;
  const { bundleDashboard } = (await import(builder)) as {
    bundleDashboard(): Promise<Record<string, Buffer>>;
  };
  return toAssets(Object.entries(await bundleDashboard()));
}

function toAssets(entries: Iterable<readonly [string, Buffer]>): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, body] of entries)
    assets.set(name, { body, type: FILES[name] ?? 'application/octet-stream', etag: etagFromContent(body) });
  return assets;
}
