/**
 * Strong entity-tags and content codings (RFC 9110 §8.8.3, §8.4).
 *
 * A strong tag names one exact byte sequence, so when a compression middleware gzips a response whose tag was
 * computed for the identity bytes, the tag must change: `"abc"` becomes `"abc-gzip"`. Clients then send the
 * suffixed form back in If-None-Match / If-Match; `normalizeConditionalHeaders` strips the suffix before the
 * comparison so that a compressed client still gets its 304 (and its If-Match still holds).
 */
import {
  type EntityTag,
  getHeader,
  type HeaderSource,
  parseEntityTag,
  parseEntityTagList,
} from '../core/index.ts';

/** Content codings a compression middleware may apply (the HTTP Content Coding Registry, §8.4.1). */
const CODINGS: ReadonlySet<string> = new Set(['gzip', 'x-gzip', 'br', 'deflate', 'zstd', 'compress']);

/**
 * The tag to send with a body in `contentEncoding`: a strong tag gets the coding as a suffix; weak tags, the
 * identity coding and tags that already carry the suffix are returned unchanged.
 *
 * @example
 * tagForEncoding('"v42"', 'gzip')   // '"v42-gzip"'
 * tagForEncoding('W/"v42"', 'gzip') // 'W/"v42"'
 */
export function tagForEncoding(etag: string, contentEncoding: string | undefined): string {
  const coding = contentEncoding?.trim().toLowerCase();
  if (!coding || !CODINGS.has(coding)) return etag;
  const parsed = parseEntityTag(etag);
  if (!parsed || parsed.weak || parsed.tag.endsWith(`-${coding}`)) return etag;
  return `"${parsed.tag}-${coding}"`;
}

/** Request headers with encoding suffixes of the current tag removed, and the coding the client named. */
export interface NormalizedHeaders {
  headers: HeaderSource;
  /** The coding whose suffixed tag the client sent in If-None-Match, to echo it back on a 304. */
  coding?: string;
}

/**
 * Rewrites If-None-Match and If-Match so that `"abc-gzip"` compares equal to the current `"abc"`. Cheap when
 * nothing needs rewriting: the headers are returned as they are unless they contain the current tag followed
 * by `-`.
 */
export function normalizeConditionalHeaders(
  headers: HeaderSource,
  current: EntityTag | undefined,
): NormalizedHeaders {
  if (current === undefined) return { headers };
  const prefix = `"${current.tag}-`;
  const ifNoneMatch = getHeader(headers, 'if-none-match');
  const ifMatch = getHeader(headers, 'if-match');
  const inm = ifNoneMatch?.includes(prefix) ? stripSuffixes(ifNoneMatch, current.tag) : undefined;
  const im = ifMatch?.includes(prefix) ? stripSuffixes(ifMatch, current.tag) : undefined;
  if (!inm?.coding && !im?.coding) return { headers };
  const rewritten: HeaderSource = {
    get(name: string): string | null {
      if (name === 'if-none-match' && inm) return inm.value;
      if (name === 'if-match' && im) return im.value;
      return getHeader(headers, name) ?? null;
    },
  };
  return { headers: rewritten, coding: inm?.coding };
}

/** Replaces every `<tag>-<coding>` member of an entity-tag list by `<tag>`. */
function stripSuffixes(value: string, tag: string): { value: string; coding?: string } {
  const list = parseEntityTagList(value);
  if (list === '*') return { value };
  let coding: string | undefined;
  const members = list.map((member) => {
    const suffix = member.tag.startsWith(`${tag}-`) ? member.tag.slice(tag.length + 1) : '';
    if (!CODINGS.has(suffix)) return member;
    coding ??= suffix;
    return { weak: member.weak, tag };
  });
  if (coding === undefined) return { value };
  return { value: members.map((m) => `${m.weak ? 'W/' : ''}"${m.tag}"`).join(', '), coding };
}
