/**
 * `createMonitor()`: the watches, the scheduler that runs their checks, the history they are written to and the
 * notifications they send. The CLI (`etagkit watch`) is a thin shell over this.
 */
import { EventEmitter } from 'node:events';
import type { Agent } from 'undici';
import { type CheckEnvironment, type CheckSettings, DEFAULT_CHECK_SETTINGS, runCheck } from './check.ts';
import { DEFAULT_WATCH, defineWatch, type WatchDefaults, type WatchInput } from './definition.ts';
import { diffVersions, type SnapshotDiff } from './diff.ts';
import { createDispatcher } from './fetcher.ts';
import { openHistory } from './history/open.ts';
import { HistoryError, type HistoryStore, initialState, type RetentionPolicy } from './history/store.ts';
import { hostMetrics, type MonitorMetrics } from './metrics.ts';
import { OutboxDelivery, type Target, targetKey } from './outbox.ts';
import { firstDue } from './schedule.ts';
import { Scheduler } from './scheduler.ts';
import type { CheckEvent, CheckRecord, Notification, StoredWatch } from './types.ts';

export interface MonitorOptions extends Partial<CheckSettings>, Partial<WatchDefaults> {
  /** A SQLite file path (created when missing), a `postgres://` URL, or any HistoryStore. */
  db: string | HistoryStore;
  /** Checks in flight at once, over all hosts. Default 32. */
  concurrency?: number;
  /** Checks in flight at once per host (and connections per origin). Default 2. */
  perHost?: number;
  /** Checks per second per host; 0 for no limit. Default 0. */
  perHostRate?: number;
  /** Webhook URLs: every change, alert and recovery is POSTed to each, at least once. */
  webhooks?: string[];
  /** Shell commands run for every change, alert and recovery, with the event as JSON on standard input. */
  commands?: string[];
  /** Retry timing and limit of notification delivery. */
  notify?: { retryBaseMs?: number; maxAttempts?: number };
  /** History kept per watch. Default: 1000 checks, 90 days. */
  retention?: Partial<RetentionPolicy>;
  /** The clock (tests). */
  now?: () => number;
}

/** A watch with its state, as `list()` returns it. */
export interface WatchInfo extends StoredWatch {
  host: string;
}

export interface MonitorEvents {
  check: [CheckEvent];
  change: [CheckEvent];
  error: [CheckEvent];
  alert: [CheckEvent];
  recovered: [CheckEvent];
  /**
   * Something outside a check's own outcome failed: a notification could not be delivered (`final`: given up),
   * or a check could not be written to the history (it is tried again later).
   */
  fault: [{ source: 'notification' | 'history'; target: string; message: string; final: boolean }];
}

const DEFAULT_RETENTION: RetentionPolicy = { maxChecks: 1000, maxAgeMs: 90 * 86_400_000 };
const PRUNE_EVERY_MS = 3_600_000;
/** After a failed commit, the check is tried again this much later. */
const COMMIT_RETRY_MS = 30_000;

/**
 * Creates a monitor over a history (opened here when `db` is a path).
 *
 * @example
 * const monitor = await createMonitor({ db: './.etagkit/watch.db', webhooks: ['https://hooks.example/x'] });
 * await monitor.add({ url: 'https://example.com/prices', selector: '.price', intervalMs: 600_000 });
 * monitor.on('change', (event) => console.log(event.url, 'changed'));
 * await monitor.start();
 */
export async function createMonitor(options: MonitorOptions): Promise<Monitor> {
  checkLimits(options);
  const store = typeof options.db === 'string' ? await openHistory(options.db) : options.db;
  return new Monitor(store, options, typeof options.db === 'string');
}

/** Longest wait setTimeout can express; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Refuses numeric options that would stall or defeat the monitor (a concurrency of 0 never checks, a timeout of
 * 0 is "no timeout" to undici, NaN compares false everywhere), before any history is opened.
 */
function checkLimits(options: MonitorOptions): void {
  const rules: [keyof MonitorOptions, number, number][] = [
    ['timeoutMs', 1, MAX_TIMER_MS],
    ['truthIntervalMs', 1, Number.MAX_SAFE_INTEGER],
    ['maxBytes', 1, Number.MAX_SAFE_INTEGER],
    ['maxRedirects', 0, 100],
    ['proveAfter', 0, Number.MAX_SAFE_INTEGER],
    ['alertAfter', 1, Number.MAX_SAFE_INTEGER],
    ['concurrency', 1, 100_000],
    ['perHost', 1, 100_000],
    ['perHostRate', 0, Number.MAX_SAFE_INTEGER],
  ];
  for (const [name, min, max] of rules) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
      throw new RangeError(
        `createMonitor: ${name} must be a number from ${min} to ${max}, not ${String(value)}`,
      );
  }
}

