/**
 * Byte ranges (RFC 9110 §14).
 *
 *   Range         = ranges-specifier = range-unit "=" range-set
 *   range-set     = 1#range-spec
 *   range-spec    = int-range / suffix-range / other-range
 *   Content-Range = range-unit SP ( range-resp / unsatisfied-range )
 */

/** A satisfiable byte range, both ends inclusive, resolved against a known length. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A range-spec as written by the client, before it is resolved against the representation length. */
export type RangeSpec = { first: number; last?: number } | { suffix: number };

/** More ranges than this in one request are treated as abuse and the Range field is ignored (§14.2 allows it). */
export const MAX_RANGES = 64;

/**
 * Parses a Range field of unit `bytes`. Returns undefined when the field is absent, uses another unit or is
 * syntactically invalid: the RFC says to ignore such a field (§14.2), which means serving the full 200.
 *
 * @example
 * parseRange('bytes=0-99, -10') // [{ first: 0, last: 99 }, { suffix: 10 }]
 * parseRange('bytes=9-0')       // undefined
 */
export function parseRange(value: string | null | undefined): RangeSpec[] | undefined {
  if (value == null) return undefined;
  const eq = value.indexOf('=');
  if (eq < 0 || value.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined;
  const specs: RangeSpec[] = [];
  for (const part of value.slice(eq + 1).split(',')) {
    const spec = part.trim();
    if (spec.length === 0) continue; // empty list elements are allowed (§5.6.1)
    const m = /^(\d*)-(\d*)$/.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return undefined;
    if (m[1] === '') {
      specs.push({ suffix: Number(m[2]) });
      continue;
    }
    const first = Number(m[1]);
    if (m[2] === '') {
      specs.push({ first });
      continue;
    }
    // §14.1.1: invalid if last-pos < first-pos (compared as digits: past 2^53 Numbers round to equal values).
    if (digitsLessThan(m[2]!, m[1]!)) return undefined;
    specs.push({ first, last: Number(m[2]) });
  }
  if (specs.length === 0 || specs.length > MAX_RANGES) return undefined;
  return specs;
}

/** Compares two non-negative decimal integers written as digits, of any length. */
function digitsLessThan(a: string, b: string): boolean {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  return x.length !== y.length ? x.length < y.length : x < y;
}

/**
 * Resolves range-specs against a representation of `length` bytes (§14.1.1). Unsatisfiable specs are dropped;
 * an empty result means 416. Overlapping or adjacent ranges are coalesced, in ascending order, as §14.2 permits,
 * so a client cannot make us send the same bytes many times.
 *
 * @example
 * resolveRanges(parseRange('bytes=0-99, 50-149')!, 1000) // [{ start: 0, end: 149 }]
 */
export function resolveRanges(specs: readonly RangeSpec[], length: number): ByteRange[] {
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    if ('suffix' in spec) {
      if (spec.suffix === 0 || length === 0) continue;
      ranges.push({ start: Math.max(0, length - spec.suffix), end: length - 1 });
    } else {
      if (spec.first >= length) continue;
      ranges.push({ start: spec.first, end: Math.min(spec.last ?? length - 1, length - 1) });
    }
  }
  if (ranges.length < 2) return ranges;
  const overlapping = ranges.some((a, i) =>
    ranges.some((b, j) => i !== j && a.start <= b.end + 1 && b.start <= a.end + 1),
  );
  if (!overlapping) return ranges;
  ranges.sort((a, b) => a.start - b.start);
  const merged: ByteRange[] = [ranges[0]!];
  for (const r of ranges.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else merged.push(r);
  }
  return merged;
}

/**
 * Formats Content-Range for a part (§14.4): `bytes 0-499/1234`. Throws a RangeError for positions that are not
 * byte counts (negative, fractional, past 2^53, where a Number no longer holds every integer and would be
 * written as `4.27e+24`) or that do not describe a part of `length` bytes.
 */
export function formatContentRange(range: ByteRange, length: number): string {
  if (!isBytePosition(range.start) || !isBytePosition(range.end) || !isBytePosition(length)) {
    throw new RangeError(
      `Content-Range needs whole byte positions up to 2^53-1, got ${range.start}-${range.end}/${length}`,
    );
  }
  if (range.start > range.end || range.end >= length) {
    throw new RangeError(
      `Content-Range ${range.start}-${range.end} is not a part of ${length} bytes (§14.4)`,
    );
  }
  return `bytes ${range.start}-${range.end}/${length}`;
}

/** Formats Content-Range for a 416 response (§15.5.17): `bytes *\/1234`. Throws a RangeError as above. */
export function formatUnsatisfiedRange(length: number): string {
  if (!isBytePosition(length))
    throw new RangeError(`Content-Range needs a whole byte length up to 2^53-1, got ${length}`);
  return `bytes */${length}`;
}

/** Whether a Number is an exact, non-negative byte position: an integer JavaScript represents exactly. */
function isBytePosition(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** A parsed Content-Range: a satisfied part, or the `*` form of a 416. `length` is undefined for `/*`. */
export type ContentRange =
  | { unsatisfied: false; start: number; end: number; length?: number }
  | { unsatisfied: true; length: number };

/**
 * Parses Content-Range (§14.4). Returns undefined when it is not a valid bytes Content-Range, and when a
 * position or length exceeds 2^53-1: such a number cannot be held exactly, so `end >= length` and the part's
 * size could not be checked (no representation that large exists to be cached anyway).
 *
 * @example
 * parseContentRange('bytes 0-99/1000') // { unsatisfied: false, start: 0, end: 99, length: 1000 }
 */
export function parseContentRange(value: string | null | undefined): ContentRange | undefined {
  if (value == null) return undefined;
  const s = value.trim();
  let m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/i.exec(s);
  if (m) {
    const start = Number(m[1]);
    const end = Number(m[2]);
    const length = m[3] === '*' ? undefined : Number(m[3]);
    if (!isBytePosition(start) || !isBytePosition(end) || !(length === undefined || isBytePosition(length)))
      return undefined;
    // §14.4: invalid if last-pos < first-pos or, with a known length, last-pos >= complete-length.
    if (end < start || (length !== undefined && end >= length)) return undefined;
    return length === undefined
      ? { unsatisfied: false, start, end }
      : { unsatisfied: false, start, end, length };
  }
  m = /^bytes \*\/(\d+)$/i.exec(s);
  if (m && isBytePosition(Number(m[1]))) return { unsatisfied: true, length: Number(m[1]) };
  return undefined;
}
