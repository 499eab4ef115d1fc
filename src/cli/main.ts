#!/usr/bin/env node
/** The `etagkit` command: a thin shell over the library. */
import { serveCommand } from './serve.ts';

const USAGE = `usage: etagkit <command> [options]

commands:
  serve <dir>   serve static files with strong ETags, 304/412, Range and guarded writes

Run "etagkit <command> --help" for a command's options.`;

const commands: Record<string, (args: string[]) => Promise<number>> = {
  serve: serveCommand,
};

const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h') {
  console.log(USAGE);
  process.exitCode = name === undefined ? 2 : 0;
} else if (!commands[name]) {
  console.error(`etagkit: unknown command "${name}"\n\n${USAGE}`);
  process.exitCode = 2;
} else {
  process.exitCode = await commands[name](args);
}