export class Monitor extends EventEmitter<MonitorEvents> {
  readonly store: HistoryStore;
  readonly #ownsStore: boolean;
  readonly #defaults: WatchDefaults;
  readonly #settings: CheckSettings;
  readonly #now: () => number;
  readonly #dispatcher: Agent;
  readonly #outbox: OutboxDelivery;
  readonly #targets: Map<string, Target>;
  readonly #retention: RetentionPolicy;
  readonly #scheduler: Scheduler;
  readonly #limits: { concurrency: number; perHost: number; perHostRate: number };
  readonly #watches = new Map<number, StoredWatch>();
  /** One check at a time per watch: the tail of each watch's queue. */
  readonly #locks = new Map<number, Promise<unknown>>();
  #loaded: Promise<void> | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(store: HistoryStore, options: MonitorOptions, ownsStore: boolean) {
    super();
    this.store = store;
    this.#ownsStore = ownsStore;
    this.#now = options.now ?? Date.now;
    this.#defaults = {
      intervalMs: options.intervalMs ?? DEFAULT_WATCH.intervalMs,
      adaptive: options.adaptive ?? DEFAULT_WATCH.adaptive,
      minIntervalMs: options.minIntervalMs,
      maxIntervalMs: options.maxIntervalMs,
      respectCacheHeaders: options.respectCacheHeaders ?? DEFAULT_WATCH.respectCacheHeaders,
      ignore: options.ignore ?? [],
      headers: options.headers ?? {},
    };
    const pick = <K extends keyof CheckSettings>(key: K) => options[key] ?? DEFAULT_CHECK_SETTINGS[key];
    this.#settings = {
      timeoutMs: pick('timeoutMs'),
      maxBytes: pick('maxBytes'),
      maxRedirects: pick('maxRedirects'),
      proveAfter: pick('proveAfter'),
      truthIntervalMs: pick('truthIntervalMs'),
      alertAfter: pick('alertAfter'),
      userAgent: pick('userAgent'),
    };
    this.#limits = {
      concurrency: options.concurrency ?? 32,
      perHost: options.perHost ?? 2,
      perHostRate: options.perHostRate ?? 0,
    };
    this.#dispatcher = createDispatcher({
      connections: this.#limits.perHost,
      timeoutMs: this.#settings.timeoutMs,
    });
    const targets: Target[] = [
      ...(options.webhooks ?? []).map((url) => ({ kind: 'webhook', url }) as const),
      ...(options.commands ?? []).map((command) => ({ kind: 'command', command }) as const),
    ];
    this.#targets = new Map(targets.map((t) => [targetKey(t), t]));
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#outbox = new OutboxDelivery({
      store,
      targets: this.#targets,
      dispatcher: this.#dispatcher,
      now: this.#now,
      ...options.notify,
      onFailure: (target, message, final) =>
        this.emit('fault', { source: 'notification', target, message, final }),
    });
    this.#scheduler = new Scheduler({
      ...this.#limits,
      now: this.#now,
      run: (id, dueAt) => this.#scheduled(id, dueAt),
    });
  }

  /** Adds a watch, or updates the definition of the watch with that URL (its history stays). */
  async add(input: WatchInput): Promise<StoredWatch> {
    await this.#load();
    const definition = defineWatch(input, this.#defaults);
    const now = this.#now();
    const saved = await this.store.saveWatch(
      definition,
      initialState(definition.intervalMs, firstDue(definition.url, definition.intervalMs, now)),
    );
    const known = this.#watches.get(saved.id);
    // A check in flight keeps the state it will commit; only the definition changes under it.
    const watch = known ? Object.assign(known, { definition, paused: false }) : saved;
    this.#watches.set(watch.id, watch);
    if (this.#started) this.#scheduler.schedule(watch.id, hostOf(watch), watch.state.nextDueAt);
    return watch;
  }

  /** Removes a watch and its history. */
  async remove(url: string): Promise<boolean> {
    await this.#load();
    const watch = this.#byUrl(url);
    if (watch) {
      this.#scheduler.unschedule(watch.id);
      this.#watches.delete(watch.id);
    }
    return this.store.removeWatch(url);
  }

  /** Stops checking a watch, keeping its history (`resume` or `add` starts it again). */
  async pause(url: string): Promise<boolean> {
    await this.#load();
    const watch = this.#byUrl(url);
    if (watch) {
      watch.paused = true;
      this.#scheduler.unschedule(watch.id);
    }
    return this.store.setPaused(url, true);
  }

  async resume(url: string): Promise<boolean> {
    await this.#load();
    const watch = this.#byUrl(url);
    if (watch) {
      watch.paused = false;
      if (this.#started) this.#scheduler.schedule(watch.id, hostOf(watch), watch.state.nextDueAt);
    }
    return this.store.setPaused(url, false);
  }

  /** Every watch with its state and counters. */
  async list(): Promise<WatchInfo[]> {
    await this.#load();
    return [...this.#watches.values()].map((w) => ({ ...w, host: hostOf(w) }));
  }

  /** Checks per host and in total: 304 ratio, bytes transferred and saved against unconditional polling. */
  async metrics(): Promise<MonitorMetrics> {
    return hostMetrics(await this.list());
  }

  /**
   * Checks one watch (by URL) or every unpaused watch now, within the concurrency and per-host limits, and
   * resolves with the events once they are committed.
   */
  async checkNow(url: string): Promise<CheckEvent>;
  async checkNow(): Promise<CheckEvent[]>;
  async checkNow(url?: string): Promise<CheckEvent | CheckEvent[]> {
    await this.#load();
    if (url !== undefined) {
      const watch = this.#byUrl(url) ?? (await this.add(url));
      const event = await this.#exclusive(watch.id, () => this.#check(watch, this.#manualDue(watch)));
      this.#reschedule(watch);
      return event;
    }
    const events: CheckEvent[] = [];
    const pass = new Scheduler({
      ...this.#limits,
      now: this.#now,
      run: async (id) => {
        const watch = this.#watches.get(id);
        if (!watch) return { nextDueAt: undefined, hostRetryAt: undefined };
        const result = await this.#exclusive(id, () => this.#checkWithResult(watch, this.#manualDue(watch)));
        if (result.event) events.push(result.event);
        this.#reschedule(watch);
        return { nextDueAt: undefined, hostRetryAt: result.hostRetryAt };
      },
    });
    const now = this.#now();
    for (const watch of this.#watches.values())
      if (!watch.paused) pass.schedule(watch.id, hostOf(watch), now);
    pass.start();
    await pass.drained();
    await pass.stop();
    return events;
  }

  /** Starts the schedule: every unpaused watch at its stored due time (so a restart resumes where it stopped). */
  async start(): Promise<void> {
    await this.#load();
    if (this.#started) return;
    this.#started = true;
    for (const watch of this.#watches.values())
      if (!watch.paused) this.#scheduler.schedule(watch.id, hostOf(watch), watch.state.nextDueAt);
    this.#scheduler.start();
    this.#outbox.kick();
    await this.prune();
    this.#pruneTimer = setInterval(() => void this.prune().catch(() => {}), PRUNE_EVERY_MS).unref();
  }

  /** Stops scheduling and waits for the checks in flight. */
  async stop(): Promise<void> {
    this.#started = false;
    clearInterval(this.#pruneTimer);
    await this.#scheduler.stop();
  }

  /** Delivers pending notifications until none is left or `timeoutMs` passes; true when all went out. */
  flushNotifications(timeoutMs: number): Promise<boolean> {
    return this.#outbox.drain(this.#now() + timeoutMs);
  }

  /** Stops everything and closes the history (when this monitor opened it). */
  async close(): Promise<void> {
    await this.stop();
    await this.#outbox.stop();
    await this.#dispatcher.close();
    if (this.#ownsStore) await this.store.close();
  }

  /** A watch's checks, newest first. */
  history(url: string, options: { limit?: number; beforeId?: number } = {}): Promise<CheckRecord[]> {
    return this.store.checks(url, options);
  }

  /**
   * The difference between two versions of a watch's content (default: the one before the current, and the
   * current). Throws HistoryError naming what is missing.
   */
  diff(url: string, from?: number, to?: number): Promise<SnapshotDiff> {
    return diffVersions(this.store, url, from, to);
  }

  /** Applies retention now (also done at start and hourly while running). */
  prune(): Promise<{ checks: number; snapshots: number }> {
    return this.store.prune(this.#retention, this.#now());
  }

  /** Grows with every write to the history: a cheap validator for readers. */
  revision(): Promise<number> {
    return this.store.revision();
  }

  /** After a check outside the schedule, the schedule follows the watch's new due time. */
  #reschedule(watch: StoredWatch): void {
    if (this.#started && !watch.paused && this.#watches.has(watch.id))
      this.#scheduler.schedule(watch.id, hostOf(watch), watch.state.nextDueAt);
  }

  #load(): Promise<void> {
    this.#loaded ??= this.store.watches().then((watches) => {
      for (const watch of watches) this.#watches.set(watch.id, watch);
    });
    return this.#loaded;
  }

  #byUrl(url: string): StoredWatch | undefined {
    let normalized = url;
    try {
      const parsed = new URL(url);
      parsed.hash = '';
      normalized = parsed.href;
    } catch {}
    for (const watch of this.#watches.values()) if (watch.definition.url === normalized) return watch;
    return undefined;
  }

  /** A due time for a check asked for now: unique per watch, so it never collides with a recorded one. */
  #manualDue(watch: StoredWatch): number {
    let due = Math.max(this.#now(), (watch.state.lastDueAt ?? 0) + 1);
    if (due === watch.state.nextDueAt) due++;
    return due;
  }

  #exclusive<T>(id: number, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => {});
    this.#locks.set(id, tail);
    void tail.then(() => {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    });
    return next;
  }

  async #scheduled(id: number, dueAt: number) {
    const watch = this.#watches.get(id);
    if (!watch || watch.paused) return { nextDueAt: undefined, hostRetryAt: undefined };
    const result = await this.#exclusive(id, () => this.#checkWithResult(watch, dueAt));
    return { nextDueAt: result.nextDueAt, hostRetryAt: result.hostRetryAt };
  }

  async #check(watch: StoredWatch, dueAt: number): Promise<CheckEvent> {
    const result = await this.#checkWithResult(watch, dueAt);
    if (result.event) return result.event;
    throw (
      result.failure ??
      new HistoryError(`a check of ${watch.definition.url} due at ${dueAt} is already recorded`)
    );
  }

  /** Runs one check, commits it, updates the in-memory state and emits its events. Never rejects. */
  async #checkWithResult(
    watch: StoredWatch,
    dueAt: number,
  ): Promise<{
    event?: CheckEvent;
    failure?: unknown;
    nextDueAt: number | undefined;
    hostRetryAt: number | undefined;
  }> {
    const env: CheckEnvironment = {
      settings: this.#settings,
      dispatcher: this.#dispatcher,
      now: this.#now,
      store: this.store,
      targets: [...this.#targets.keys()],
    };
    try {
      const result = await runCheck(watch, dueAt, env);
      if (!result.committed) {
        // Recorded already (by a process before a restart, or a worker): take the stored state as it is.
        const stored = await this.store.watch(watch.definition.url);
        if (stored) watch.state = stored.state;
        return { nextDueAt: watch.state.nextDueAt, hostRetryAt: undefined };
      }
      watch.state = result.state;
      this.#announce(result.event, result.notifications);
      if (result.commit.outbox.length > 0) this.#outbox.kick();
      return { event: result.event, nextDueAt: result.state.nextDueAt, hostRetryAt: result.hostRetryAt };
    } catch (failure) {
      // The history could not be written (or the check itself broke): nothing was recorded; try again later.
      const message = failure instanceof Error ? failure.message : String(failure);
      this.emit('fault', { source: 'history', target: watch.definition.url, message, final: false });
      return { failure, nextDueAt: this.#now() + COMMIT_RETRY_MS, hostRetryAt: undefined };
    }
  }

  #announce(event: CheckEvent, notifications: Notification[]): void {
    this.emit('check', event);
    if (event.status === 'changed') this.emit('change', event);
    if (event.status === 'error' && this.listenerCount('error') > 0) this.emit('error', event);
    for (const n of notifications) if (n.kind !== 'change') this.emit(n.kind, event);
  }
}

function hostOf(watch: StoredWatch): string {
  return new URL(watch.definition.url).host;
}
