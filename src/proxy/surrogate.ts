/**
 * Surrogate-Control (W3C Edge Architecture Specification 1.0, https://www.w3.org/TR/edge-arch/): an origin's
 * directives for the surrogates acting on its behalf. The proxy is such a surrogate: it announces itself upstream
 * with Surrogate-Capability (§2.1) under the device token `etagkit`, honours the `max-age` and `no-store`
 * directives aimed at it (§2.2, §2.3), and removes the field from what it sends downstream (§2.2: the field is
 * meant for surrogates only). The private client cache never reads it.
 *
 * Rather than teach the RFC 9111 policy a second field, `policyLines` rewrites a response's header lines into the
 * Cache-Control the policy already understands: a targeted `max-age` or `no-store` replaces Cache-Control and
 * Expires for the proxy's own storing and freshness (Age still counts, RFC 9111 §4.2.3).
 */
import { fieldValue, type HeaderLines } from '../client/policy.ts';
import { DELTA_SECONDS_MAX, isTchar, parseCacheControl } from '../core/cache-control.ts';

/** This proxy's device token in Surrogate-Capability and in `;target` of Surrogate-Control (§2.1, §2.3). */
export const DEVICE_TOKEN = 'etagkit';

/** What the proxy announces upstream (§2.1): it understands Surrogate-Control as §2.2 defines it. */
export const SURROGATE_CAPABILITY = `${DEVICE_TOKEN}="Surrogate/1.0"`;

/** One directive of Surrogate-Control: lower-case name, its value (unquoted) and the device it targets. */
export interface SurrogateDirective {
  name: string;
  value?: string;
  target?: string;
}

/** The end of the token starting at `i` (i itself when there is none). */
function tokenEnd(value: string, i: number): number {
  while (i < value.length && isTchar(value.charCodeAt(i))) i++;
  return i;
}

/** Past the next comma outside a quoted string, from `i` (a malformed element is skipped this way). */
function skipElement(value: string, i: number): number {
  let quoted = false;
  for (; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) return i + 1;
  }
  return i;
}

function skipSpace(value: string, i: number): number {
  while (i < value.length && (value[i] === ' ' || value[i] === '\t')) i++;
  return i;
}

/**
 * The directives of a Surrogate-Control value (§2.2): a comma-separated list of `name[=value][;device-token]`,
 * the value a token or a quoted-string. No whitespace around `=` (the grammar has none); an element that does not
 * fit is skipped, the rest still count. One pass, no backtracking: each character is read a bounded number of
 * times.
 *
 * @example
 * parseSurrogateControl('max-age=60;etagkit, no-store;other');
 * // → [{ name: 'max-age', value: '60', target: 'etagkit' }, { name: 'no-store', target: 'other' }]
 */
export function parseSurrogateControl(value: string): SurrogateDirective[] {
  const out: SurrogateDirective[] = [];
  let i = 0;
  while (i < value.length) {
    i = skipSpace(value, i);
    if (value[i] === ',') {
      i++;
      continue;
    }
    const nameEnd = tokenEnd(value, i);
    if (nameEnd === i) {
      i = skipElement(value, i);
      continue;
    }
    const directive: SurrogateDirective = { name: value.slice(i, nameEnd).toLowerCase() };
    i = nameEnd;
    if (value[i] === '=') {
      i++;
      if (value[i] === '"') {
        let text = '';
        let closed = false;
        for (i++; i < value.length; i++) {
          const c = value[i];
          if (c === '\\' && i + 1 < value.length) text += value[++i];
          else if (c === '"') {
            closed = true;
            i++;
            break;
          } else text += c;
        }
        if (!closed) break; // an unterminated quoted-string runs to the end: nothing more to read
        directive.value = text;
      } else {
        const end = tokenEnd(value, i);
        if (end === i) {
          i = skipElement(value, i);
          continue;
        }
        directive.value = value.slice(i, end);
        i = end;
      }
    }
    if (value[i] === ';') {
      const start = skipSpace(value, i + 1);
      const end = tokenEnd(value, start);
      if (end === start) {
        i = skipElement(value, i);
        continue;
      }
      directive.target = value.slice(start, end);
      i = end;
    }
    i = skipSpace(value, i);
    if (i < value.length && value[i] !== ',') {
      i = skipElement(value, i);
      continue;
    }
    out.push(directive);
    i++;
  }
  return out;
}

/** What Surrogate-Control tells this proxy about storing and freshness; undefined when it says nothing. */
export interface SurrogateRules {
  noStore: boolean;
  /** Freshness lifetime in seconds (§2.2.3), when given. */
  maxAge?: number;
}

/**
 * `N` or `N+M` of §2.2.3 → N seconds (the `+M` extension is not used), a greater value than 2^31 taken as 2^31 as
 * for Cache-Control (RFC 9111 §1.2.2); undefined when invalid.
 */
function maxAgeSeconds(value: string | undefined): number | undefined {
  const digits = /^(\d+)(?:\+\d+)?$/.exec(value ?? '')?.[1];
  return digits === undefined ? undefined : Math.min(Number(digits), DELTA_SECONDS_MAX);
}

/**
 * The rules aimed at this proxy (§2.3): directives without a target apply to every surrogate, those naming
 * `etagkit` (any case) to this one and, when there are any, replace the untargeted ones; those naming another
 * device are ignored.
 * Unknown directives (extensions, `content`, `no-store-remote`) are ignored.
 */
export function surrogateRules(lines: HeaderLines): SurrogateRules | undefined {
  const value = fieldValue(lines, 'surrogate-control');
  if (value === undefined) return undefined;
  const general: SurrogateRules = { noStore: false };
  const mine: SurrogateRules = { noStore: false };
  let targeted = false;
  for (const directive of parseSurrogateControl(value)) {
    const forMe = directive.target?.toLowerCase() === DEVICE_TOKEN;
    if (directive.target !== undefined && !forMe) continue;
    const rules = forMe ? mine : general;
    if (directive.name === 'no-store') rules.noStore = true;
    else if (directive.name === 'max-age') {
      const seconds = maxAgeSeconds(directive.value);
      if (seconds === undefined) continue;
      rules.maxAge = seconds;
    } else continue;
    if (forMe) targeted = true;
  }
  const rules = targeted ? mine : general;
  return rules.noStore || rules.maxAge !== undefined ? rules : undefined;
}

/**
 * The header lines the shared policy reads for the proxy's own storing and freshness: `lines` as they are, or —
 * when Surrogate-Control gives this proxy `max-age` or `no-store` — without Cache-Control and Expires, which it
 * overrides for surrogates (§2.2, §3), and with the equivalent Cache-Control instead (RFC 9111 §5.2.2.5, §5.2.2.1).
 */
export function policyLines(lines: HeaderLines): HeaderLines {
  const rules = surrogateRules(lines);
  if (!rules) return lines;
  // `private` is kept: one user's response never reaches another (RFC 9111 §5.2.2.7), whatever the surrogate
  // is told; a shared cache may not store it (§3.5).
  const isPrivate = 'private' in parseCacheControl(fieldValue(lines, 'cache-control'));
  const out = lines.filter(([name]) => name !== 'cache-control' && name !== 'expires');
  const directive = rules.noStore ? 'no-store' : `max-age=${rules.maxAge}`;
  out.push(['cache-control', isPrivate ? `${directive}, private` : directive]);
  return out;
}
