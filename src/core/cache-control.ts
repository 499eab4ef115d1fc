/**
 * Cache-Control (RFC 9111 §5.2).
 *
 *   Cache-Control   = #cache-directive
 *   cache-directive = token [ "=" ( token / quoted-string ) ]
 *
 * Names are case-insensitive (§5.2). When a directive repeats, the first occurrence wins (§4.2.1 allows
 * "either the first occurrence ... or the response should be considered stale"; the first is the common choice).
 */

/** Directive name (lower case) → its argument, or `true` when it has none. */
export type CacheDirectives = Record<string, string | true>;

/** 2^31: the value a cache must use for delta-seconds too large to represent (RFC 9111 §1.2.2). */
export const DELTA_SECONDS_MAX = 2147483648;

/** tchar of RFC 9110 §5.6.2. */
export function isTchar(c: number): boolean {
  // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x27) ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5e ||
    c === 0x5f ||
    c === 0x60 ||
    c === 0x7c ||
    c === 0x7e
  );
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Parses a Cache-Control field value into a null-prototype record. Malformed directives are skipped up to the
 * next comma; a quoted-string argument may contain commas and backslash escapes.
 *
 * @example
 * parseCacheControl('Max-Age=60, private="set-cookie, x-a"') // { 'max-age': '60', private: 'set-cookie, x-a' }
 */
export function parseCacheControl(value: string | null | undefined): CacheDirectives {
  const out: CacheDirectives = Object.create(null);
  if (value == null) return out;
  const s = value;
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (isOws(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2c)) i++;
    const nameStart = i;
    while (i < s.length && isTchar(s.charCodeAt(i))) i++;
    const name = s.slice(nameStart, i).toLowerCase();
    while (i < s.length && isOws(s.charCodeAt(i))) i++;
    let arg: string | true = true;
    let valid = name.length > 0;
    if (s.charCodeAt(i) === 0x3d /* = */) {
      i++;
      while (i < s.length && isOws(s.charCodeAt(i))) i++;
      if (s.charCodeAt(i) === 0x22) {
        const quoted = scanQuotedString(s, i);
        if (quoted) {
          arg = quoted.text;
          i = quoted.end;
        } else valid = false;
      } else {
        const argStart = i;
        while (i < s.length && isTchar(s.charCodeAt(i))) i++;
        arg = s.slice(argStart, i);
        if (arg.length === 0) valid = false;
      }
      while (i < s.length && isOws(s.charCodeAt(i))) i++;
    }
    if (i < s.length && s.charCodeAt(i) !== 0x2c) {
      valid = false;
      // skip the rest of this malformed directive, honouring quotes
      let quoted = false;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c === 0x5c && quoted) i++;
        else if (c === 0x22) quoted = !quoted;
        else if (c === 0x2c && !quoted) break;
      }
    }
    if (valid && !(name in out)) out[name] = arg;
  }
  return out;
}

/** HTAB / SP / VCHAR / obs-text: what a quoted-pair may escape, and so what a quoted-string can carry (§5.6.4). */
function isQuotable(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

/** Scans a quoted-string (§5.6.4) at `start`; returns its unescaped text and the index after it. */
function scanQuotedString(s: string, start: number): { text: string; end: number } | undefined {
  let text = '';
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return { text, end: i + 1 };
    if (c === 0x5c) {
      i++;
      if (i >= s.length || !isQuotable(s.charCodeAt(i))) return undefined;
      text += s[i];
    } else if (isQuotable(c)) text += s[i];
    else return undefined;
  }
  return undefined;
}

/**
 * Reads a delta-seconds argument (RFC 9111 §1.2.2): a non-negative integer. Returns undefined when the
 * directive is absent or its argument is not delta-seconds; values past 2^31 become 2^31.
 */
export function deltaSeconds(directives: CacheDirectives, name: string): number | undefined {
  const arg = directives[name];
  if (typeof arg !== 'string' || !/^\d+$/.test(arg)) return undefined;
  const n = Number(arg);
  return Math.min(n, DELTA_SECONDS_MAX);
}

/**
 * Field names carried by a qualified `no-cache` or `private` directive (RFC 9111 §5.2.2.4, §5.2.2.7),
 * lower-cased. An unqualified directive returns undefined.
 */
export function directiveFieldNames(directives: CacheDirectives, name: string): string[] | undefined {
  const arg = directives[name];
  if (typeof arg !== 'string') return undefined;
  return arg
    .split(',')
    .map((f) => f.trim().toLowerCase())
    .filter((f) => f.length > 0);
}

/**
 * Directives whose argument a sender should always quote, even a single field name (RFC 9111 §5.2.2.4 no-cache,
 * §5.2.2.7 private: "A sender SHOULD NOT generate the token form").
 */
const QUOTED_FORM = new Set(['no-cache', 'private']);

/**
 * Formats directives back into a field value, quoting arguments that are not tokens and those of no-cache and
 * private. Throws a TypeError when a name is not a token or an argument holds a character no quoted-string can
 * carry (§5.6.2, §5.6.4).
 *
 * @example
 * formatCacheControl({ 'max-age': '60', 'no-cache': 'set-cookie' }) // 'max-age=60, no-cache="set-cookie"'
 */
export function formatCacheControl(directives: CacheDirectives): string {
  const parts: string[] = [];
  for (const [name, arg] of Object.entries(directives)) {
    if (!isToken(name))
      throw new TypeError(
        `Cache-Control directive name ${JSON.stringify(name)} is not a token (RFC 9110 §5.6.2)`,
      );
    if (arg === true) parts.push(name);
    else if (isToken(arg) && !QUOTED_FORM.has(name.toLowerCase())) parts.push(`${name}=${arg}`);
    else {
      for (let i = 0; i < arg.length; i++) {
        if (!isQuotable(arg.charCodeAt(i))) {
          throw new TypeError(
            `Cache-Control ${name} argument ${JSON.stringify(arg)} has character ${JSON.stringify(arg[i])} ` +
              `at ${i}, which no quoted-string can carry (RFC 9110 §5.6.4)`,
          );
        }
      }
      parts.push(`${name}="${arg.replace(/["\\]/g, '\\$&')}"`);
    }
  }
  return parts.join(', ');
}

/** A token of RFC 9110 §5.6.2: one or more tchar. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false;
  return true;
}
