/**
 * `etagkit watch … --redis URL`: the monitor as a fleet, its checks BullMQ jobs and its history in PostgreSQL.
 *   etagkit watch urls.txt --redis redis://… --db postgres://…            scheduler and worker in one process
 *   etagkit watch urls.txt --redis … --db postgres://… --scheduler-only   loads the file, enqueues checks
 *   etagkit watch --redis … --db postgres://… --worker [--concurrency N]  runs checks, on any number of machines
 */

import { DEFAULT_CHECK_SETTINGS } from '../monitor/check.ts';
import { connectRedis, DEFAULT_PREFIX, loadFleetModules, redisName } from '../monitor/fleet/queue.ts';
import { FleetScheduler } from '../monitor/fleet/scheduler.ts';
import { syncWatchSet } from '../monitor/fleet/watch-set.ts';
import { FleetWorker } from '../monitor/fleet/worker.ts';
import { historyName } from '../monitor/history/open.ts';
import { isPostgresUrl, postgresHistory } from '../monitor/history/postgres.ts';
import { type FleetHistoryStore, HistoryError } from '../monitor/history/store.ts';
import type { MonitorOptions } from '../monitor/monitor.ts';
import { type Target, targetKey } from '../monitor/outbox.ts';
import type { CheckEvent } from '../monitor/types.ts';
import { parseWatchFile } from '../monitor/watch-file.ts';
import { parseDuration, quote, UsageError } from './args.ts';
import { readTextFile } from './text-file.ts';

/** The options only the fleet reads (added to watch's own in watch.ts). */
export const FLEET_OPTIONS = {
  redis: { type: 'string' },
  worker: { type: 'boolean' },
  'scheduler-only': { type: 'boolean' },
  'stall-timeout': { type: 'string' },
  'queue-prefix': { type: 'string' },
} as const;

export const FLEET_USAGE = `
Fleet (checks as BullMQ jobs on any number of machines, history in PostgreSQL):
  --redis URL               run checks as BullMQ jobs on this Redis (needs --db postgres://…)
  --worker                  only run checks (no URL file; --concurrency per process)
  --scheduler-only          only load the URL file and enqueue checks as they fall due
  --stall-timeout D         a check whose worker died is retried after this (default 30s)
  --queue-prefix P          Redis key prefix of the queue and the host limits (default ${DEFAULT_PREFIX})`;

export interface FleetSettings {
  redis: string;
  role: 'both' | 'scheduler' | 'worker';
  stallTimeoutMs: number;
  prefix: string;
}

type Values = {
  redis?: string | undefined;
  worker: boolean;
  'scheduler-only': boolean;
  'stall-timeout'?: string | undefined;
  'queue-prefix'?: string | undefined;
  db: string;
  once: boolean;
};

