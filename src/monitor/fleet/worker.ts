/**
 * A fleet worker: takes check jobs from BullMQ, runs each with the monitor's own `runCheck` (the same request,
 * decision and commit as a single monitor), within the per-host limits shared through Redis.
 *
 * Exactly once per (watch, due time), whatever fails:
 * - the commit is idempotent per (watch, due time), and a job whose due time the watch has already passed is
 *   skipped before any request: a job retried after its check was committed (the worker killed, or Redis lost
 *   between the commit and BullMQ's bookkeeping) records nothing and sends nothing;
 * - a worker killed mid-check holds its job's lock no longer than the stall timeout: BullMQ's stalled-job check
 *   (run by every worker) puts the job back, and another worker does the check;
 * - the history unreachable: the job fails before anything is written (one statement, one transaction) and BullMQ
 *   retries it with back-off.
 */
import { EventEmitter } from 'node:events';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Agent } from 'undici';
import { type CheckSettings, runCheck } from '../check.ts';
import { createDispatcher } from '../fetcher.ts';
import type { HistoryStore } from '../history/store.ts';
import type { CheckEvent } from '../types.ts';
import { HostLimit } from './host-limit.ts';
import { type CheckJob, loadFleetModules, QUEUE_NAME } from './queue.ts';

export interface FleetWorkerOptions {
  store: HistoryStore;
  redis: Redis;
  prefix: string;
  /** Jobs run at once by this process. */
  concurrency: number;
  /** Checks in flight per host, over the whole fleet. */
  perHost: number;
  /** Checks per second per host, over the whole fleet; 0 for no limit. */
  perHostRate: number;
  settings: CheckSettings;
  /** How long a job whose worker died stays locked before another worker takes it. */
  stallTimeoutMs: number;
  /** How long a job waits in a worker for its host before it goes back to the queue. */
  maxHostWaitMs?: number;
}

export interface FleetWorkerEvents {
  /** A check committed by this worker. */
  check: [CheckEvent];
  /** A job that failed (it is retried), or Redis trouble. */
  fault: [{ source: 'job' | 'redis'; target: string; message: string }];
}

export type JobOutcome = 'checked' | 'skipped' | 'gone';

export class FleetWorker extends EventEmitter<FleetWorkerEvents> {
  readonly #options: FleetWorkerOptions;
  readonly #dispatcher: Agent;
  readonly hosts: HostLimit;
  #worker: Worker<CheckJob, JobOutcome> | undefined;

  constructor(options: FleetWorkerOptions) {
    super();
    this.#options = options;
    this.#dispatcher = createDispatcher({
      connections: options.perHost,
      timeoutMs: options.settings.timeoutMs,
    });
    this.hosts = new HostLimit(options.redis, {
      perHost: options.perHost,
      rate: options.perHostRate,
      prefix: `${options.prefix}:limits`,
    });
  }

  async start(): Promise<void> {
    const { bullmq } = await loadFleetModules();
    const { redis, prefix, concurrency, stallTimeoutMs } = this.#options;
    this.#worker = new bullmq.Worker<CheckJob, JobOutcome>(
      QUEUE_NAME,
      (job, token) => this.#process(job, token),
      {
        connection: redis,
        prefix,
        concurrency,
        lockDuration: stallTimeoutMs,
        stalledInterval: stallTimeoutMs,
        maxStalledCount: 10,
        // Redis away: wait and reconnect (the connection's retry strategy); the worker resumes by itself.
        autorun: false,
      },
    );
    this.#worker.on('error', (error) =>
      this.emit('fault', { source: 'redis', target: 'queue', message: error.message }),
    );
    this.#worker.on('failed', (job, error) => {
      if (job && !(error instanceof bullmq.DelayedError))
        this.emit('fault', { source: 'job', target: job.data.url, message: error.message });
    });
    void this.#worker.run();
    await this.#worker.waitUntilReady();
  }

  async #process(job: Job<CheckJob, JobOutcome>, token: string | undefined): Promise<JobOutcome> {
    const { store, settings, maxHostWaitMs = 2000 } = this.#options;
    const { watchId, url, host, dueAt, targets } = job.data;
    const watch = await store.watch(url);
    if (!watch || watch.id !== watchId || watch.paused) return 'gone';
    // Already checked for this due time (a retried job) or a later one: nothing to do.
    if (dueAt < watch.state.nextDueAt || (watch.state.lastDueAt ?? -1) >= dueAt) return 'skipped';
    const slot = await this.hosts.acquire(host, maxHostWaitMs);
    if ('retryInMs' in slot) {
      const { DelayedError } = (await loadFleetModules()).bullmq;
      await job.moveToDelayed(Date.now() + slot.retryInMs, token);
      throw new DelayedError();
    }
    try {
      const result = await runCheck(watch, dueAt, {
        settings,
        dispatcher: this.#dispatcher,
        now: Date.now,
        store,
        targets,
      });
      if (result.hostRetryAt !== undefined) await this.hosts.pause(host, result.hostRetryAt).catch(() => {});
      if (!result.committed) return 'skipped';
      this.emit('check', result.event);
      return 'checked';
    } finally {
      await slot.release();
    }
  }

  /** Stops taking jobs and waits for those in flight. */
  async close(): Promise<void> {
    await this.#worker?.close();
    await this.#dispatcher.close();
  }
}
