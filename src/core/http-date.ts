/**
 * HTTP dates (RFC 9110 §5.6.7). Exactly three formats are accepted, case-sensitively:
 *
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime-date Sun Nov  6 08:49:37 1994
 *
 * Anything else is not a date (no `Date.parse` leniency): callers then ignore the field as the RFC says.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SHORT_DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const LONG_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const IMF_FIXDATE = /^([A-Z][a-z]{2}), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE = /^([A-Z][a-z]{5,8}), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^([A-Z][a-z]{2}) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/** Longest valid HTTP-date is the rfc850 form with "Wednesday": anything longer is rejected without a regex. */
const MAX_DATE_LENGTH = 40;

/**
 * Parses an HTTP-date. Returns undefined for anything that is not one of the three formats or not a real
 * calendar time. `now` resolves two-digit rfc850 years (§5.6.7: a year more than 50 years in the future is
 * the most recent past year with the same last two digits).
 */
export function parseHttpDate(value: string | null | undefined, now: number = Date.now()): Date | undefined {
  if (value == null) return undefined;
  const s = value.trim();
  if (s.length === 0 || s.length > MAX_DATE_LENGTH) return undefined;
  let m = IMF_FIXDATE.exec(s);
  if (m) {
    if (!SHORT_DAYS.includes(m[1]!)) return undefined;
    return build(+m[4]!, m[3]!, +m[2]!, +m[5]!, +m[6]!, +m[7]!);
  }
  m = RFC850_DATE.exec(s);
  if (m) {
    if (!LONG_DAYS.includes(m[1]!)) return undefined;
    return build(fullYear(+m[4]!, now), m[3]!, +m[2]!, +m[5]!, +m[6]!, +m[7]!);
  }
  m = ASCTIME_DATE.exec(s);
  if (m) {
    if (!SHORT_DAYS.includes(m[1]!) || m[3]![1] === ' ') return undefined;
    return build(+m[7]!, m[2]!, +m[3]!.trim(), +m[4]!, +m[5]!, +m[6]!);
  }
  return undefined;
}

function fullYear(twoDigits: number, now: number): number {
  const current = new Date(now).getUTCFullYear();
  let year = current - (current % 100) + twoDigits;
  if (year > current + 50) year -= 100;
  return year;
}

function build(year: number, monthName: string, day: number, hour: number, minute: number, second: number) {
  const month = MONTHS.indexOf(monthName);
  // second 60 is allowed by the grammar (leap second) and folds into the next minute.
  if (month < 0 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  if (day > daysInMonth(year, month)) return undefined;
  return new Date(Date.UTC(year, month, day, hour, minute, second));
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/**
 * Formats a date as IMF-fixdate, the only format a sender may generate (§5.6.7). Sub-second precision is
 * dropped: HTTP dates have one-second resolution.
 */
export function formatHttpDate(date: Date | number): string {
  const ms = typeof date === 'number' ? date : date.getTime();
  if (!Number.isFinite(ms))
    throw new RangeError(`cannot format an invalid date (${String(date)}) as an HTTP-date`);
  // toUTCString() emits IMF-fixdate in every current engine; years outside 0000-9999 are not HTTP-dates.
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`year ${year} cannot be written as an HTTP-date`);
  return d.toUTCString();
}

/** Truncates a time to whole seconds, the resolution at which HTTP dates compare. */
export function toHttpSeconds(date: Date | number): number {
  const ms = typeof date === 'number' ? date : date.getTime();
  return Math.floor(ms / 1000);
}
