/**
 * HTTP dates (RFC 9110 §5.6.7). Exactly three formats are accepted, case-sensitively:
 *
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime-date Sun Nov  6 08:49:37 1994
 *
 * Anything else is not a date (no `Date.parse` leniency): callers then ignore the field as the RFC says. That
 * includes impossible calendar times (Feb 30, hour 24) and a day-name that contradicts the date.
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
 *
 * @example
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT') // 1994-11-06T08:49:37.000Z
 * parseHttpDate('1994-11-06T08:49:37Z')          // undefined
 */
export function parseHttpDate(value: string | null | undefined, now: number = Date.now()): Date | undefined {
  if (value == null) return undefined;
  const s = trimOws(value);
  if (s.length === 0 || s.length > MAX_DATE_LENGTH) return undefined;
  let m = IMF_FIXDATE.exec(s);
  if (m) return build(SHORT_DAYS.indexOf(m[1]!), +m[4]!, m[3]!, +m[2]!, +m[5]!, +m[6]!, +m[7]!);
  m = RFC850_DATE.exec(s);
  if (m) {
    const fields = [m[3]!, +m[2]!, +m[5]!, +m[6]!, +m[7]!] as const;
    return build(LONG_DAYS.indexOf(m[1]!), rfc850Year(+m[4]!, ...fields, now), ...fields);
  }
  m = ASCTIME_DATE.exec(s);
  if (m) return build(SHORT_DAYS.indexOf(m[1]!), +m[7]!, m[2]!, +m[3]!.trim(), +m[4]!, +m[5]!, +m[6]!);
  return undefined;
}

/** Removes OWS (SP / HTAB, §5.6.3) around a field value; other white space is not part of any HTTP-date. */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === ' ' || value[start] === '\t')) start++;
  while (end > start && (value[end - 1] === ' ' || value[end - 1] === '\t')) end--;
  return value.slice(start, end);
}

/**
 * §5.6.7: a two-digit rfc850 year that "appears to be more than 50 years in the future" is "the most recent
 * year in the past that had the same last two digits". The whole timestamp is compared, not the year alone, and
 * the year may lie in the next century (in 2090, "05" is 2105: only 15 years ahead).
 */
function rfc850Year(
  twoDigits: number,
  monthName: string,
  day: number,
  hour: number,
  minute: number,
  second: number,
  now: number,
): number {
  const limit = new Date(now);
  limit.setUTCFullYear(limit.getUTCFullYear() + 50);
  const month = Math.max(0, MONTHS.indexOf(monthName));
  const thisYear = new Date(now).getUTCFullYear();
  let year = thisYear - (thisYear % 100) + 100 + twoDigits;
  while (utc(year, month, day, hour, minute, second) > limit.getTime()) year -= 100;
  return year;
}

/** 400 Gregorian years are exactly 146097 days. */
const FOUR_CENTURIES_MS = 146097 * 86_400_000;

/** Date.UTC, except that years 0-99 mean those years and not 1900-1999. */
function utc(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  return Date.UTC(year + 400, month, day, hour, minute, second) - FOUR_CENTURIES_MS;
}

function build(
  dayName: number,
  year: number,
  monthName: string,
  day: number,
  hour: number,
  minute: number,
  second: number,
): Date | undefined {
  const month = MONTHS.indexOf(monthName);
  // second 60 is allowed by the grammar (leap second, §5.6.7) and folds into the next minute.
  if (dayName < 0 || month < 0 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  if (day > daysInMonth(year, month)) return undefined;
  const date = new Date(utc(year, month, day, hour, minute, second));
  // A day-name that contradicts the date is not a calendar time (SHORT_DAYS/LONG_DAYS start on Monday).
  const weekday = new Date(utc(year, month, day, 0, 0, 0)).getUTCDay();
  if ((weekday + 6) % 7 !== dayName) return undefined;
  return date;
}

function daysInMonth(year: number, month: number): number {
  return new Date(utc(year, month + 1, 0, 0, 0, 0)).getUTCDate();
}

/**
 * Formats a date as IMF-fixdate, the only format a sender may generate (§5.6.7). Sub-second precision is
 * dropped: HTTP dates have one-second resolution.
 *
 * @example
 * formatHttpDate(new Date('1994-11-06T08:49:37.250Z')) // 'Sun, 06 Nov 1994 08:49:37 GMT'
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
