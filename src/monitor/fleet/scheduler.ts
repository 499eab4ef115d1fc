/**
 * A fleet scheduler: enqueues each watch's next check as a BullMQ job when it falls due. It keeps no schedule of its
 * own: every watch's due time is in the shared history, written by the check that set it, so any number of
 * schedulers may run (each job id is made from the watch and the due time, and BullMQ adds an id once), and one
 * that restarts carries on where the history says.
 *
 * Every tick it reads the watches due within LOOKAHEAD_MS that no scheduler has marked queued, enqueues them (each
 * delayed to its due time), then marks them. A crash between the two only means the next scan enqueues them again,
 * which the job ids make harmless. Once a minute it enqueues again the checks overdue by STUCK_MS — a job that gave
 * up retrying (the history unreachable for long) would otherwise never be replaced.
 *
 * It also applies retention and delivers notifications: the workers write them to the outbox with the targets the
 * scheduler gave their jobs, and the scheduler, which has the webhooks and commands, sends them.
 */
import { EventEmitter } from 'node:events';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Agent } from 'undici';
import { createDispatcher } from '../fetcher.ts';
import type { FleetHistoryStore, RetentionPolicy } from '../history/store.ts';
import { OutboxDelivery, type Target } from '../outbox.ts';
import { type CheckJob, enqueue, loadFleetModules, QUEUE_NAME } from './queue.ts';

export interface FleetSchedulerOptions {
  store: FleetHistoryStore;
  redis: Redis;
  prefix: string;
  /** Notification targets by fingerprint (outbox.ts targetKey). */
  targets: ReadonlyMap<string, Target>;
  retention: RetentionPolicy;
  notify?: { retryBaseMs?: number; maxAttempts?: number };
  /** Time between scans of the history. Default 500 ms. */
  tickMs?: number;
  now?: () => number;
}

export interface FleetSchedulerEvents {
  fault: [{ source: 'history' | 'redis' | 'notification'; target: string; message: string; final: boolean }];
}

const LOOKAHEAD_MS = 2000;
const BATCH = 1000;
const STUCK_MS = 5 * 60_000;
const SWEEP_EVERY_MS = 60_000;
const PRUNE_EVERY_MS = 3_600_000;

export class FleetScheduler extends EventEmitter<FleetSchedulerEvents> {
  readonly #options: FleetSchedulerOptions;
  readonly #now: () => number;
  readonly #dispatcher: Agent;
  readonly #outbox: OutboxDelivery;
  #queue: Queue<CheckJob> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #lastSweep = 0;
  #lastPrune = 0;
  #stopped = false;
  constructor(options: FleetSchedulerOptions) {
    super();
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#dispatcher = createDispatcher({ connections: 4, timeoutMs: 10_000 });
    this.#outbox = new OutboxDelivery({
      store: options.store,
      targets: options.targets,
      dispatcher: this.#dispatcher,
      now: this.#now,
      ...options.notify,
      onFailure: (target, message, final) => this.#fault({ source: 'notification', target, message, final }),
    });
  }

  #fault(fault: FleetSchedulerEvents['fault'][0]): void {
    if (this.listenerCount('fault') > 0) this.emit('fault', fault);
  }

  async start(): Promise<void> {
    const { bullmq } = await loadFleetModules();
    this.#queue = new bullmq.Queue<CheckJob>(QUEUE_NAME, {
      connection: this.#options.redis,
      prefix: this.#options.prefix,
    });
    this.#queue.on('error', (error) =>
      this.#fault({ source: 'redis', target: 'queue', message: error.message, final: false }),
    );
    await this.#queue.waitUntilReady();
    this.#loop();
  }

  #loop(): void {
    if (this.#stopped) return;
    this.#running = this.tick()
      .catch((error: Error) =>
        this.#fault({ source: 'history', target: 'schedule', message: error.message, final: false }),
      )
      .finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#timer = setTimeout(() => this.#loop(), this.#options.tickMs ?? 500);
      });
  }

  /** One scan: enqueue what falls due, and now and then the overdue sweep, retention and notifications. */
  async tick(): Promise<void> {
    const { store } = this.#options;
    const targets = [...this.#options.targets.keys()];
    for (;;) {
      const now = this.#now();
      const due = await store.dueChecks(now + LOOKAHEAD_MS, BATCH);
      await enqueue(this.#queue!, due, targets, now);
      await store.markQueued(due);
      if (due.length < BATCH || this.#stopped) break;
    }
    const now = this.#now();
    if (now - this.#lastSweep >= SWEEP_EVERY_MS) {
      this.#lastSweep = now;
      await enqueue(this.#queue!, await store.overdueChecks(now - STUCK_MS, BATCH), targets, now);
    }
    if (now - this.#lastPrune >= PRUNE_EVERY_MS) {
      this.#lastPrune = now;
      await store.prune(this.#options.retention, now);
    }
    if (this.#options.targets.size > 0) this.#outbox.kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#outbox.stop();
    await this.#queue?.close();
    await this.#dispatcher.close();
  }
}
