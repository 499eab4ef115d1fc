/**
 * A cache store in Redis, shared by every machine that points at the same server (ioredis).
 *
 * Layout, under a key prefix (default `etagkit:`):
 * - `<prefix>entry:<key>` — a hash: field `v:<variant>` → one binary value `<seq>\n<metaLength>\n<meta><body>`,
 *   field `#seq` → a counter. A Lua script bumps the counter and writes the variant in one step, so "newest
 *   first" holds across machines. The hash expires `ttlSeconds` after its last put.
 * - `<prefix>lease:<key>` — `SET NX PX`; released by a Lua compare-and-delete so only the holder can release.
 *
 * Redis down or slow never hangs a request: every method rejects within `timeoutMs`, and the client goes to
 * the origin instead. A connection the store made itself keeps the process alive only while a call is under way,
 * so that a script ends without `close()`; it reconnects when next needed.
 */
import { createHash } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import type { CacheStore, StoredResponse } from '../store.ts';
import { metaOf, parseMeta } from './meta.ts';

export interface RedisStoreOptions {
  /** Prefix of every Redis key the store uses. Default `etagkit:`. */
  prefix?: string;
  /** Entries of a key expire this long after its last put (a bound on data kept for dead keys). Default 1 day. */
  ttlSeconds?: number;
  /** Every store call rejects after this long (Redis down, slow or unreachable). Default 1000 ms. */
  timeoutMs?: number;
}

/**
 * Options for the client made from a URL: fail fast instead of queueing commands while Redis is down, and retry a
 * lost connection only while calls wait for it (`busy`), so that no retry timer keeps an idle process alive.
 * `disconnectTimeout` (read by ioredis's connector, missing from its types) bounds how long a socket that never
 * connected keeps the process alive after `close()`; its default is 2 s.
 */
const clientOptions = (busy: () => boolean) =>
  ({
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times: number) => (busy() ? Math.min(times * 200, 2000) : null),
    disconnectTimeout: 200,
  }) satisfies RedisOptions & { disconnectTimeout: number };

const SEQ_FIELD = '#seq';
const VARIANT_PREFIX = 'v:';

const PUT_SCRIPT = `
local seq = redis.call('HINCRBY', KEYS[1], '${SEQ_FIELD}', 1)
redis.call('HSET', KEYS[1], ARGV[1], seq .. '\\n' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return seq`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * A Redis cache store. Pass a URL (ioredis is loaded on first use and closed by `close()`) or your own ioredis
 * client (left open by `close()`).
 *
 * @example
 * import { createFetch, redisStore } from 'etagkit/client';
 * const fetch = createFetch({ store: redisStore('redis://127.0.0.1:6379', { ttlSeconds: 3600 }), shared: true });
 */
export function redisStore(target: string | Redis, options: RedisStoreOptions = {}): CacheStore {
  return new RedisStore(target, options);
}

class RedisStore implements CacheStore {
  /** Entries are seen by every process using the same Redis prefix: revalidations take the lease. */
  readonly shared = true;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  readonly #ownsClient: boolean;
  readonly #client: Promise<Redis>;
  readonly #leases = new Map<string, string>();
  readonly #sha = new Map<string, string>();
  /** Calls under way: while there are none, a connection of our own does not keep the process alive. */
  #busy = 0;
  #own: Redis | undefined;
  #closed = false;

  constructor(target: string | Redis, options: RedisStoreOptions) {
    this.#prefix = options.prefix ?? 'etagkit:';
    this.#ttlMs = Math.round((options.ttlSeconds ?? 86_400) * 1000);
    this.#timeoutMs = options.timeoutMs ?? 1000;
    if (!(this.#ttlMs > 0))
      throw new RangeError(`redisStore: ttlSeconds must be > 0, got ${options.ttlSeconds}`);
    this.#ownsClient = typeof target === 'string';
    this.#client =
      typeof target === 'string'
        ? connect(target, () => this.#busy > 0).then((redis) => {
            this.#own = redis;
            redis.on('connect', () => this.#holdOpen()); // each new socket starts referenced
            return redis;
          })
        : Promise.resolve(target);
    this.#client.catch(() => {}); // reported by each method instead
  }

  get(key: string): Promise<StoredResponse[]> {
    return this.#call('get', async (redis) => {
      const entryKey = this.#entryKey(key);
      const fields = await redis.hgetallBuffer(entryKey);
      const found: { seq: number; entry: StoredResponse }[] = [];
      const undecodable: string[] = [];
      for (const field in fields) {
        if (field === SEQ_FIELD) continue;
        const decoded = decodeEntry(key, fields[field]!);
        if (decoded) found.push(decoded);
        else undecodable.push(field);
      }
      // A value this store did not write is a miss for that variant, and goes.
      if (undecodable.length > 0) redis.hdel(entryKey, ...undecodable).catch(() => {});
      // Newest response first; equal times in put order, latest first.
      return found
        .sort((a, b) => b.entry.responseTime - a.entry.responseTime || b.seq - a.seq)
        .map((f) => f.entry);
    });
  }

