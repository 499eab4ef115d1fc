import { isToken } from '../core/cache-control.ts';

/**
 * `new Headers(init)`, but a field Headers refuses is named and its value never shown: Headers' own TypeError
 * quotes the value, which may be a credential (Authorization, Cookie) on its way into a log. `who` prefixes the
 * message.
 */
export function requestHeaders(init: HeadersInit | undefined, who: string): Headers {
  try {
    return new Headers(init);
  } catch {
    const entries: Iterable<readonly [string, string]> =
      init === undefined || init instanceof Headers
        ? []
        : Symbol.iterator in init
          ? (init as Iterable<readonly [string, string]>)
          : Object.entries(init);
    let n = 0;
    for (const [name, value] of entries) {
      n++;
      // RFC 9110 §5.1: a name is a token. One that is not may be a whole `Authorization: …` line: not shown.
      if (!isToken(String(name)))
        throw new TypeError(`${who}: request header ${n} has a name that is not a token (not shown)`);
      // RFC 9110 §5.5: no CR, LF or NUL in a field value (Headers trims the whitespace around it).
      if (/[\r\n\0]/.test(String(value).trim()))
        throw new TypeError(
          `${who}: the value of the ${String(name).toLowerCase()} header has a CR, LF or NUL in it (the value is not shown)`,
        );
    }
    throw new TypeError(`${who}: a request header is not valid (the values are not shown)`);
  }
}
