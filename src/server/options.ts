/**
 * Options shared by `conditional()` and every adapter, resolved once per route, and the step every one of them
 * runs first: call `validate`, decide, trace, describe the early answer.
 */
import {
  decide,
  isConditional,
  isSafe,
  type RequirePreconditions,
  requiredMethods,
  type Validators,
} from './decide.ts';
import { type EarlyResponse, earlyResponse } from './early-response.ts';
import { type DecisionTrace, traceDecision } from './trace.ts';

/** `R` is what the framework hands a handler: a Fetch `Request`, node's `IncomingMessage`, a Koa/Hono context. */
export interface ConditionalOptions<R> {
  /**
   * Returns the current validators cheaply (a version column, `updatedAt`, a file stat), sync or async, so
   * that 304 / 412 are answered before the handler runs. Return `undefined` to fall back to hashing the body.
   * When it throws, the answer is 500: no precondition is applied and the handler does not run.
   */
  validate?: (request: R) => Validators | undefined | Promise<Validators | undefined>;
  /** Methods that must be conditional, else 428 (RFC 6585 §3). `true` = PUT, PATCH, DELETE. */
  requirePreconditions?: RequirePreconditions;
  /**
   * Headers of this route's 200 responses that its 304s must repeat (§15.4.5): Cache-Control, Vary, Expires,
   * Content-Location. Set on 200s that do not have them, and on early 304s.
   */
  headers?: Readonly<Record<string, string>>;
  /** Without `validate`, bodies up to this many bytes are hashed into a strong ETag; larger ones pass. 1 MiB. */
  hashLimit?: number;
  /** Make hashed tags weak, for bodies a later step transforms (minified, re-encoded). Default false. */
  weak?: boolean;
  /** Called with every decision and the header that caused it (also sent to `etagkit:server:decision`). */
  onDecision?: (trace: DecisionTrace) => void;
}

export const DEFAULT_HASH_LIMIT = 1024 * 1024;

export interface ResolvedOptions<R> {
  validate: ConditionalOptions<R>['validate'];
  required: ReadonlySet<string>;
  headers: Readonly<Record<string, string>> | undefined;
  hashLimit: number;
  weak: boolean;
  onDecision: ConditionalOptions<R>['onDecision'];
}

export function resolveOptions<R>(options: ConditionalOptions<R> = {}): ResolvedOptions<R> {
  const hashLimit = options.hashLimit ?? DEFAULT_HASH_LIMIT;
  if (!Number.isInteger(hashLimit) || hashLimit < 0) {
    throw new RangeError(
      `conditional: hashLimit must be a whole number of bytes ≥ 0, got ${String(hashLimit)}`,
    );
  }
  return {
    validate: options.validate,
    required: requiredMethods(options.requirePreconditions),
    headers: options.headers,
    hashLimit,
    weak: options.weak ?? false,
    onDecision: options.onDecision,
  };
}

/** The request facts the first step needs, whatever the framework. */
export interface RequestFacts {
  method: string;
  url: string;
  headers: Parameters<typeof decide>[1];
}

/** Outcome of the first step: answer now, run the handler, or fail because `validate` threw. */
export type BeforeHandler =
  | { kind: 'respond'; response: EarlyResponse }
  | { kind: 'run'; validators: Validators | undefined }
  | { kind: 'error'; error: unknown };

/** `run` without validators (no `validate`, or it returned undefined): one shared object. */
const RUN: BeforeHandler = Object.freeze({ kind: 'run', validators: undefined });

/**
 * Runs `validate` and decides. Synchronous when `validate` is (the fast 304 path allocates no promise).
 *
 * @example
 * const step = beforeHandler(resolveOptions({ validate: () => ({ etag: '"v1"' }) }), req, req);
 */
export function beforeHandler<R>(
  options: ResolvedOptions<R>,
  arg: R,
  request: RequestFacts,
): BeforeHandler | Promise<BeforeHandler> {
  let result: Validators | undefined | Promise<Validators | undefined>;
  try {
    result = options.validate?.(arg);
  } catch (error) {
    return failed(options, request, error);
  }
  if (result instanceof Promise) {
    return result.then(
      (validators) => settle(options, arg, request, validators),
      (error: unknown) => failed(options, request, error),
    );
  }
  return settle(options, arg, request, result);
}

/**
 * What `validate` returned for each write or conditional request that went on to its handler (see
 * `checkedValidators`). Plain GETs are not recorded: a WeakMap entry per request is measurable on the 200 path.
 */
const checked = new WeakMap<object, Validators>();

/**
 * The validators `validate` returned for this write (any method but GET and HEAD) or conditional request, once
 * `conditional()` let it through to the handler: the version its preconditions held against. Make the write itself conditional on that version
 * (`UPDATE … WHERE id = $1 AND updated_at = $2`), so that a change landing between the check and the write is
 * refused (0 rows: answer 412) instead of overwritten — without reading the version a second time, which could
 * see a newer one the client never had. `request` is what `validate` received: the Fetch Request, node's
 * IncomingMessage, the Express or Fastify request, the Koa or Hono context. Undefined when `validate` returned
 * nothing, for a GET or HEAD without preconditions, or for a request `conditional()` did not see.
 *
 * @example
 * // validate: async (req) => validatorsOf(await updatedAt(req.params.id)), with requirePreconditions
 * app.patch('/users/:id', users, express.json(), async (req, res) => {
 *   const { lastModified } = checkedValidators(req)!; // the updated_at the client's If-Match held against
 *   const { rows } = await pool.query(
 *     'UPDATE users SET name = $3 WHERE id = $1 AND updated_at = $2 RETURNING *',
 *     [req.params.id, lastModified, req.body.name],
 *   );
 *   // 0 rows: changed since the check. Evaluated again against the row as it is now: 412 with its ETag.
 *   if (rows.length === 0) return void res.conditional(validatorsOf(await updatedAt(req.params.id)));
 *   res.json(rows[0]);
 * });
 */
export function checkedValidators(request: object): Validators | undefined {
  return checked.get(request);
}

function settle<R>(
  options: ResolvedOptions<R>,
  arg: R,
  request: RequestFacts,
  validators: Validators | undefined,
): BeforeHandler {
  let decision: ReturnType<typeof decide>;
  try {
    decision = decide(request.method, request.headers, validators, options.required);
  } catch (error) {
    return failed(options, request, error); // a malformed ETag or an invalid date from validate
  }
  traceDecision(options.onDecision, request, 'before-handler', decision, validators?.etag);
  if (decision.action === 'proceed') {
    if (validators === undefined) return RUN;
    if (
      typeof arg === 'object' &&
      arg !== null &&
      (!isSafe(request.method) || isConditional(request.headers))
    )
      checked.set(arg, validators);
    return { kind: 'run', validators };
  }
  return { kind: 'respond', response: earlyResponse(decision, request.method, validators, options.headers) };
}

function failed<R>(options: ResolvedOptions<R>, request: RequestFacts, error: unknown): BeforeHandler {
  traceDecision(
    options.onDecision,
    request,
    'before-handler',
    { action: 'validate-error' },
    undefined,
    error,
  );
  return { kind: 'error', error };
}
