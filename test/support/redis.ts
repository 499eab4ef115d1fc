/**
 * The Redis the tests use: `REDIS_URL`, or redis://127.0.0.1:6379. A test file that needs Redis imports
 * `REDIS_URL` from here; when nothing there answers a PING within a second, the file fails at once with one line
 * saying how to start Redis, instead of hanging on client retries after pages of connection errors.
 */
import { connect } from 'node:net';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const START = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no';

/** Resolves when something at `url` answers a PING (any reply, even an authentication error); else rejects. */
function ping(url: string, timeoutMs: number): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const fail = (reason: string) => {
      socket.destroy();
      reject(new Error(reason));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.once('error', (error) => fail((error as NodeJS.ErrnoException).code ?? error.message));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', () => {
      socket.destroy();
      resolve();
    });
  });
}

try {
  await ping(REDIS_URL, 1000);
} catch (error) {
  process.stderr.write(
    `Redis is not reachable at ${REDIS_URL} (${(error as Error).message}): start it with \`${START}\`, ` +
      'or point REDIS_URL at one.\n',
  );
  process.exit(1);
}
