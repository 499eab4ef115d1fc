/**
 * The in-process scheduler: a min-heap of due times, one timer for the earliest, and the politeness rules —
 * a global concurrency limit, at most `perHost` checks at once per host, a per-host rate (token bucket), and a
 * per-host pause after 429/503. It knows nothing about HTTP or history: `run(id, dueAt)` does the check and says
 * when the watch is due next.
 */

export interface SchedulerOptions {
  concurrency: number;
  perHost: number;
  /** Checks per second per host; 0 for no limit. */
  perHostRate: number;
  now(): number;
  /** Runs a check; resolves with the next due time (undefined: do not reschedule) and any host pause. */
  run(id: number, dueAt: number): Promise<{ nextDueAt: number | undefined; hostRetryAt: number | undefined }>;
}

interface Entry {
  id: number;
  host: string;
  dueAt: number;
  /** Bumped on every reschedule, so stale heap items are skipped. */
  generation: number;
}

interface HeapItem {
  dueAt: number;
  entry: Entry;
  generation: number;
}

interface HostState {
  active: number;
  waiting: HeapItem[];
  /** Index of the first waiting item (a queue without shifting arrays). */
  head: number;
  tokens: number;
  refilledAt: number;
  pausedUntil: number;
}

/** Longest single timer (setTimeout's limit is 2^31 − 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #entries = new Map<number, Entry>();
  readonly #heap: HeapItem[] = [];
  readonly #hosts = new Map<string, HostState>();
  /** Hosts with waiting items. */
  readonly #blocked = new Set<HostState>();
  #active = 0;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];

  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  /** Checks in flight. */
  get active(): number {
    return this.#active;
  }

  /** Watches scheduled (waiting for their time or for their host). */
  get size(): number {
    return this.#entries.size;
  }

  /** Schedules (or reschedules) a watch. */
  schedule(id: number, host: string, dueAt: number): void {
    let entry = this.#entries.get(id);
    if (entry) {
      entry.dueAt = dueAt;
      entry.host = host;
      entry.generation++;
    } else {
      entry = { id, host, dueAt, generation: 0 };
      this.#entries.set(id, entry);
    }
    heapPush(this.#heap, { dueAt, entry, generation: entry.generation });
    if (this.#running) this.#pump();
  }

  unschedule(id: number): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    entry.generation++;
    this.#entries.delete(id);
  }

  start(): void {
    this.#running = true;
    this.#pump();
  }

  /** Stops starting checks; resolves when those in flight have finished. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    if (this.#active > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Resolves when nothing is due, waiting or running (with `--once`, when the pass is over). */
  drained(): Promise<void> {
    if (this.#isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #isDrained(): boolean {
    const top = this.#heap[0];
    return (
      this.#active === 0 && this.#blocked.size === 0 && (top === undefined || top.dueAt > this.#options.now())
    );
  }

  #host(name: string): HostState {
    let host = this.#hosts.get(name);
    if (!host) {
      const burst = Math.max(1, this.#options.perHostRate);
      host = {
        active: 0,
        waiting: [],
        head: 0,
        tokens: burst,
        refilledAt: this.#options.now(),
        pausedUntil: 0,
      };
      this.#hosts.set(name, host);
    }
    return host;
  }

  /** When the host may start another check: now (0), a later time, or Infinity (its slots are all busy). */
  #availableAt(host: HostState, now: number): number {
    if (host.active >= this.#options.perHost) return Number.POSITIVE_INFINITY;
    if (now < host.pausedUntil) return host.pausedUntil;
    const rate = this.#options.perHostRate;
    if (rate <= 0) return 0;
    host.tokens = Math.min(Math.max(1, rate), host.tokens + ((now - host.refilledAt) * rate) / 1000);
    host.refilledAt = now;
    return host.tokens >= 1 ? 0 : now + Math.ceil(((1 - host.tokens) * 1000) / rate);
  }

  #pump(): void {
    if (!this.#running) return;
    const now = this.#options.now();
    const { concurrency } = this.#options;
    let wake = Number.POSITIVE_INFINITY;
    for (const host of this.#blocked) {
      while (host.head < host.waiting.length && this.#active < concurrency) {
        const at = this.#availableAt(host, now);
        if (at !== 0) {
          wake = Math.min(wake, at);
          break;
        }
        const item = host.waiting[host.head++]!;
        if (item.generation === item.entry.generation) this.#start(item, host);
      }
      if (host.head >= host.waiting.length) {
        host.waiting = [];
        host.head = 0;
        this.#blocked.delete(host);
      }
    }
    while (this.#active < concurrency && this.#heap.length > 0 && this.#heap[0]!.dueAt <= now) {
      const item = heapPop(this.#heap)!;
      if (item.generation !== item.entry.generation) continue;
      const host = this.#host(item.entry.host);
      const at = host.head < host.waiting.length ? Number.POSITIVE_INFINITY : this.#availableAt(host, now);
      if (at === 0) {
        this.#start(item, host);
      } else {
        host.waiting.push(item);
        this.#blocked.add(host);
        if (at !== Number.POSITIVE_INFINITY) wake = Math.min(wake, at);
      }
    }
    const top = this.#heap[0];
    if (top && this.#active < concurrency) wake = Math.min(wake, top.dueAt);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (wake !== Number.POSITIVE_INFINITY)
      this.#timer = setTimeout(() => this.#pump(), Math.min(MAX_TIMER_MS, Math.max(0, wake - now)));
    if (this.#isDrained()) this.#notifyIdle();
  }

  #start(item: HeapItem, host: HostState): void {
    const { entry } = item;
    this.#active++;
    host.active++;
    if (this.#options.perHostRate > 0) host.tokens -= 1;
    const generation = entry.generation;
    this.#options
      .run(entry.id, item.dueAt)
      .then(
        ({ nextDueAt, hostRetryAt }) => {
          if (hostRetryAt !== undefined) host.pausedUntil = Math.max(host.pausedUntil, hostRetryAt);
          // Rescheduled by someone else meanwhile (or removed): their schedule wins.
          if (nextDueAt === undefined) {
            if (entry.generation === generation) this.#entries.delete(entry.id);
          } else if (entry.generation === generation && this.#entries.get(entry.id) === entry)
            this.schedule(entry.id, entry.host, nextDueAt);
        },
        () => {
          if (entry.generation === generation) this.#entries.delete(entry.id);
        },
      )
      .finally(() => {
        this.#active--;
        host.active--;
        if (this.#running) this.#pump();
        else if (this.#active === 0) this.#notifyIdle();
      });
  }

  #notifyIdle(): void {
    const waiters = this.#idle;
    this.#idle = [];
    for (const resolve of waiters) resolve();
  }
}

function heapPush(heap: HeapItem[], item: HeapItem): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.dueAt <= item.dueAt) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = item;
}

function heapPop(heap: HeapItem[]): HeapItem | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return top;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child = right < heap.length && heap[right]!.dueAt < heap[left]!.dueAt ? right : left;
    if (heap[child]!.dueAt >= last.dueAt) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}
