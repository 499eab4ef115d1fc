/** `etagkit proxy --upstream URL`: the shared caching gateway over node:http. */
import { createServer } from 'node:http';
import type { CacheStore } from '../client/store.ts';
import { memoryStore } from '../client/stores/memory.ts';
import { redisStore } from '../client/stores/redis.ts';
import { sqliteStore } from '../client/stores/sqlite.ts';
import { createProxy } from '../proxy/index.ts';
import { parseHost, parseHttpUrl, parseOptions, parsePort, parseTimeout, quote, UsageError } from './args.ts';
import { closeOnSignal, listen } from './listen.ts';

const USAGE = `usage: etagkit proxy --upstream <url> [--port 8080] [--host 127.0.0.1] [--store memory|sqlite:PATH|redis://…]
                     [--add-etags=on|off] [--guard-writes] [--require-preconditions] [--timeout 30s]

  --upstream URL            the origin to cache (http:// or https://, optionally with a base path)
  --port N                  port to listen on (default 8080; 0 picks a free one)
  --host H                  address to bind (default 127.0.0.1)
  --store S                 memory (default), sqlite:PATH, or redis://host:port (shared by several proxies)
  --add-etags=on|off        give 200s without ETag or Last-Modified a strong ETag from their bytes (default on)
  --guard-writes            check If-Match / If-Unmodified-Since of PUT, PATCH, DELETE here: 412 without
                            reaching the upstream
  --require-preconditions   answer 428 to a PUT, PATCH or DELETE without If-Match or If-None-Match
  --timeout D               longest wait for the upstream (connect, response head, between chunks; default 30s)

Environment: ETAGKIT_PURGE_TOKEN enables POST /_etagkit/purge?url=/path or ?prefix=/path/ with
"Authorization: Bearer <token>". Metrics (Prometheus text) at /_etagkit/metrics.`;

const OPTIONS = {
  upstream: { type: 'string' },
  port: { type: 'string', default: '8080' },
  host: { type: 'string', default: '127.0.0.1' },
  store: { type: 'string', default: 'memory' },
  'add-etags': { type: 'string', default: 'on' },
  'guard-writes': { type: 'boolean' },
  'require-preconditions': { type: 'boolean' },
  timeout: { type: 'string', default: '30s' },
} as const;

/** Runs the command; resolves with the exit code once the proxy has closed (or failed to start). */
export async function proxyCommand(argv: string[]): Promise<number> {
  let settings: ReturnType<typeof settle>;
  try {
    settings = settle(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`etagkit proxy: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (settings === 'help') {
    console.log(USAGE);
    return 0;
  }
  const { port, host, store, ...options } = settings;
  const proxy = createProxy({
    ...options,
    store: openStore(store),
    purgeToken: process.env.ETAGKIT_PURGE_TOKEN,
  });
  const server = createServer({ maxHeaderSize: 16 * 1024 }, proxy);
  server.on('clientError', proxy.clientError);
  const started = await listen(server, port, host);
  if ('error' in started) {
    console.error(`etagkit proxy: ${started.error}`);
    await proxy.close();
    return 1;
  }
  await closeOnSignal(server);
  await proxy.close();
  return 0;
}

function openStore(spec: string): CacheStore {
  if (spec === 'memory') return memoryStore();
  if (spec.startsWith('sqlite:')) return sqliteStore(spec.slice('sqlite:'.length));
  return redisStore(spec);
}

function settle(argv: string[]) {
  const { values, positionals } = parseOptions(argv, OPTIONS);
  if (values.help) return 'help' as const;
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${quote(positionals[0]!)}`);
  if (values.upstream === undefined) throw new UsageError('which upstream? give --upstream http://host:port');
  const store = values.store;
  const validStore =
    store === 'memory' ||
    (store.startsWith('sqlite:') && store.length > 'sqlite:'.length) ||
    store.startsWith('redis://') ||
    store.startsWith('rediss://');
  if (!validStore)
    throw new UsageError(`--store must be memory, sqlite:PATH or redis://host:port, not ${quote(store)}`);
  const addEtags = values['add-etags'];
  if (addEtags !== 'on' && addEtags !== 'off')
    throw new UsageError(`--add-etags must be on or off, not ${quote(addEtags)}`);
  const upstream = parseHttpUrl(values.upstream, '--upstream');
  if (upstream.search || upstream.hash)
    throw new UsageError(`--upstream must not have a query or fragment, not ${quote(values.upstream)}`);
  return {
    upstream,
    port: parsePort(values.port),
    host: parseHost(values.host),
    store,
    addEtags: addEtags === 'on',
    guardWrites: values['guard-writes'],
    requirePreconditions: values['require-preconditions'],
    timeoutMs: parseTimeout(values.timeout),
  };
}
