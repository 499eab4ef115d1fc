/** Numbers, times and decisions in words people read at a glance. Pure functions (tested in format.test.ts). */
import type { CheckRecord } from '../../types.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "4 min ago", "3 h ago", "yesterday", "12 d ago"; "in 5 min" for the future. */
export function relativeTime(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return '—';
  const delta = now - ms;
  const abs = Math.abs(delta);
  const say = (text: string) => (delta >= 0 ? `${text} ago` : `in ${text}`);
  if (abs < 45_000) return delta >= 0 ? 'just now' : 'in a moment';
  if (abs < HOUR) return say(`${Math.round(abs / MINUTE)} min`);
  if (abs < DAY) return say(`${Math.round(abs / HOUR)} h`);
  if (delta > 0 && abs < 2 * DAY) return 'yesterday';
  return say(`${Math.round(abs / DAY)} d`);
}

/** 1234567 → "1.2 MB" (decimal units, as HTTP byte counts are usually read). */
export function bytes(n: number): string {
  const sign = n < 0 ? '−' : '';
  let v = Math.abs(n);
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${sign}${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** 0.9731 → "97 %"; 0.996 → "99.6 %" (close to 100 % the tenth matters). */
export function percent(ratio: number): string {
  const p = ratio * 100;
  return `${p >= 99 && p < 100 ? p.toFixed(1) : Math.round(p)} %`;
}

/** 90000 → "1m 30s"; 7200000 → "2h". */
export function duration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join(' ') || '0s';
}

/** A check's decision in a sentence: what the server said and which stage of the monitor decided. */
export function explainCheck(
  c: Pick<CheckRecord, 'status' | 'httpStatus' | 'detectedBy' | 'reason' | 'truth' | 'error'>,
): string {
  if (c.status === 'error') return c.error ?? 'the check failed';
  const verified = c.truth ? ' An unconditional "truth" fetch verified the answer.' : '';
  switch (c.reason) {
    case 'false-304':
      return `The server answered 304 Not Modified, but the content had changed: a false 304. The URL is polled unconditionally from now on.${verified}`;
    case 'validator-unchanged':
      return `New content came under the same validator (${c.detectedBy === 'last-modified' ? 'Last-Modified' : 'ETag'}): the server's validators cannot be trusted.${verified}`;
    case 'etag-unstable':
      return 'The ETag changed but the bytes did not: not a change. If-None-Match is no longer sent for this URL.';
    case 'normalized':
      return 'The bytes changed, but not the watched part (after selector/pointer and ignore): not a change.';
    case 'refetch-after-304':
      return 'A 304 came for content not in the history, so it was fetched again unconditionally.';
    case 'options-changed':
      return "The watch's options changed, so its content was read anew.";
  }
  if (c.status === 'new') return 'First sighting of this content.';
  if (c.status === 'changed')
    return `The content changed (told by its ${decidedBy(c.detectedBy)}).${verified}`;
  if (c.detectedBy === '304')
    return c.truth
      ? `304 Not Modified.${verified}`
      : '304 Not Modified: the server confirmed nothing changed, no body sent.';
  return `Unchanged: a full response with the same ${decidedBy(c.detectedBy)}.${verified}`;
}

function decidedBy(detectedBy: CheckRecord['detectedBy']): string {
  switch (detectedBy) {
    case 'etag':
      return 'ETag';
    case 'last-modified':
      return 'Last-Modified date';
    case '304':
      return '304 answer';
    default:
      return 'content digest';
  }
}

/** A URL split for display: the host stands out, the rest follows. */
export function splitUrl(url: string): { host: string; rest: string } {
  try {
    const u = new URL(url);
    return { host: u.host, rest: `${u.pathname}${u.search}` };
  } catch {
    return { host: url, rest: '' };
  }
}
