/** `etagkit serve <dir>`: static files over node:http with the etagkit file server. */
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { serveFilesNode } from '../files/node.ts';
import { parseByteSize, parseHost, parseOptions, parsePort, quote, UsageError } from './args.ts';
import { closeOnSignal, listen } from './listen.ts';

const USAGE = `usage: etagkit serve <dir> [--port 8080] [--host 127.0.0.1] [--writable] [--require-preconditions]
                     [--etag stats|content] [--cache-bytes 64M]

  --port N                  port to listen on (default 8080; 0 picks a free one)
  --host H                  address to bind (default 127.0.0.1)
  --writable                accept PUT and DELETE, guarded by If-Match / If-None-Match / If-Unmodified-Since
  --require-preconditions   with --writable: answer 428 to a PUT or DELETE of an existing file without If-Match
                            (or with only an If-Unmodified-Since that cannot rule out a lost update)
  --etag stats|content      how ETags are made: stats = size + modification time (default, free); content = a
                            hash of the bytes, the same on every machine serving the same files (use it when
                            several servers serve separate checkouts or copies: their modification times differ)
  --cache-bytes SIZE        memory for small files, encodings and headers kept between requests (default 64M;
                            K, M, G suffixes; 0 keeps nothing)`;

const OPTIONS = {
  port: { type: 'string', default: '8080' },
  host: { type: 'string', default: '127.0.0.1' },
  writable: { type: 'boolean' },
  'require-preconditions': { type: 'boolean' },
  etag: { type: 'string', default: 'stats' },
  'cache-bytes': { type: 'string', default: '64M' },
} as const;

/** Runs the command; resolves with the exit code once the server has closed (or failed to start). */
export async function serveCommand(argv: string[]): Promise<number> {
  let settings: ReturnType<typeof settle>;
  try {
    settings = settle(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`etagkit serve: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (settings === 'help') {
    console.log(USAGE);
    return 0;
  }
  const { dir, port, host, ...options } = settings;
  const dirStats = await stat(dir).catch(() => undefined);
  if (!dirStats?.isDirectory()) {
    console.error(
      `etagkit serve: ${JSON.stringify(dir)} is not a directory${dirStats ? '' : ' (it does not exist)'}`,
    );
    return 1;
  }

  const server = createServer(await serveFilesNode(dir, options));
  const started = await listen(server, port, host);
  if ('error' in started) {
    console.error(`etagkit serve: ${started.error}`);
    return 1;
  }
  await closeOnSignal(server);
  return 0;
}

function settle(argv: string[]) {
  const { values, positionals } = parseOptions(argv, OPTIONS);
  if (values.help) return 'help' as const;
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0 ? 'which directory? expected one' : 'expected exactly one directory',
    );
  if (values['require-preconditions'] && !values.writable)
    throw new UsageError('--require-preconditions needs --writable');
  if (values.etag !== 'stats' && values.etag !== 'content')
    throw new UsageError(`--etag must be stats or content, not ${quote(values.etag)}`);
  return {
    dir: positionals[0]!,
    port: parsePort(values.port),
    host: parseHost(values.host),
    writable: values.writable,
    requirePreconditions: values['require-preconditions'],
    etag: values.etag,
    cacheBytes: parseByteSize(values['cache-bytes'], '--cache-bytes'),
  } as const;
}
