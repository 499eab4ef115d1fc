/** A watch's status as the page shows it, from the facts the API sends (pure; tested in status.test.ts). */
import type { OverviewRow } from '../data.ts';

export type Status = 'changed' | 'error' | 'unreliable' | 'ok' | 'pending';

/** "Changed" means changed within this window before now. */
export const CHANGED_WINDOW_MS = 24 * 3_600_000;

/** Most urgent first: what a person must look at comes first. */
export const STATUS_ORDER: readonly Status[] = ['error', 'changed', 'unreliable', 'pending', 'ok'];

export const STATUS_LABEL: Record<Status, string> = {
  changed: 'Changed',
  error: 'Error',
  unreliable: 'Unreliable validators',
  ok: 'OK',
  pending: 'Not checked yet',
};

export function statusOf(row: Pick<OverviewRow, 'health' | 'lastChangeAt'>, now: number): Status {
  if (row.health === 'error') return 'error';
  if (row.lastChangeAt !== null && now - row.lastChangeAt < CHANGED_WINDOW_MS) return 'changed';
  if (row.health === 'unreliable') return 'unreliable';
  return row.health === 'pending' ? 'pending' : 'ok';
}

/** The sparkline's bars: changes per 6-hour bucket over the last 7 days, oldest first. */
export const SPARK_BUCKETS = 28;
const SPARK_BUCKET_MS = 6 * 3_600_000;

export function sparkBuckets(changeTimes: readonly number[], now: number): number[] {
  const buckets = new Array<number>(SPARK_BUCKETS).fill(0);
  for (const t of changeTimes) {
    const age = Math.floor((now - t) / SPARK_BUCKET_MS);
    if (age >= 0 && age < SPARK_BUCKETS) buckets[SPARK_BUCKETS - 1 - age]!++;
  }
  return buckets;
}

export function watchHref(url: string): string {
  return `#/watch/${encodeURIComponent(url)}`;
}
