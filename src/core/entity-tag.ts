/**
 * Entity tags (RFC 9110 §8.8.3).
 *
 *   entity-tag = [ weak ] opaque-tag
 *   weak       = %s"W/"
 *   opaque-tag = DQUOTE *etagc DQUOTE
 *   etagc      = %x21 / %x23-7E / obs-text
 */

export interface EntityTag {
  /** `W/` prefix: the tag names an equivalent representation, not an exact byte sequence (§8.8.1). */
  weak: boolean;
  /** The characters between the quotes. */
  tag: string;
}

/** A list member or the `*` wildcard, as found in If-Match / If-None-Match (§13.1.1, §13.1.2). */
export type EntityTagList = '*' | EntityTag[];

const DQUOTE = 0x22;
const COMMA = 0x2c;

function isEtagc(c: number): boolean {
  // %x21 / %x23-7E / obs-text (%x80-FF). Strings from Headers are latin1, so > 0xff never happens there.
  return c === 0x21 || (c >= 0x23 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Scans one entity-tag starting at `start`. Returns the tag and the index after it, or undefined when the text
 * there is not an entity-tag.
 */
function scanEntityTag(s: string, start: number): { etag: EntityTag; end: number } | undefined {
  let i = start;
  let weak = false;
  if (s.charCodeAt(i) === 0x57 /* W */ && s.charCodeAt(i + 1) === 0x2f /* / */) {
    weak = true;
    i += 2;
  }
  if (s.charCodeAt(i) !== DQUOTE) return undefined;
  const open = ++i;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === DQUOTE) return { etag: { weak, tag: s.slice(open, i) }, end: i + 1 };
    if (!isEtagc(c)) return undefined;
  }
  return undefined; // no closing quote
}

/**
 * Parses a single entity-tag such as `"abc"` or `W/"abc"` (surrounding whitespace allowed).
 * Returns undefined for anything else — an ETag that does not parse is no validator at all.
 *
 * @example
 * parseEntityTag('W/"v1"') // { weak: true, tag: 'v1' }
 * parseEntityTag('v1')     // undefined
 */
export function parseEntityTag(value: string | null | undefined): EntityTag | undefined {
  if (value == null) return undefined;
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  const scanned = scanEntityTag(value, start);
  return scanned && scanned.end === end ? scanned.etag : undefined;
}

/**
 * Formats an entity-tag for a header. Accepts an EntityTag or the bare tag characters.
 * Throws a TypeError naming the offending character when the tag cannot be sent (§8.8.3 etagc).
 *
 * @example
 * formatEntityTag('v1', { weak: true }) // 'W/"v1"'
 */
export function formatEntityTag(etag: EntityTag | string, options: { weak?: boolean } = {}): string {
  const { tag, weak } = typeof etag === 'string' ? { tag: etag, weak: options.weak ?? false } : etag;
  for (let i = 0; i < tag.length; i++) {
    const c = tag.charCodeAt(i);
    if (!isEtagc(c)) {
      throw new TypeError(
        `entity-tag ${JSON.stringify(tag)} has character ${JSON.stringify(tag[i])} at ${i}; ` +
          'allowed are visible ASCII except the double quote (RFC 9110 §8.8.3)',
      );
    }
  }
  return (weak ? 'W/"' : '"') + tag + '"';
}

/**
 * Parses the value of If-Match or If-None-Match (§13.1.1, §13.1.2): either `*` alone or a comma-separated list
 * of entity-tags. A tag may itself contain commas, so the list is scanned, never split. Members that are not
 * valid entity-tags are skipped, as are empty list elements (§5.6.1).
 *
 * @example
 * parseEntityTagList('"a,b", W/"c", junk') // [{ weak: false, tag: 'a,b' }, { weak: true, tag: 'c' }]
 * parseEntityTagList('*')                  // '*'
 */
export function parseEntityTagList(value: string | null | undefined): EntityTagList {
  const tags: EntityTag[] = [];
  if (value == null) return tags;
  const s = value;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === COMMA || isOws(c)) {
      i++;
      continue;
    }
    if (c === 0x2a /* * */) {
      let j = i + 1;
      while (j < s.length && isOws(s.charCodeAt(j))) j++;
      // `*` is only meaningful as the whole field value (§13.1.1: "*" / #entity-tag).
      if (j === s.length && tags.length === 0 && onlyListSeparatorsBefore(s, i)) return '*';
      i = skipInvalidMember(s, i);
      continue;
    }
    const scanned = scanEntityTag(s, i);
    if (scanned) {
      let j = scanned.end;
      while (j < s.length && isOws(s.charCodeAt(j))) j++;
      if (j === s.length || s.charCodeAt(j) === COMMA) {
        tags.push(scanned.etag);
        i = j;
        continue;
      }
    }
    i = skipInvalidMember(s, i);
  }
  return tags;
}

function onlyListSeparatorsBefore(s: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isOws(c)) return false;
  }
  return true;
}

/** Skips an invalid list member up to the next comma that is outside a quoted tag. */
function skipInvalidMember(s: string, i: number): number {
  let quoted = false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === DQUOTE) quoted = !quoted;
    else if (c === COMMA && !quoted) return i + 1;
  }
  return i;
}

function toEntityTag(etag: EntityTag | string): EntityTag | undefined {
  return typeof etag === 'string' ? parseEntityTag(etag) : etag;
}

/**
 * Strong comparison (§8.8.3.2): both tags are strong and their characters are identical.
 * Used by If-Match and If-Range. Strings are parsed as header values; unparsable ones never match.
 *
 * @example
 * strongCompare('"1"', '"1"')   // true
 * strongCompare('W/"1"', '"1"') // false
 */
export function strongCompare(a: EntityTag | string, b: EntityTag | string): boolean {
  const x = toEntityTag(a);
  const y = toEntityTag(b);
  return x !== undefined && y !== undefined && !x.weak && !y.weak && x.tag === y.tag;
}

/**
 * Weak comparison (§8.8.3.2): the tag characters are identical, whatever the W/ prefixes.
 * Used by If-None-Match.
 *
 * @example
 * weakCompare('W/"1"', '"1"') // true
 */
export function weakCompare(a: EntityTag | string, b: EntityTag | string): boolean {
  const x = toEntityTag(a);
  const y = toEntityTag(b);
  return x !== undefined && y !== undefined && x.tag === y.tag;
}
