/**
 * etagkit/monitor: watch URLs for changes with conditional requests that echo the server's own validators,
 * validators trusted only as far as they have earned, a history of every check with diffs, and notifications
 * delivered at least once.
 */
export {
  type CheckEnvironment,
  type CheckResult,
  type CheckSettings,
  performCheck,
  runCheck,
} from './check.ts';
export { createDashboard, type Dashboard, type DashboardOptions } from './dashboard/server.ts';
export { defineWatch, type WatchDefaults, WatchDefinitionError, type WatchInput } from './definition.ts';
export { type JsonChange, jsonDiff, type SnapshotDiff, textDiff } from './diff.ts';
export { classify, type Extracted, extract } from './extract.ts';
export { FleetScheduler, type FleetSchedulerOptions } from './fleet/scheduler.ts';
export { syncWatchSet } from './fleet/watch-set.ts';
export { FleetWorker, type FleetWorkerEvents, type FleetWorkerOptions } from './fleet/worker.ts';
export { openHistory } from './history/open.ts';
export { type PostgresHistoryOptions, postgresHistory } from './history/postgres.ts';
export { type SqliteHistoryOptions, sqliteHistory } from './history/sqlite.ts';
export {
  type CheckCommit,
  type FleetHistoryStore,
  HistoryError,
  type HistoryStore,
  initialState,
  type OutboxEntry,
  type QueuedCheck,
  type RetentionPolicy,
  type Snapshot,
  type VersionRef,
} from './history/store.ts';
export type { Metrics, MonitorMetrics } from './metrics.ts';
export {
  createMonitor,
  Monitor,
  type MonitorEvents,
  type MonitorOptions,
  type WatchInfo,
} from './monitor.ts';
export type * from './types.ts';
export { type ParsedWatchFile, parseWatchFile, type WatchFileProblem } from './watch-file.ts';
