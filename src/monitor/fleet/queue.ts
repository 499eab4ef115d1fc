/**
 * What the fleet's schedulers and workers agree on: the BullMQ queue (its name and key prefix), the job a check
 * is, and how Redis is reached. `bullmq` and `ioredis` are optional peer dependencies, loaded only here, when a
 * fleet starts.
 *
 * A check's job id is made from the watch and the due time (`<watch id>-<due time>`): BullMQ adds no job whose id
 * exists, so two schedulers, or one scheduler that scanned twice, never enqueue the same check twice.
 */
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { HistoryError, type QueuedCheck } from '../history/store.ts';

/** What a check's job carries: which watch, for which due time, and where its notifications go. */
export interface CheckJob {
  watchId: number;
  url: string;
  host: string;
  dueAt: number;
  /** The outbox targets (fingerprints) of the scheduler that enqueued it. */
  targets: string[];
}

export const QUEUE_NAME = 'checks';
export const DEFAULT_PREFIX = 'etagkit';

export function jobId(check: Pick<QueuedCheck, 'watchId' | 'dueAt'>): string {
  return `${check.watchId}-${check.dueAt}`;
}

/**
 * Retries: a job that fails (the history unreachable) is tried again with back-off for about half an hour; after
 * that it is dropped and the scheduler enqueues the watch again once it is overdue. Finished jobs are kept an hour,
 * so their ids keep deduplicating late re-adds (later ones are skipped by the worker: the watch has moved on).
 */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 100_000 },
  removeOnFail: true,
};

type Modules = { bullmq: typeof import('bullmq'); Redis: typeof import('ioredis').Redis };

/** Loads bullmq and ioredis, or says what to install. */
export async function loadFleetModules(): Promise<Modules> {
  try {
    const [bullmq, ioredis] = await Promise.all([import('bullmq'), import('ioredis')]);
    return { bullmq, Redis: ioredis.Redis };
  } catch (cause) {
    throw new HistoryError(
      '--redis needs the bullmq and ioredis packages; install them with `npm install bullmq ioredis`',
      { cause },
    );
  }
}

/** The Redis URL as shown in messages: without its password. */
export function redisName(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.host || url;
  } catch {
    return 'Redis';
  }
}

/**
 * A connection for BullMQ (which wants `maxRetriesPerRequest: null`: commands wait while Redis is away, and the
 * fleet pauses rather than fails), after checking once that Redis answers: unreachable at start is an error.
 */
export async function connectRedis(Redis: Modules['Redis'], url: string): Promise<Redis> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause: { code?: string; message?: string } | undefined;
  probe.on('error', (error) => (cause ??= error));
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    const e = cause ?? (error as { code?: string; message?: string });
    throw new HistoryError(
      `cannot reach Redis at ${redisName(url)} (${e.code ?? e.message}); start it or check --redis`,
    );
  } finally {
    probe.disconnect();
  }
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', () => {}); // reconnects by itself; the fleet reports what it could not do
  return redis;
}

/** Enqueues checks (deduplicated by job id); the delay makes each run at its due time. */
export async function enqueue(
  queue: Queue<CheckJob>,
  checks: readonly QueuedCheck[],
  targets: string[],
  now: number,
): Promise<void> {
  if (checks.length === 0) return;
  await queue.addBulk(
    checks.map((check) => ({
      name: 'check',
      data: { watchId: check.watchId, url: check.url, host: check.host, dueAt: check.dueAt, targets },
      opts: { ...JOB_OPTIONS, jobId: jobId(check), delay: Math.max(0, check.dueAt - now) },
    })),
  );
}
