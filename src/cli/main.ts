/** The `etagkit` command: a thin shell over the library. */
import { readFileSync } from 'node:fs';
import { checkCommand } from './check.ts';
import { proxyCommand } from './proxy.ts';
import { serveCommand } from './serve.ts';
import { watchCommand } from './watch.ts';

const USAGE = `usage: etagkit <command> [options]

commands:
  serve <dir>   serve static files with strong ETags, 304/412, Range and guarded writes
  check <url>…  audit a server's validators and conditional requests (for people and CI)
  watch <file>  poll URLs conditionally, record every check, report changes (history, diff, stats)
  proxy         a shared caching gateway that gives any origin ETags, 304s and 412s
  help [cmd]    this text, or a command's options
  version       the installed version (also --version)

Run "etagkit <command> --help" for a command's options.`;

const commands: Record<string, (args: string[]) => Promise<number>> = {
  serve: serveCommand,
  check: checkCommand,
  watch: watchCommand,
  proxy: proxyCommand,
};

function version(): string {
  // The same relative path from src/cli/ and dist/cli/.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return pkg.version;
}

async function main([name, ...args]: string[]): Promise<number> {
  if (name === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(version());
    return 0;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = args[0];
    if (topic === undefined) {
      console.log(USAGE);
      return 0;
    }
    if (commands[topic]) return commands[topic](['--help']);
    console.error(`etagkit: no command named ${JSON.stringify(topic)}\n\n${USAGE}`);
    return 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`etagkit: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  return command(args);
}

process.exitCode = await main(process.argv.slice(2));
