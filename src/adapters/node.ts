/**
 * `etagkit/node`: conditional requests for a plain node:http handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { validateFailed } from '../server/early-response.ts';
import { createNodeConditional } from '../server/node-conditional.ts';
import { writeEarly } from '../server/node-response.ts';
import type { ConditionalOptions } from '../server/options.ts';

export type { Validators } from '../server/decide.ts';
export type { ConditionalOptions } from '../server/options.ts';
export type { DecisionTrace } from '../server/trace.ts';

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Wraps a node:http request handler: 304/412/428 before it runs when `validate` knows the validators, its
 * small 200 bodies hashed into a strong ETag otherwise. A `validate` that throws gives a 500 problem+json.
 *
 * @example
 * import http from 'node:http';
 * import { etagFromVersion } from 'etagkit';
 * import { conditional } from 'etagkit/node';
 *
 * http.createServer(conditional(
 *   (req, res) => res.end(JSON.stringify(profile)),
 *   { validate: () => ({ etag: etagFromVersion(profile.updatedAt) }), headers: { 'cache-control': 'no-cache' } },
 * )).listen(8080);
 */
export function conditional(
  handler: NodeHandler,
  options: ConditionalOptions<IncomingMessage> = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const run = createNodeConditional(options);
  const next = (_hashing: boolean, req: IncomingMessage, res: ServerResponse) => handler(req, res);
  return (req, res) => run(req, res, next, failed);
}

function failed(_error: unknown, _req: IncomingMessage, res: ServerResponse): void {
  writeEarly(res, validateFailed());
}
