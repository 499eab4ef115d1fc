/** The dashboard's HTTP plumbing: responses, RFC 9457 problems, errors a user can act on, query parameters. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WatchDefinitionError } from '../definition.ts';
import { HistoryError } from '../history/store.ts';

export const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** A user's mistake in a request: 400 with what was wrong. */
export class BadRequest extends Error {}

/** Errors as problems; `historyStatus` is what a HistoryError means here (a missing version, or a store down). */
export function fail(res: ServerResponse, error: unknown, historyStatus = 503): void {
  if (res.headersSent) res.destroy();
  else if (error instanceof BadRequest || error instanceof WatchDefinitionError)
    sendProblem(res, 400, 'Bad request', error.message);
  else if (error instanceof HistoryError)
    sendProblem(
      res,
      historyStatus,
      historyStatus === 404 ? 'Not in the history' : 'History unavailable',
      error.message,
    );
  else sendProblem(res, 500, 'Internal error', (error as Error).message ?? String(error));
}

export function queryOf(req: IncomingMessage): URLSearchParams {
  const q = (req.url ?? '').indexOf('?');
  return new URLSearchParams(q < 0 ? '' : req.url!.slice(q + 1));
}

export function required(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (!value) throw new BadRequest(`the ${name} query parameter is required`);
  return value;
}

export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': type,
    'content-length': String(bytes.byteLength),
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

/** An RFC 9457 problem; the page shows `detail`. */
export function sendProblem(
  res: ServerResponse,
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  send(res, status, 'application/problem+json', body, { 'cache-control': 'no-store', ...headers });
}
