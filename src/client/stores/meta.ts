/**
 * The metadata of a stored response as the persistent stores write it (JSON beside the body), and the check that
 * what they read back has that shape. A value that does not is a miss for its variant, which the store deletes;
 * whether a well-shaped entry can be served is decided later, for every store alike (entry-check.ts).
 */
import type { StoredResponse } from '../store.ts';

/** Everything of a StoredResponse but key, variant and body. */
export type Meta = Pick<
  StoredResponse,
  'status' | 'headers' | 'varyHeaders' | 'requestTime' | 'responseTime'
>;

/** The metadata of `entry`. A literal, so that every encoded entry has the same fields in the same order. */
export function metaOf(entry: StoredResponse): Meta {
  return {
    status: entry.status,
    headers: entry.headers,
    varyHeaders: entry.varyHeaders,
    requestTime: entry.requestTime,
    responseTime: entry.responseTime,
  };
}

/** The metadata in `json`, or undefined when it is not JSON of that shape. */
export function parseMeta(json: string): (Meta & Record<string, unknown>) | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  const shaped =
    typeof m.status === 'number' &&
    Array.isArray(m.headers) &&
    typeof m.varyHeaders === 'object' &&
    m.varyHeaders !== null &&
    typeof m.requestTime === 'number' &&
    typeof m.responseTime === 'number';
  return shaped ? (m as Meta & Record<string, unknown>) : undefined;
}
