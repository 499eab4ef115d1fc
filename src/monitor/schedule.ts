/**
 * When a watch is checked next: pure functions of the watch, its outcome and the clock.
 *
 * - Jitter is deterministic (a hash of the URL and the due time), so a fleet of watches spreads out evenly,
 *   restarts reproduce the same schedule, and tests need no randomness.
 * - Adaptive intervals follow Apache Nutch's AdaptiveFetchSchedule: an unchanged check multiplies the interval
 *   by 1 + INC_RATE, a change by 1 − DEC_RATE, within the watch's min/max.
 * - Lower bounds: `Retry-After` and back-off after 429/503 (RFC 9110 §10.2.3, RFC 6585 §4), and, when the
 *   watch asks, the response's own freshness (RFC 9111 §4.2.1, max-age or Expires).
 */
import { freshnessLifetime } from '../client/policy.ts';
import { parseHttpDate } from '../core/index.ts';
import type { CheckStatus, WatchDefinition } from './types.ts';

/** Nutch's defaults (fetch.schedule.adaptive.inc_rate / dec_rate). */
export const INC_RATE = 0.4;
export const DEC_RATE = 0.2;
/** Jitter spreads each interval by up to ±10 %. */
const JITTER = 0.1;
/** Back-off after 429/503 never waits longer than this. */
export const MAX_BACKOFF_MS = 24 * 3_600_000;

/** FNV-1a, 32 bits: a cheap, stable hash for jitter. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A number in [-1, 1) fixed by `key`. */
function unit(key: string): number {
  return (hash32(key) / 0x1_0000_0000) * 2 - 1;
}

/** The first due time of a new watch: somewhere in its first interval, fixed by its URL. */
export function firstDue(url: string, intervalMs: number, now: number): number {
  return now + Math.floor((hash32(url) / 0x1_0000_0000) * intervalMs);
}

/** The interval after a check, moved by the adaptive schedule when the watch asks for it. */
export function nextInterval(watch: WatchDefinition, current: number, status: CheckStatus): number {
  if (!watch.adaptive) return watch.intervalMs;
  let interval = current;
  if (status === 'unchanged') interval *= 1 + INC_RATE;
  else if (status === 'changed') interval *= 1 - DEC_RATE;
  return Math.round(Math.min(watch.maxIntervalMs, Math.max(watch.minIntervalMs, interval)));
}

/** Delay asked by a Retry-After field (delay-seconds or an HTTP-date), in ms; undefined if absent or invalid. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_BACKOFF_MS);
  const date = parseHttpDate(trimmed, now);
  return date === undefined ? undefined : Math.min(Math.max(0, date.getTime() - now), MAX_BACKOFF_MS);
}

/** Wait after the `failures`-th consecutive 429/503: the server's Retry-After, or exponential back-off. */
export function backoffMs(intervalMs: number, failures: number, retryAfter: number | undefined): number {
  const exponential = Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** Math.min(failures - 1, 16));
  return Math.min(MAX_BACKOFF_MS, retryAfter ?? exponential);
}

/** When an explicitly fresh response (max-age, Expires) stops being fresh; undefined without one. */
export function freshUntil(
  status: number,
  headers: Record<string, string>,
  responseTime: number,
): number | undefined {
  const lines = Object.entries(headers);
  const { seconds, source } = freshnessLifetime(status, lines, responseTime, { shared: false });
  if (source !== 'max-age' && source !== 'expires') return undefined;
  return responseTime + seconds * 1000;
}

export interface ScheduleInput {
  watch: WatchDefinition;
  /** The due time this check ran for. */
  dueAt: number;
  /** The interval after this check (from nextInterval). */
  intervalMs: number;
  now: number;
  /** Never before this (Retry-After, back-off, freshness). */
  notBefore?: number | undefined;
}

/**
 * The next due time: one jittered interval after the due time this check ran for (so checks do not drift with
 * their own duration), moved forward past `now` when the monitor fell behind, and never before `notBefore`.
 */
export function nextDue({ watch, dueAt, intervalMs, now, notBefore }: ScheduleInput): number {
  const step = Math.max(1000, Math.round(intervalMs * (1 + JITTER * unit(`${watch.url} ${dueAt}`))));
  let next = dueAt + step;
  if (next <= now) next += Math.ceil((now - next + 1) / step) * step;
  return Math.max(next, notBefore ?? 0);
}
