/**
 * The page's side of the API. Reads are conditional: the page keeps each resource's ETag and sends it back as
 * If-None-Match, so while the history does not move every poll is a 304 with no body, nothing is parsed and
 * nothing re-renders. The token (when the dashboard has one) goes in an Authorization header the page sets
 * itself — never in a cookie, which a browser would attach to a forged cross-site request.
 */

export interface Config {
  mode: 'live' | 'read-only';
  pollMs: number;
  tokenRequired: boolean;
}

export const config: Config = JSON.parse(document.body.dataset.config ?? '{}');

const TOKEN_KEY = 'etagkit-dashboard-token';

/** A token given in the address (`/#token=…`) is kept for this tab and removed from the address bar. */
export function takeTokenFromAddress(): void {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]!));
  history.replaceState(null, '', location.pathname + location.search);
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

function authHeaders(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** A failed request, with the problem's detail when the server sent one (RFC 9457). */
export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function problemOf(response: Response): Promise<ApiError> {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (typeof body?.detail === 'string') detail = body.detail;
  } catch {}
  return new ApiError(response.status, detail);
}

/** How the page's polls were answered since it was opened: shown in the header. */
export const pollStats = { polls: 0, notModified: 0, listeners: new Set<() => void>() };

function countPoll(notModified: boolean): void {
  pollStats.polls++;
  if (notModified) pollStats.notModified++;
  for (const listener of pollStats.listeners) listener();
}

const etags = new Map<string, { etag: string; body: unknown }>();

/**
 * GET with If-None-Match: resolves `{ changed: false }` on a 304, or the new body. `cache: 'no-store'` keeps
 * the browser's own cache out of the way, so a 304 reaches this code as a 304.
 */
export async function getConditional<T>(path: string): Promise<{ changed: boolean; body: T }> {
  const known = etags.get(path);
  const response = await fetch(path, {
    cache: 'no-store',
    headers: { ...authHeaders(), ...(known ? { 'if-none-match': known.etag } : {}) },
  });
  if (response.status === 304 && known) {
    countPoll(true);
    return { changed: false, body: known.body as T };
  }
  if (!response.ok) throw await problemOf(response);
  countPoll(false);
  const body = (await response.json()) as T;
  const etag = response.headers.get('etag');
  if (etag) etags.set(path, { etag, body });
  return { changed: true, body };
}

/** A change (POST, PATCH, DELETE) as JSON; throws ApiError with the server's explanation. */
export async function send(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(path, {
    method,
    cache: 'no-store',
    headers: {
      ...authHeaders(),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (!response.ok) throw await problemOf(response);
  return response.status === 204 ? undefined : response.json();
}
