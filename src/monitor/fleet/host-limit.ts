/**
 * Per-host politeness shared by every worker through Redis, so ten workers are as polite to a host as one:
 *
 * - at most `perHost` checks in flight per host: a sorted set of leases (token → expiry). A worker killed mid-check
 *   cannot hold its slot for ever: its lease runs out after LEASE_MS (live checks renew theirs);
 * - at most `rate` checks per second per host (0: no limit): a token bucket, burst max(1, rate);
 * - a pause after 429/503 (Retry-After or back-off), the latest one winning.
 *
 * One Lua script decides on Redis's own clock (machines' clocks may disagree), in one round trip. Inside a process,
 * waiters for one host queue locally and only the first asks Redis; a local release wakes it at once.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A slot unused for this long (its holder died) is free again; holders renew every third of it. */
export const LEASE_MS = 6000;

// Returns 0: acquired; > 0: ms until the host may be asked again (pause, rate); -1: every slot busy.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return paused - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
local rate = tonumber(ARGV[3])
if rate > 0 then
  local b = redis.call('HMGET', KEYS[2], 'tokens', 'at')
  local burst = math.max(1, rate)
  local tokens = math.min(burst, (tonumber(b[1]) or burst) + (now - (tonumber(b[2]) or now)) * rate / 1000)
  if tokens < 1 then
    redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', now)
    return math.ceil((1 - tokens) * 1000 / rate)
  end
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens - 1), 'at', now)
  redis.call('PEXPIRE', KEYS[2], 3600000)
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 2)
return 0`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
end
return 0`;

const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
if untilMs > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], untilMs, 'PX', tonumber(ARGV[1]))
end
return 0`;

export interface HostLimitOptions {
  perHost: number;
  /** Checks per second per host; 0 for no limit. */
  rate: number;
  /** Key prefix, shared by every process of one fleet. */
  prefix: string;
}

/** A slot held for one check: release it when the check is over (renewed meanwhile). */
export interface HostSlot {
  release(): Promise<void>;
}

type Redis3 = Redis & {
  acquireHost(k1: string, k2: string, k3: string, ...args: (string | number)[]): Promise<number>;
  renewHost(k1: string, ...args: (string | number)[]): Promise<number>;
  pauseHost(k1: string, ...args: (string | number)[]): Promise<number>;
};

export class HostLimit {
  readonly #redis: Redis3;
  readonly #options: HostLimitOptions;
  /** Local waiters per host, first in first served; the head asks Redis. */
  readonly #waiting = new Map<string, (() => void)[]>();
  /** The head waiter of a host, woken early by a local release. */
  readonly #nudge = new Map<string, () => void>();

  constructor(redis: Redis, options: HostLimitOptions) {
    this.#options = options;
    this.#redis = redis as Redis3;
    redis.defineCommand('acquireHost', { numberOfKeys: 3, lua: ACQUIRE });
    redis.defineCommand('renewHost', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('pauseHost', { numberOfKeys: 1, lua: PAUSE });
  }

  #key(host: string, what: string): string {
    return `${this.#options.prefix}:host:${host}:${what}`;
  }

  /**
   * Takes a slot for `host`, waiting up to `maxWaitMs`. Resolves with the slot, or with the ms after which to try
   * again (the caller puts its job back in the queue rather than hold a worker's place for longer).
   */
  async acquire(host: string, maxWaitMs: number): Promise<HostSlot | { retryInMs: number }> {
    const deadline = Date.now() + maxWaitMs;
    const queue = this.#waiting.get(host) ?? [];
    this.#waiting.set(host, queue);
    let wake!: () => void;
    const myTurn = new Promise<void>((resolve) => (wake = resolve));
    queue.push(wake);
    if (queue.length === 1) wake();
    try {
      await myTurn;
      const token = randomUUID();
      for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
        const wait = await this.#redis.acquireHost(
          this.#key(host, 'slots'),
          this.#key(host, 'rate'),
          this.#key(host, 'pause'),
          this.#options.perHost,
          token,
          this.#options.rate,
          LEASE_MS,
        );
        if (wait === 0) return this.#slot(host, token);
        const left = deadline - Date.now();
        if (left <= 0 || wait > left) return { retryInMs: Math.max(wait, 50 + Math.random() * 200) };
        // Busy: a local release wakes us; otherwise poll, backing off (a slot may free on another machine).
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait > 0 ? wait : pause);
          this.#nudge.set(host, () => {
            clearTimeout(timer);
            resolve();
          });
        });
        this.#nudge.delete(host);
      }
    } finally {
      queue.shift();
      if (queue.length > 0) queue[0]!();
      else this.#waiting.delete(host);
    }
  }

  #slot(host: string, token: string): HostSlot {
    const key = this.#key(host, 'slots');
    const renew = setInterval(() => {
      this.#redis.renewHost(key, token, LEASE_MS).catch(() => {});
    }, LEASE_MS / 3);
    renew.unref();
    return {
      release: async () => {
        clearInterval(renew);
        await this.#redis.zrem(key, token).catch(() => {}); // Redis away: sent when it is back (the lease ends anyway)
        this.#nudge.get(host)?.();
      },
    };
  }

  /** After 429/503: no worker asks `host` before `untilMs` (this machine's clock, sent as a duration). */
  async pause(host: string, untilMs: number): Promise<void> {
    const ms = Math.round(untilMs - Date.now());
    if (ms <= 0) return;
    await this.#redis.pauseHost(this.#key(host, 'pause'), ms);
  }
}
