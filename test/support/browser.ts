/**
 * Headless Chromium for the dashboard's end-to-end tests, driven by playwright-core: the Debian `chromium`
 * package at /usr/bin/chromium (`.ci/run` installs it when missing), the flags this machine needs, and a fresh
 * profile per launch. Screenshots go to test-results/ (git-ignored), kept as the run's artefacts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const ARTEFACTS = new URL('../../test-results/', import.meta.url).pathname;

export interface Browser {
  context: BrowserContext;
  /** Where screenshots of this run go. */
  artefacts: string;
  close(): Promise<void>;
}

export async function launchBrowser(name: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'etagkit-chromium-'));
  let context: BrowserContext;
  try {
    // A persistent context on a new directory: the fresh --user-data-dir, passed the way Playwright wants it.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 860 },
      timeout: 30_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(
      `cannot start Chromium at ${CHROMIUM} (${(error as Error).message.split('\n')[0]}); install it: apt-get install chromium`,
    );
  }
  const artefacts = join(ARTEFACTS, name);
  mkdirSync(artefacts, { recursive: true });
  return {
    context,
    artefacts,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
