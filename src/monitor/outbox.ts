/**
 * Delivers the notifications that checks committed to the history's outbox, at least once: a row leaves the
 * outbox only after its webhook answered 2xx (or its command exited 0), so a crash between commit and delivery
 * only delays it to the next start. Failures are retried with exponential back-off; after `maxAttempts` the row
 * stays in the history marked undeliverable and the failure is reported.
 *
 * Webhooks: `POST` of the event as JSON, with `Idempotency-Key` so a receiver can drop the duplicates that
 * at-least-once delivery allows. Commands (`command:<shell command>`): the event as JSON on standard input, and
 * `ETAGKIT_EVENT` / `ETAGKIT_URL` in the environment.
 *
 * The outbox names a target by a fingerprint (`webhook:<hash>`), never by its URL or command line, which may
 * hold tokens: the running monitor maps fingerprints back to what it was configured with. A row whose target is
 * not configured in this run waits for a run that has it.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { type Dispatcher, request } from 'undici';
import type { HistoryStore, OutboxEntry } from './history/store.ts';

/** Where a notification goes. */
export type Target = { kind: 'webhook'; url: string } | { kind: 'command'; command: string };

/** The outbox's name for a target: a fingerprint, so no token in a URL or command is written to the history. */
export function targetKey(target: Target): string {
  const text = target.kind === 'webhook' ? target.url : target.command;
  return `${target.kind}:${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
}

export interface OutboxOptions {
  store: HistoryStore;
  /** Configured targets by targetKey(). */
  targets: ReadonlyMap<string, Target>;
  dispatcher: Dispatcher;
  now(): number;
  /** First retry after this long, doubling up to an hour. Default 1000 ms. */
  retryBaseMs?: number;
  /** Attempts before a notification is given up. Default 10. */
  maxAttempts?: number;
  /** Per delivery attempt. Default 10 s. */
  timeoutMs?: number;
  /** A notification given up, or a delivery attempt failed. */
  onFailure?(target: string, message: string, final: boolean): void;
}

const MAX_RETRY_MS = 3_600_000;
const PARALLEL = 4;

export class OutboxDelivery {
  readonly #options: Required<Omit<OutboxOptions, 'onFailure'>> & Pick<OutboxOptions, 'onFailure'>;
  readonly #inFlight = new Set<number>();
  /** Rows whose target this run does not know (reported once each). */
  readonly #unknown = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: OutboxOptions) {
    this.#options = { retryBaseMs: 1000, maxAttempts: 10, timeoutMs: 10_000, ...options };
  }

  /** Delivers whatever is due now, then sleeps until the next retry. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#deliverDue().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  /** Keeps delivering until the outbox is empty or `deadline` passes; resolves true when empty. */
  async drain(deadline: number): Promise<boolean> {
    for (;;) {
      this.kick();
      while (this.#running) await this.#running;
      const next = await this.#options.store.nextNotificationAt();
      if (next === undefined) return true;
      const now = this.#options.now();
      if (next > deadline || now >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - now)));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    while (this.#running) await this.#running;
  }

  async #deliverDue(): Promise<void> {
    const { store, now } = this.#options;
    for (;;) {
      const due = (await store.pendingNotifications(now(), 64 + this.#unknown.size)).filter(
        (e) => !this.#inFlight.has(e.id) && !this.#unknown.has(e.id),
      );
      if (due.length === 0) break;
      for (let i = 0; i < due.length; i += PARALLEL)
        await Promise.all(due.slice(i, i + PARALLEL).map((entry) => this.#deliver(entry)));
      if (this.#stopped) return;
    }
    clearTimeout(this.#timer);
    const next = await store.nextNotificationAt();
    if (next !== undefined && !this.#stopped)
      this.#timer = setTimeout(() => this.kick(), Math.min(MAX_RETRY_MS, Math.max(0, next - now()))).unref();
  }

  async #deliver(entry: OutboxEntry): Promise<void> {
    const { store, now, retryBaseMs, maxAttempts } = this.#options;
    const target = this.#options.targets.get(entry.target);
    if (!target) {
      this.#unknown.add(entry.id);
      this.#options.onFailure?.(
        entry.target,
        'its target is not configured in this run; kept for a run that has it',
        false,
      );
      return;
    }
    this.#inFlight.add(entry.id);
    try {
      const failure = await this.#attempt(target, entry);
      if (failure === undefined) {
        await store.settleNotification(entry.id, { delivered: true });
        return;
      }
      const attempts = entry.attempts + 1;
      const final = attempts >= maxAttempts;
      const retryAt = final ? undefined : now() + Math.min(MAX_RETRY_MS, retryBaseMs * 2 ** (attempts - 1));
      await store.settleNotification(entry.id, { retryAt, error: failure });
      this.#options.onFailure?.(displayTarget(target), failure, final);
    } finally {
      this.#inFlight.delete(entry.id);
    }
  }

  /** One delivery attempt: undefined when delivered, else why not. */
  async #attempt(target: Target, entry: OutboxEntry): Promise<string | undefined> {
    if (target.kind === 'command') return runCommand(target.command, entry.payload, this.#options.timeoutMs);
    try {
      const response = await request(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'etagkit-watch',
          'idempotency-key': `etagkit-${entry.createdAt}-${entry.id}`,
        },
        body: entry.payload,
        dispatcher: this.#options.dispatcher,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      await response.body.dump();
      return response.statusCode >= 200 && response.statusCode < 300
        ? undefined
        : `HTTP ${response.statusCode}`;
    } catch (error) {
      const e = error as { code?: string; message?: string };
      return e.code ? `${e.code}: ${e.message}` : String(e.message ?? error);
    }
  }
}

function runCommand(command: string, payload: string, timeoutMs: number): Promise<string | undefined> {
  const event = JSON.parse(payload) as { type: string; url: string };
  return new Promise((resolve) => {
    const child = spawn(command, {
      shell: true,
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, ETAGKIT_EVENT: event.type, ETAGKIT_URL: event.url },
      timeout: timeoutMs,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 500) stderr += chunk;
    });
    child.stdin.on('error', () => {}); // a command that does not read its input
    child.stdin.end(`${payload}\n`);
    child.on('error', (error) => resolve(`cannot run ${JSON.stringify(command)}: ${error.message}`));
    child.on('close', (code, signal) =>
      resolve(
        code === 0
          ? undefined
          : `command exited with ${signal ?? code}${stderr ? `: ${stderr.trim().slice(0, 200)}` : ''}`,
      ),
    );
  });
}

/** Targets as shown in messages: a webhook's query string may hold a token. */
function displayTarget(target: Target): string {
  if (target.kind === 'command') return `command ${JSON.stringify(target.command.slice(0, 60))}`;
  const url = new URL(target.url);
  return `webhook ${url.origin}${url.pathname}`;
}
