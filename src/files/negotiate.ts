/**
 * Content-coding negotiation (RFC 9110 §12.5.3 Accept-Encoding).
 *
 *   Accept-Encoding = #( codings [ weight ] )
 *   codings         = content-coding / "identity" / "*"
 *   weight          = OWS ";" OWS "q=" qvalue
 */

export type ContentCoding = 'br' | 'gzip';

/** Codings we can produce, in our order of preference when the client weighs them equally. */
const PREFERENCE: readonly ContentCoding[] = ['br', 'gzip'];

/**
 * Parses Accept-Encoding into coding → qvalue (names lower-case; `x-gzip` is gzip, §8.4.1.3).
 * Members that do not parse are ignored.
 */
export function parseAcceptEncoding(value: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const member of value.split(',')) {
    const [rawName, ...params] = member.split(';');
    let name = rawName!.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'x-gzip') name = 'gzip';
    let q = 1;
    for (const param of params) {
      const m = /^\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/i.exec(param);
      if (m) q = Number(m[1]);
      else q = Number.NaN; // a malformed weight makes the member invalid
    }
    if (!Number.isNaN(q) && !weights.has(name)) weights.set(name, q);
  }
  return weights;
}

/**
 * Picks the best coding among `available` that the client accepts with q > 0, or undefined for identity.
 * Without an Accept-Encoding field we send identity: most clients that omit it cannot decode anything else.
 */
export function selectCoding(
  acceptEncoding: string | undefined,
  available: readonly ContentCoding[] = PREFERENCE,
): ContentCoding | undefined {
  if (!acceptEncoding) return undefined;
  const weights = parseAcceptEncoding(acceptEncoding);
  const wildcard = weights.get('*');
  let best: ContentCoding | undefined;
  let bestQ = 0;
  for (const coding of PREFERENCE) {
    if (!available.includes(coding)) continue;
    const q = weights.get(coding) ?? wildcard ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}
