/** `etagkit serve <dir>`: static files over node:http with the etagkit file server. */
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { serveFilesNode } from '../server/node-files.ts';

const USAGE = `usage: etagkit serve <dir> [--port 8080] [--host 127.0.0.1] [--writable] [--require-preconditions]

  --port N                  port to listen on (default 8080; 0 picks a free one)
  --host H                  address to bind (default 127.0.0.1)
  --writable                accept PUT and DELETE, guarded by If-Match / If-None-Match / If-Unmodified-Since
  --require-preconditions   with --writable: answer 428 to a PUT or DELETE of an existing file without a precondition`;

/** Runs the command; resolves with the exit code once the server has closed (or failed to start). */
export async function serveCommand(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    console.error(`etagkit serve: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port);
  const problems = [
    positionals.length !== 1 && 'expected exactly one directory',
    (!/^\d+$/.test(values.port) || port > 65535) &&
      `--port must be an integer from 0 to 65535, not "${values.port}"`,
    values['require-preconditions'] && !values.writable && '--require-preconditions needs --writable',
  ].filter(Boolean);
  if (problems.length > 0) {
    console.error(`etagkit serve: ${problems.join('; ')}\n\n${USAGE}`);
    return 2;
  }
  const dir = positionals[0]!;
  const dirStats = await stat(dir).catch(() => undefined);
  if (!dirStats?.isDirectory()) {
    console.error(
      `etagkit serve: ${JSON.stringify(dir)} is not a directory${dirStats ? '' : ' (it does not exist)'}`,
    );
    return 1;
  }

  const listener = await serveFilesNode(dir, {
    writable: values.writable,
    requirePreconditions: values['require-preconditions'],
  });
  const server = createServer(listener);
  const host = values.host;
  const started = await new Promise<Error | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen(port, host, () => resolve(undefined));
  });
  if (started) {
    const code = (started as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use; choose another with --port`
        : code === 'EACCES'
          ? `no permission to listen on ${host}:${port}; use a port above 1023`
          : started.message;
    console.error(`etagkit serve: ${why}`);
    return 1;
  }
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  console.log(`listening on http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      writable: { type: 'boolean', default: false },
      'require-preconditions': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}
