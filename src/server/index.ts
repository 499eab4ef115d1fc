/**
 * etagkit/server: conditional requests (RFC 9110 §13) for Fetch-API handlers, and the pieces the framework
 * adapters (etagkit/node, /express, /fastify, /koa, /hono) are built from.
 */

export { type NodeListener, serveFilesNode } from '../files/node.ts';
export { type FileRequest, type ServeFilesOptions, serveFiles } from '../files/server.ts';
export {
  conditional,
  createFetchConditional,
  type FetchConditional,
  type FetchHandler,
} from './conditional.ts';
export { decide, type RequirePreconditions, type ServerDecision, type Validators } from './decide.ts';
export { type EarlyResponse, earlyResponse } from './early-response.ts';
export { normalizeConditionalHeaders, tagForEncoding } from './encoding.ts';
export { type ConditionalOptions, checkedValidators, DEFAULT_HASH_LIMIT } from './options.ts';
export { DECISION_CHANNEL, type DecisionTrace, type TraceAction } from './trace.ts';
