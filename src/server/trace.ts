/**
 * The decision trace: every answer `conditional()` gives goes to `options.onDecision` and to the
 * `etagkit:server:decision` diagnostics channel, with the header that caused it. Built lazily: nothing is
 * allocated when nobody listens.
 */
import { getHeader, type HeaderSource } from '../core/index.ts';

/** Name of the `node:diagnostics_channel` channel that receives every `DecisionTrace`. */
export const DECISION_CHANNEL = 'etagkit:server:decision';

export type TraceAction =
  | 'proceed'
  | 'not-modified'
  | 'precondition-failed'
  | 'precondition-required'
  | 'validate-error';

export interface DecisionTrace {
  method: string;
  url: string;
  /** `before-handler`: decided from `validate`; `after-handler`: from the handler's response (hashed body). */
  phase: 'before-handler' | 'after-handler';
  action: TraceAction;
  /** The header that decided (`if-none-match`, `if-match`, …), or `require-preconditions`. */
  by?: string;
  /** That header's value as received. */
  value?: string;
  /** The current entity-tag the request was compared with. */
  etag?: string;
  /** What `validate` threw, for `validate-error`. */
  error?: unknown;
}

interface Channel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

// Optional: diagnostics_channel exists in Node, Deno and Bun; elsewhere only onDecision reports. Loaded without
// a top-level await, so that the package can be require()d.
const diagnostics = (
  globalThis as { process?: { getBuiltinModule?(id: string): unknown } }
).process?.getBuiltinModule?.('node:diagnostics_channel') as { channel(name: string): Channel } | undefined;
const channel: Channel | undefined = diagnostics?.channel(DECISION_CHANNEL);

/** Whether anyone listens; call before building a trace. */
export function tracing(onDecision: ((trace: DecisionTrace) => void) | undefined): boolean {
  return onDecision !== undefined || channel?.hasSubscribers === true;
}

/** Sends a trace to `onDecision` and the channel. */
export function emitDecision(
  onDecision: ((trace: DecisionTrace) => void) | undefined,
  trace: DecisionTrace,
): void {
  onDecision?.(trace);
  if (channel?.hasSubscribers) channel.publish(trace);
}

/** Builds and emits the trace of one decision when someone listens. */
export function traceDecision(
  onDecision: ((trace: DecisionTrace) => void) | undefined,
  request: { method: string; url: string; headers: HeaderSource },
  phase: DecisionTrace['phase'],
  decision: { action: TraceAction; by?: string | undefined },
  etag: string | undefined,
  error?: unknown,
): void {
  if (!tracing(onDecision)) return;
  const by = decision.by;
  const value = by?.startsWith('if-') ? getHeader(request.headers, by) : undefined;
  emitDecision(onDecision, {
    method: request.method,
    url: request.url,
    phase,
    action: decision.action,
    ...(by !== undefined ? { by } : {}),
    ...(value !== undefined ? { value } : {}),
    ...(etag !== undefined ? { etag } : {}),
    ...(error !== undefined ? { error } : {}),
  });
}
