#!/usr/bin/env node
/**
 * The `etagkit` executable. It checks the Node version before loading anything that needs a newer one
 * (`node:sqlite`): on an older Node it hands over to the Node 24 that a clone of this repository pins in
 * node_modules (npx runs bins on the machine's own Node), or says what is needed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 13)) {
  await import('./main.ts');
} else {
  const pinned = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(`etagkit needs Node.js 22.13 or newer; this is ${process.version}`);
    process.exit(1);
  }
  const child = spawn(
    pinned,
    [fileURLToPath(new URL('main.js', import.meta.url)), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
