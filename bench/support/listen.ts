/** The child side of `startListening` (load.ts): listen on a free port, then say where. */
import type { Server } from 'node:http';

export function listenOnFreePort(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`);
      resolve();
    });
  });
}