/** Checks the fleet's options; undefined without --redis. Throws UsageError. */
export function settleFleet(values: Values, files: number): FleetSettings | undefined {
  if (values.redis === undefined) {
    for (const name of ['worker', 'scheduler-only', 'stall-timeout', 'queue-prefix'] as const)
      if (values[name]) throw new UsageError(`--${name} needs --redis`);
    return undefined;
  }
  if (!/^rediss?:\/\//.test(values.redis))
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, not ${quote(values.redis)}`);
  if (!isPostgresUrl(values.db))
    throw new UsageError('--redis needs a history every machine shares: --db postgres://…');
  if (values.once) throw new UsageError('--once checks in one process; drop --redis');
  if (values.worker && values['scheduler-only'])
    throw new UsageError('--worker and --scheduler-only exclude each other');
  if (values.worker ? files !== 0 : files !== 1)
    throw new UsageError(
      values.worker
        ? 'a --worker takes no URL file (the scheduler loads it)'
        : files === 0
          ? 'which URL file? expected one'
          : 'expected exactly one URL file',
    );
  const prefix = values['queue-prefix'] ?? DEFAULT_PREFIX;
  if (!/^[\w.-]{1,100}$/.test(prefix))
    throw new UsageError(`--queue-prefix must be letters, digits, _ . -, not ${quote(prefix)}`);
  const stallTimeoutMs = parseDuration(values['stall-timeout'] ?? '30s', '--stall-timeout');
  if (stallTimeoutMs < 1000) throw new UsageError('--stall-timeout must be at least 1s');
  return {
    redis: values.redis,
    role: values.worker ? 'worker' : values['scheduler-only'] ? 'scheduler' : 'both',
    stallTimeoutMs,
    prefix,
  };
}

/** Runs the fleet's scheduler, worker or both until SIGINT/SIGTERM. Exit 1 when a service cannot be reached. */
export async function fleetCommand(
  file: string | undefined,
  options: MonitorOptions & { db: string },
  fleet: FleetSettings,
  print: (event: CheckEvent) => void,
): Promise<number> {
  const fail = (message: string) => {
    console.error(`etagkit watch: ${message}`);
    return 1;
  };
  let definitions: ReturnType<typeof parseWatchFile>['watches'] = [];
  if (file !== undefined) {
    let text: string;
    try {
      text = await readTextFile(file);
    } catch (error) {
      return fail(`cannot read ${quote(file)}: ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
    const parsed = parseWatchFile(text, {
      intervalMs: options.intervalMs!,
      adaptive: options.adaptive ?? false,
      minIntervalMs: options.minIntervalMs,
      maxIntervalMs: options.maxIntervalMs,
      respectCacheHeaders: options.respectCacheHeaders ?? false,
      ignore: options.ignore ?? [],
      headers: {},
    });
    for (const problem of parsed.problems) console.error(`${file}:${problem.line}: ${problem.message}`);
    if (parsed.watches.length === 0) return fail(`no URL to watch in ${quote(file)}`);
    definitions = parsed.watches;
  }
  let store: FleetHistoryStore | undefined;
  let redis: Awaited<ReturnType<typeof connectRedis>> | undefined;
  let scheduler: FleetScheduler | undefined;
  let worker: FleetWorker | undefined;
  try {
    store = await postgresHistory(options.db, { poolSize: Math.min(20, (options.concurrency ?? 32) + 2) });
    redis = await connectRedis((await loadFleetModules()).Redis, fleet.redis);
    const where = `history in ${historyName(options.db)}, queue on ${redisName(fleet.redis)}`;
    if (fleet.role !== 'worker') {
      const { watched, paused } = await syncWatchSet(store, definitions, Date.now());
      const targets: Target[] = [
        ...(options.webhooks ?? []).map((url) => ({ kind: 'webhook', url }) as const),
        ...(options.commands ?? []).map((command) => ({ kind: 'command', command }) as const),
      ];
      scheduler = new FleetScheduler({
        store,
        redis,
        prefix: fleet.prefix,
        targets: new Map(targets.map((t) => [targetKey(t), t])),
        retention: { maxChecks: 1000, maxAgeMs: 90 * 86_400_000, ...options.retention },
      });
      scheduler.on('fault', ({ source, target, message, final }) =>
        console.error(`${source} ${final ? 'given up' : 'failed'}: ${target}: ${message}`),
      );
      await scheduler.start();
      console.error(`scheduling ${watched} URLs (${paused} no longer listed, paused); ${where}`);
    }
    if (fleet.role !== 'scheduler') {
      worker = new FleetWorker({
        store,
        redis,
        prefix: fleet.prefix,
        concurrency: options.concurrency ?? 32,
        perHost: options.perHost ?? 2,
        perHostRate: options.perHostRate ?? 0,
        stallTimeoutMs: fleet.stallTimeoutMs,
        settings: {
          ...DEFAULT_CHECK_SETTINGS,
          ...pick(options, ['timeoutMs', 'maxBytes', 'maxRedirects', 'alertAfter']),
        },
      });
      worker.on('check', print);
      worker.on('fault', ({ source, target, message }) =>
        console.error(`${source} failed: ${target}: ${message} (retried)`),
      );
      await worker.start();
      console.error(`worker: ${options.concurrency ?? 32} checks at once; ${where}`);
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return 0;
  } catch (error) {
    if (!(error instanceof HistoryError)) throw error;
    return fail(error.message);
  } finally {
    await scheduler?.stop().catch(() => {});
    await worker?.close().catch(() => {});
    redis?.disconnect();
    await store?.close().catch(() => {});
  }
}

function pick<T extends object, K extends keyof T>(from: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}
