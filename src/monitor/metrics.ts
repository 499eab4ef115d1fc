/** Metrics per host and in total, from the counters each watch's state keeps (so they survive restarts). */
import type { StoredWatch, WatchCounters } from './types.ts';

export interface Metrics extends WatchCounters {
  watches: number;
  /** Share of checks answered 304 Not Modified (0 when there were none). */
  notModifiedRatio: number;
}

export interface MonitorMetrics {
  total: Metrics;
  hosts: Record<string, Metrics>;
}

/** Every counter at zero. */
export function noCounts(): WatchCounters {
  return { checks: 0, notModified: 0, changes: 0, errors: 0, bytes: 0, bytesSaved: 0 };
}

function empty(): Metrics {
  return { watches: 0, ...noCounts(), notModifiedRatio: 0 };
}

function add(into: Metrics, { state }: StoredWatch): void {
  into.watches++;
  into.checks += state.checks;
  into.notModified += state.notModified;
  into.changes += state.changes;
  into.errors += state.errors;
  into.bytes += state.bytes;
  into.bytesSaved += state.bytesSaved;
}

export function hostMetrics(watches: readonly (StoredWatch & { host: string })[]): MonitorMetrics {
  const total = empty();
  const hosts: Record<string, Metrics> = {};
  for (const watch of watches) {
    add(total, watch);
    hosts[watch.host] ??= empty();
    add(hosts[watch.host]!, watch);
  }
  for (const m of [total, ...Object.values(hosts)])
    m.notModifiedRatio = m.checks === 0 ? 0 : m.notModified / m.checks;
  return { total, hosts };
}