  put(entry: StoredResponse): Promise<void> {
    return this.#call('put', async (redis) => {
      const args = [VARIANT_PREFIX + entry.variant, encodeEntry(entry), this.#ttlMs];
      await this.#script(redis, PUT_SCRIPT, this.#entryKey(entry.key), args);
    });
  }

  delete(key: string): Promise<void> {
    return this.#call('delete', async (redis) => {
      await redis.del(this.#entryKey(key));
    });
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.#call('deletePrefix', async (redis) => {
      // SCAN with a glob: the prefix's own glob characters are escaped.
      const match = `${this.#entryKey(prefix.replace(/[*?[\]\\]/g, '\\$&'))}*`;
      let removed = 0;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        if (keys.length) removed += await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      return removed;
    });
  }

  lease(key: string, ttlMs: number): Promise<boolean> {
    return this.#call('lease', async (redis) => {
      const token = crypto.randomUUID();
      const ok = await redis.set(this.#leaseKey(key), token, 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
      if (ok !== 'OK') return false;
      this.#leases.set(key, token);
      return true;
    });
  }

  release(key: string): Promise<void> {
    const token = this.#leases.get(key);
    if (token === undefined) return Promise.resolve(); // not ours: never touch another holder's lease
    this.#leases.delete(key);
    return this.#call('release', async (redis) => {
      await this.#script(redis, RELEASE_SCRIPT, this.#leaseKey(key), [token]);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#ownsClient) return;
    const redis = await this.#client.catch(() => undefined);
    if (!redis) return;
    if (redis.status !== 'ready') return redis.disconnect();
    await withTimeout(redis.quit(), this.#timeoutMs, 'redisStore: close').catch(() => redis.disconnect());
  }

  #entryKey(key: string): string {
    return `${this.#prefix}entry:${key}`;
  }

  #leaseKey(key: string): string {
    return `${this.#prefix}lease:${key}`;
  }

  /** Runs one store operation with the client, bounded by timeoutMs. */
  async #call<T>(op: string, run: (redis: Redis) => Promise<T>): Promise<T> {
    if (this.#closed) throw new Error(`redisStore: ${op} on a closed store`);
    this.#busy++;
    const work = this.#client.then((redis) => {
      // A connection of our own that was let go while idle (see clientOptions) is made again.
      if (this.#own === redis && redis.status === 'end') redis.connect().catch(() => {});
      this.#holdOpen();
      return run(redis);
    });
    try {
      return await withTimeout(work, this.#timeoutMs, `redisStore: ${op}`);
    } catch (error) {
      work.catch(() => {}); // the late outcome of a timed-out call has nobody to report to
      throw error;
    } finally {
      this.#busy--;
      this.#holdOpen();
    }
  }

  /** Our own connection's socket keeps the process alive exactly while calls are under way. */
  #holdOpen(): void {
    const socket = this.#own?.stream;
    if (!socket || this.#closed) return;
    if (this.#busy > 0) socket.ref();
    else socket.unref();
  }

  /**
   * Runs a script with one command, sent synchronously so that calls reach Redis in call order: EVAL the first
   * time (which also caches it on the server), EVALSHA after; EVAL again on NOSCRIPT (Redis restarted).
   */
  async #script(
    redis: Redis,
    lua: string,
    key: string,
    args: (string | Buffer | number)[],
  ): Promise<unknown> {
    const sha = this.#sha.get(lua);
    if (sha === undefined) {
      this.#sha.set(lua, createHash('sha1').update(lua).digest('hex'));
      return redis.eval(lua, 1, key, ...args);
    }
    try {
      return await redis.evalsha(sha, 1, key, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return redis.eval(lua, 1, key, ...args);
    }
  }
}

async function connect(url: string, busy: () => boolean): Promise<Redis> {
  let RedisClient: typeof Redis;
  try {
    ({ Redis: RedisClient } = await import('ioredis'));
  } catch (cause) {
    throw new Error(
      'redisStore: a Redis URL needs the ioredis package; install it with `npm install ioredis`',
      {
        cause,
      },
    );
  }
  const redis = new RedisClient(url, clientOptions(busy));
  redis.on('error', () => {}); // connection errors surface as rejected commands; don't crash the process
  return redis;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms (is Redis reachable?)`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Encodes an entry as `<metaLength>\n<meta JSON><body>` (the PUT script prepends `<seq>\n`); the JSON names the variant. */
export function encodeEntry(entry: StoredResponse): Buffer {
  const json = Buffer.from(JSON.stringify({ variant: entry.variant, ...metaOf(entry) }));
  const body = Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength);
  return Buffer.concat([Buffer.from(`${json.length}\n`), json, body]);
}

/**
 * Decodes `<seq>\n<metaLength>\n<meta JSON><body>` as stored by the PUT script; undefined when the value was
 * not written by this store.
 */
export function decodeEntry(key: string, value: Buffer): { seq: number; entry: StoredResponse } | undefined {
  const seqEnd = value.indexOf(0x0a);
  const lengthEnd = seqEnd < 0 ? -1 : value.indexOf(0x0a, seqEnd + 1);
  const seq = decimal(value, 0, seqEnd);
  const metaLength = decimal(value, seqEnd + 1, lengthEnd);
  if (seq === undefined || metaLength === undefined) return undefined;
  const metaEnd = lengthEnd + 1 + metaLength;
  if (metaEnd > value.length) return undefined;
  const meta = parseMeta(value.toString('utf8', lengthEnd + 1, metaEnd));
  if (meta === undefined || typeof meta.variant !== 'string') return undefined;
  const { variant, status, headers, varyHeaders, requestTime, responseTime } = meta;
  const body = value.subarray(metaEnd);
  return { seq, entry: { key, variant, status, headers, varyHeaders, body, requestTime, responseTime } };
}

/** A non-negative decimal in value[start, end), or undefined. */
function decimal(value: Buffer, start: number, end: number): number | undefined {
  if (end <= start || end - start > 15) return undefined;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = value[i]! - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n;
}
