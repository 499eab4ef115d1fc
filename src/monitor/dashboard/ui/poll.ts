/**
 * Live data for a view: the resource is asked for every `pollMs` while the tab is visible (with If-None-Match,
 * see api.ts), at once when the tab comes back, and on demand after the page changed something.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, config, getConditional } from './api.ts';

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** Asks again now (after a change made from the page). */
  refresh: () => void;
}

export function usePoll<T>(path: string): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const tick = useRef<() => void>(() => {});

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight = false;
    let again = false;
    let first = true;
    setData(undefined);
    setError(undefined);
    const run = async () => {
      clearTimeout(timer);
      if (stopped) return;
      if (inFlight) {
        again = true; // asked again while a poll was out: that answer may predate the change
        return;
      }
      inFlight = true;
      try {
        const { changed, body } = await getConditional<T>(path);
        // A 304 on the first poll of a view still hands over the body kept from before.
        if (!stopped && (changed || first)) setData(body);
        first = false;
        if (!stopped) setError(undefined);
      } catch (e) {
        if (!stopped) setError(e instanceof ApiError ? e : new ApiError(0, 'the dashboard does not answer'));
      } finally {
        inFlight = false;
        if (again) {
          again = false;
          void run();
        } else if (!stopped && document.visibilityState === 'visible') timer = setTimeout(run, config.pollMs);
      }
    };
    const onVisible = () => {
      if (document.visibilityState === 'visible') void run();
    };
    tick.current = () => void run();
    document.addEventListener('visibilitychange', onVisible);
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [path]);

  const refresh = useCallback(() => tick.current(), []);
  return { data, error, refresh };
}

/** The current time, updated every 15 s, so "3 min ago" stays true without asking the server. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}
