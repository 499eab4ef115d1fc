/**
 * etagkit/proxy: a shared RFC 9111 caching gateway that gives any origin ETags, 304s, 412s and Range, and shares
 * its cache between proxies through Redis.
 */
export type { ProxyStats } from './metrics.ts';
export { type CachingProxy, createProxy, type ProxyDecision, type ProxyOptions } from './proxy.ts';
