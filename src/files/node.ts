/**
 * The file server as a node:http request listener: the plan from server.ts written straight to the socket,
 * without building Fetch Request/Response objects (the fastest path on Node). A GET or HEAD of a remembered,
 * unchanged file is answered within the request event itself (`respondNow`); the rest asynchronously.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { problem } from '../server/problem.ts';
import { fileBodyStream } from './body.ts';
import { type FilePlan, type FileRequest, FileServer, type ServeFilesOptions } from './server.ts';

export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A node:http listener serving the files under `root` (same behaviour as `serveFiles`).
 *
 * @example
 * import { createServer } from 'node:http';
 * createServer(await serveFilesNode('./public')).listen(8080);
 */
export async function serveFilesNode(root: string, options: ServeFilesOptions = {}): Promise<NodeListener> {
  const server = await FileServer.open(root, options);
  return (req, res) => {
    const request = fileRequest(req);
    const ready = server.respondNow(request);
    if (ready) {
      writePlan(ready, res);
      return;
    }
    server
      .respond(request)
      .catch((error: unknown) => {
        // A client that leaves mid-body (ECONNRESET) is no server failure: there is nobody left to answer.
        if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET')
          console.error('etagkit serve: request failed:', error);
        return problem(500, 'Internal Server Error', 'the file could not be served');
      })
      .then((plan) => writePlan(plan, res));
  };
}

function fileRequest(req: IncomingMessage): FileRequest {
  const url = originForm(req.url ?? '/');
  const q = url.indexOf('?');
  return {
    method: req.method ?? 'GET',
    pathname: q < 0 ? url : url.slice(0, q),
    search: q < 0 ? '' : url.slice(q),
    headers: req.headers,
    body: req,
  };
}

/** The path and query of a request-target: the absolute form (RFC 9112 §3.2.2) drops scheme and authority. */
function originForm(target: string): string {
  if (target.charCodeAt(0) === 0x2f) return target; // "/…": the origin form, nearly always
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (!authority) return target;
  const rest = target.slice(authority[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
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
  const stream = fileBodyStream(body);
  // The client left while the file was being opened: just close it (pipeline refuses a destroyed target).
  if (res.destroyed) stream.destroy();
  // Otherwise pipeline closes the file and the connection together when either fails; nobody is left to tell.
  else pipeline(stream, res, () => {});
}
