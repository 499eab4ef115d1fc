/**
 * Who may use the dashboard. Three checks, each answering one attack:
 * - the token (when one is set, always when listening beyond loopback): compared in constant time over SHA-256
 *   digests, so neither its content nor its length leaks through timing;
 * - the Host header, when no token is set: only loopback names, on the port the request came in on (or none),
 *   so a web page that rebinds its own DNS name to 127.0.0.1 cannot read the dashboard through the victim's
 *   browser;
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
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (LOOPBACK_NAMES.has(bare.toLowerCase())) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  // Every spelling of ::1 (0:0:0:0:0:0:0:1, ::0:1); the URL parser refuses zone ids and writes the short form.
  if (isIP(bare) === 6 && /^[\d.:a-f]+$/i.test(bare))
    return new URL(`http://[${bare}]/`).hostname === '[::1]';
  return false;
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
    const host = parseHostHeader(req.headers.host);
    const localPort = req.socket?.localPort;
    if (
      host === undefined ||
      !isLoopback(host.name) ||
      (host.port !== undefined && localPort !== undefined && host.port !== localPort)
    )
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
    // Scheme and host compare case-insensitively (RFC 3986 §6.2.2.1); the port and the rest exactly.
    const own = origin?.toLowerCase();
    const addressed = host?.toLowerCase();
    if (addressed === undefined || (own !== `http://${addressed}` && own !== `https://${addressed}`))
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

/**
 * A Host header split into name and port (RFC 9110 §7.2: uri-host [":" port]), or undefined when it is not one:
 * userinfo, percent-encoding, a zone id, an empty or non-numeric port, anything after the port. Strict on
 * purpose: the name decides whether a request is served, so nothing may hide beside it.
 */
function parseHostHeader(header: string | undefined): { name: string; port: number | undefined } | undefined {
  if (!header) return undefined;
  let name: string;
  let rest: string;
  if (header.startsWith('[')) {
    const end = header.indexOf(']');
    if (end < 0) return undefined;
    name = header.slice(0, end + 1);
    if (isIP(header.slice(1, end)) !== 6) return undefined;
    rest = header.slice(end + 1);
  } else {
    const colon = header.indexOf(':');
    name = colon < 0 ? header : header.slice(0, colon);
    rest = colon < 0 ? '' : header.slice(colon);
    if (!/^[a-z\d.-]+$/i.test(name)) return undefined;
  }
  if (rest === '') return { name, port: undefined };
  if (!/^:\d{1,5}$/.test(rest)) return undefined;
  return { name, port: Number(rest.slice(1)) };
}
