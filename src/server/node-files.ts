/**
 * The file server as a node:http request listener: the plan from files.ts written straight to the socket,
 * without building Fetch Request/Response objects (the fastest path on Node).
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { FileRoot } from './file-paths.ts';
import { type FilePlan, FileServer, fileBodyChunks, type ServeFilesOptions } from './files.ts';
import { problem } from './problem.ts';

export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A node:http listener serving the files under `root` (same behaviour as `serveFiles`).
 *
 * @example
 * import { createServer } from 'node:http';
 * createServer(await serveFilesNode('./public')).listen(8080);
 */
export async function serveFilesNode(root: string, options: ServeFilesOptions = {}): Promise<NodeListener> {
  const server = new FileServer(await FileRoot.open(root), options);
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    server
      .respond({
        method: req.method ?? 'GET',
        pathname: q < 0 ? url : url.slice(0, q),
        search: q < 0 ? '' : url.slice(q),
        headers: req.headers,
        body: req,
      })
      .catch((error: unknown) => {
        console.error('etagkit serve: request failed:', error);
        return problem(500, 'Internal Server Error', 'the file could not be served');
      })
      .then((plan) => writePlan(plan, res));
  };
}

function writePlan(plan: FilePlan, res: ServerResponse): void {
  res.writeHead(plan.status, plan.headers);
  const body = plan.body;
  if (!body) {
    res.end();
    return;
  }
  if (body.kind === 'bytes') {
    res.end(body.data);
    return;
  }
  const stream =
    body.kind === 'file'
      ? createReadStream('', { fd: body.handle, start: body.start, end: body.end, highWaterMark: 64 * 1024 })
      : Readable.from(fileBodyChunks(body));
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}
