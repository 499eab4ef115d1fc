/**
 * Politeness: at most N requests in flight to one host (host:port) at a time, however many URLs are audited
 * at once. Every probe takes a slot for exactly the life of its connection.
 */

export class HostLimiter {
  readonly perHost: number;
  readonly #active = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(perHost: number) {
    if (!Number.isInteger(perHost) || perHost < 1)
      throw new RangeError(`perHost must be a whole number of at least 1, not ${perHost}`);
    this.perHost = perHost;
  }

  /** Waits for a slot on `url`'s host; resolves with the function that gives it back. */
  async acquire(url: URL): Promise<() => void> {
    const key = hostKey(url);
    const active = this.#active.get(key) ?? 0;
    if (active < this.perHost) this.#active.set(key, active + 1);
    else {
      const queue = this.#waiting.get(key) ?? [];
      this.#waiting.set(key, queue);
      // The releasing request hands its slot over directly, so the count never exceeds perHost.
      await new Promise<void>((resolve) => queue.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release(key);
    };
  }

  #release(key: string): void {
    const next = this.#waiting.get(key)?.shift();
    if (next) {
      next();
      return;
    }
    if (this.#waiting.get(key)?.length === 0) this.#waiting.delete(key);
    const active = (this.#active.get(key) ?? 1) - 1;
    if (active === 0) this.#active.delete(key);
    else this.#active.set(key, active);
  }
}

/** The host a limit applies to: scheme, name and port (`https://example.com:443`). */
export function hostKey(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
}

/** Runs `task` over `items` with at most `limit` at once; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
