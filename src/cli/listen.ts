/** Starting and stopping the CLI's servers: one place for the `listening on` line and readable start-up errors. */
import type { Server } from 'node:http';

/** Listens, prints `<label> on http://HOST:PORT` and resolves with that URL, or with an explanation of why not. */
export async function listen(
  server: Server,
  port: number,
  host: string,
  label = 'listening',
): Promise<{ url: string } | { error: string }> {
  const failed = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen(port, host, () => {
      server.off('error', resolve);
      resolve(undefined);
    });
  });
  if (failed) return { error: explain(failed, port, host) };
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  console.log(`${label} on ${url}`);
  return { url };
}

function explain(error: NodeJS.ErrnoException, port: number, host: string): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is already in use; choose another with --port`;
    case 'EACCES':
      return `no permission to listen on ${host}:${port}; use a port above 1023`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine; use 127.0.0.1, ::1 or 0.0.0.0`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host name ${JSON.stringify(host)}; use an IP address such as 127.0.0.1`;
    default:
      return `cannot listen on ${host}:${port}: ${error.message}`;
  }
}

/** Resolves once SIGINT or SIGTERM has closed the servers (open connections are cut). */
export function closeOnSignal(...servers: Server[]): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      let open = servers.length;
      for (const server of servers) {
        server.close(() => {
          if (--open === 0) resolve();
        });
        server.closeAllConnections();
      }
      if (open === 0) resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
