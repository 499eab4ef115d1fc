/**
 * Test-only helpers for createFetch's unit tests: a scripted origin, an injected clock, a gate the test opens.
 * Nothing at runtime imports this module.
 */
import { parseCacheStatus } from '../core/index.ts';

export interface Seen {
  url: string;
  method: string;
  headers: Headers;
}

/** A scripted origin: each call answers with the next handler's Response. Records what it was sent. */
export function origin(handler: (req: Seen, n: number) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const req = {
      url: String(input instanceof Request ? input.url : input),
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
    };
    seen.push(req);
    init.signal?.throwIfAborted();
    return handler(req, seen.length);
  };
  return { fetch, seen };
}

export const T0 = Date.UTC(2026, 0, 1);

export function clock(start = T0) {
  const c = { t: start, now: () => c.t, advance: (s: number) => (c.t += s * 1000) };
  return c;
}

export const date = (t: number) => new Date(t).toUTCString();

/** A promise the test opens when it chooses: an origin that awaits `gate` answers once `release()` is called. */
export function gated() {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  return { gate, release };
}

/** Our (last) Cache-Status member of a response. */
export const status = (res: Response) => parseCacheStatus(res.headers.get('cache-status')).at(-1);
