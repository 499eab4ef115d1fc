/**
 * The monitor's counters in the Prometheus text exposition format (version 0.0.4), per host: what `etagkit watch
 * stats` prints, for a scraper. Counters come from the watches' stored state, so they survive restarts (and
 * drop, like any counter reset, when a watch is removed).
 */
import type { MonitorMetrics } from '../metrics.ts';

export const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const SERIES = [
  ['watches', 'gauge', 'Watches in the history.', 'watches'],
  ['checks_total', 'counter', 'Checks recorded.', 'checks'],
  ['not_modified_total', 'counter', 'Checks the server answered with 304 Not Modified.', 'notModified'],
  ['changes_total', 'counter', 'Checks that found changed content.', 'changes'],
  ['errors_total', 'counter', 'Checks that failed.', 'errors'],
  ['bytes_transferred_total', 'counter', 'Bytes received by checks (bodies and headers).', 'bytes'],
  [
    'bytes_saved',
    'gauge',
    'Bytes a poller without validators would have received in addition (negative when checks cost more).',
    'bytesSaved',
  ],
] as const;

export function formatPrometheus(metrics: MonitorMetrics): string {
  const lines: string[] = [];
  const hosts = Object.entries(metrics.hosts).sort(([a], [b]) => a.localeCompare(b));
  for (const [suffix, type, help, field] of SERIES) {
    const name = `etagkit_monitor_${suffix}`;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [host, m] of hosts) lines.push(`${name}{host="${escapeLabel(host)}"} ${m[field]}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Label values escape backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}
