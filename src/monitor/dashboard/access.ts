/**
 * Who may use the dashboard. Three checks, each answering one attack:
 * - the token (when one is set, always when listening beyond loopback): compared in constant time over SHA-256
 *   digests, so neither its content nor its length leaks through timing;
 * - the Host header, when no token is set: only loopback names, so a web page that rebinds its own DNS name to
 *   127.0.0.1 cannot read the dashboard through the victim's browser;
 * - the Origin header on every state-changing request: it must be the dashboard's own origin, so another site
 *   cannot make the browser add, pause or remove watches (CSRF). The token travels in an Authorization header
 *   the page sets itself, never in a cookie a browser would attach to a forged request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export type Denial = { status: 401 | 403; title: string; detail: string };

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

export function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  return LOOPBACK_NAMES.has(bare.toLowerCase()) || (isIP(bare) === 4 && bare.startsWith('127.'));
}

export class Access {
  readonly #digest: Buffer | undefined;

  constructor(token: string | undefined) {
    this.#digest = token === undefined ? undefined : sha256(token);
  }

  get tokenRequired(): boolean {
    return this.#digest !== undefined;
  }

  /** Any request: the token when one is set, else a loopback Host. */
  check(req: IncomingMessage): Denial | undefined {
    if (this.#digest) {
      const given = bearer(req.headers.authorization);
      if (given === undefined || !timingSafeEqual(sha256(given), this.#digest))
        return {
          status: 401,
          title: 'Token required',
          detail:
            'this dashboard needs its token: send "Authorization: Bearer <token>", or open the page as /#token=<token>',
        };
      return undefined;
    }
    const host = hostName(req.headers.host);
    if (host === undefined || !isLoopback(host))
      return {
        status: 403,
        title: 'Host not allowed',
        detail: `this dashboard answers loopback names only (localhost, 127.0.0.1, [::1]), not ${JSON.stringify(req.headers.host ?? '')}; to serve it to other machines, start it with --ui-host and --ui-token`,
      };
    return undefined;
  }

  /**
   * A request that changes state: besides `check`, an Origin that is this dashboard's own (the Host the browser
   * addressed, over http, or https behind a TLS proxy). Browsers always send Origin on POST, PATCH and DELETE; a
   * request without it is refused rather than trusted.
   */
  checkWrite(req: IncomingMessage): Denial | undefined {
    const denied = this.check(req);
    if (denied) return denied;
    const { origin, host } = req.headers;
    if (host === undefined || (origin !== `http://${host}` && origin !== `https://${host}`))
      return {
        status: 403,
        title: 'Cross-origin request refused',
        detail: `changes are accepted from the dashboard's own page only (Origin ${JSON.stringify(origin ?? 'missing')}, expected "http://${req.headers.host ?? ''}")`,
      };
    return undefined;
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  return header.slice(space + 1).trim();
}

/** The host part of a Host header (`[::1]:8080` → `::1`, `localhost:80` → `localhost`). */
function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  if (header.startsWith('[')) {
    const end = header.indexOf(']');
    return end < 0 ? undefined : header.slice(1, end);
  }
  const colon = header.indexOf(':');
  return colon < 0 ? header : header.slice(0, colon);
}
