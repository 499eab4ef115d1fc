/**
 * The request target a proxy accepts (RFC 9112 §3.2): origin form, or absolute form reduced to its path and
 * query — never a way to reach another host. Dot segments are refused rather than resolved, so that a request
 * can never climb out of the upstream's base path (`/api/../admin`), whatever the origin would make of it.
 */

/** The origin-form target, or why the target is refused. */
export function requestTarget(raw: string): string | { error: string } {
  let target = raw;
  if (!target.startsWith('/')) {
    // Absolute form: only its path and query count; the proxy has one upstream.
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return { error: 'the request target must be a path such as /items?page=2' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return { error: 'the request target must be a path such as /items?page=2' };
    target = url.pathname + url.search;
  }
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  if (hasDotSegment(path)) return { error: 'the request path must not contain . or .. segments' };
  if (target.includes('#')) return { error: 'the request target must not contain a fragment (#)' };
  return target;
}

/** Whether a path has a `.` or `..` segment, also when percent-encoded (`%2e`, `%2E`). */
function hasDotSegment(path: string): boolean {
  if (!path.includes('.') && !path.includes('%')) return false; // the common case, without splitting
  for (const segment of path.split('/')) {
    const decoded = segment.replace(/%2e/gi, '.');
    if (decoded === '.' || decoded === '..') return true;
  }
  return false;
}
