/**
 * Cache-Control advice (RFC 9111): say what you mean instead of leaving caches to guess; `no-cache` rather than
 * `max-age=0`; `immutable` for fingerprinted assets (RFC 8246); `private` for responses that set cookies. The
 * client's RFC 9111 policy answers "what would a cache do with this?".
 */
import { freshnessLifetime, isStorable } from '../../client/policy.ts';
import { deltaSeconds, directiveFieldNames, parseCacheControl } from '../../core/index.ts';
import { evidence, type Finding, field, finding } from '../report.ts';
import { lines, type Observations } from './observations.ts';

const SHOWN = ['cache-control', 'expires', 'last-modified', 'set-cookie'];

export function checkCacheControl(o: Observations): Finding[] {
  const out: Finding[] = [];
  const headers = o.baseline.response.headers;
  const cacheControl = field(headers, 'cache-control');
  const cc = parseCacheControl(cacheControl);
  const ev = evidence(o.baseline, SHOWN);

  if (cacheControl === undefined && field(headers, 'expires') === undefined) {
    const { seconds, source } = freshnessLifetime(200, lines(headers), o.now, { shared: true });
    out.push(
      finding(
        'cache-control-missing',
        source === 'heuristic'
          ? `no Cache-Control or Expires: caches may reuse it for ${Math.round(seconds)} s without asking (10% of its age)`
          : 'no Cache-Control or Expires: each cache decides by its own rules whether and how long to reuse it',
        ev,
      ),
    );
  }

  if (
    deltaSeconds(cc, 'max-age') === 0 &&
    !('must-revalidate' in cc) &&
    !('no-cache' in cc) &&
    !('no-store' in cc)
  )
    out.push(
      finding(
        'max-age-zero',
        'max-age=0 alone lets a cache serve the stale copy when it cannot reach the server; use no-cache',
        ev,
      ),
    );

  const path = new URL(o.baseline.request.url).pathname;
  if (looksFingerprinted(path) && !('immutable' in cc) && !('no-store' in cc))
    out.push(
      finding(
        'immutable-missing',
        `${path.split('/').pop()} looks fingerprinted (its name changes with its content), yet it is not marked immutable`,
        ev,
      ),
    );

  const storable = isStorable('GET', {}, 200, lines(headers), { shared: true }).storable;
  const cookieGuarded = directiveFieldNames(cc, 'no-cache')?.includes('set-cookie') ?? false;
  if (field(headers, 'set-cookie') !== undefined && storable && !cookieGuarded)
    out.push(
      finding(
        'private-missing',
        // Unqualified no-cache does not help: a shared cache revalidates, gets a 304, and serves the stored cookie.
        'the response sets a cookie, and a shared cache may store it and serve it to other users (Cache-Control has no private or no-store)',
        ev,
      ),
    );
  return out;
}

/**
 * Whether the last path segment carries a content hash: a dot- or dash-separated part of 8+ characters, hex
 * with a digit and a letter (`main.3f9a1c2b.js`), or base64url with a digit and both cases (`index-BxZ3k9aQ.js`).
 * Only file names with an extension count, so `/users/12345678` does not.
 */
export function looksFingerprinted(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return false;
  return name
    .slice(0, dot)
    .split(/[.-]/)
    .some((part) => {
      if (part.length < 8 || !/\d/.test(part)) return false;
      if (/^[0-9a-f]+$/i.test(part)) return /[a-f]/i.test(part);
      return /^[A-Za-z0-9_]+$/.test(part) && /[a-z]/.test(part) && /[A-Z]/.test(part);
    });
}
