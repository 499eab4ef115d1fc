import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatHttpDate, parseHttpDate, toHttpSeconds } from './http-date.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0); // Mon, 23 Nov 2026 12:00:00 GMT
const RFC_EXAMPLE = Date.UTC(1994, 10, 6, 8, 49, 37); // the instant of every example in §5.6.7

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The rfc850-date form of an instant: `Sunday, 06-Nov-94 08:49:37 GMT`. */
function rfc850(ms: number): string {
  const d = new Date(ms);
  return (
    `${LONG_DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-` +
    `${pad(d.getUTCFullYear() % 100)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:` +
    `${pad(d.getUTCSeconds())} GMT`
  );
}

/** The asctime-date form of an instant: `Sun Nov  6 08:49:37 1994`. */
function asctime(ms: number): string {
  const d = new Date(ms);
  return (
    `${LONG_DAYS[d.getUTCDay()]!.slice(0, 3)} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${pad(d.getUTCFullYear(), 4)}`
  );
}

/** An instant in any year 0000-9999 (Date.UTC maps years 0-99 to 1900-1999, so go through setUTCFullYear). */
function at(year: number, month: number, day: number, h = 0, m = 0, s = 0): number {
  const d = new Date(Date.UTC(2000, month, day, h, m, s));
  d.setUTCFullYear(year);
  return d.getTime();
}

describe('parseHttpDate: the three formats of §5.6.7', () => {
  const rows: [rule: string, input: string, expected: number][] = [
    ['§5.6.7 IMF-fixdate', 'Sun, 06 Nov 1994 08:49:37 GMT', RFC_EXAMPLE],
    ['§5.6.7 obsolete RFC 850 format', 'Sunday, 06-Nov-94 08:49:37 GMT', RFC_EXAMPLE],
    ['§5.6.7 ANSI C asctime() format', 'Sun Nov  6 08:49:37 1994', RFC_EXAMPLE],
    ['§5.6.7 asctime date3 may be 2DIGIT', 'Sun Nov 06 08:49:37 1994', RFC_EXAMPLE],
    ['§5.6.7 asctime with a two-digit day', 'Wed Nov 30 00:00:00 1994', Date.UTC(1994, 10, 30)],
    [
      '§5.6.7 rfc850 with the longest day-name',
      'Wednesday, 09-Nov-94 08:49:37 GMT',
      Date.UTC(1994, 10, 9, 8, 49, 37),
    ],
    ['§5.6.3 OWS around the field value', ' \tSun, 06 Nov 1994 08:49:37 GMT \t', RFC_EXAMPLE],
    ['§5.6.7 leap day in a leap year', 'Thu, 29 Feb 2024 00:00:00 GMT', Date.UTC(2024, 1, 29)],
    [
      '§5.6.7 leap day in 2000 (divisible by 400)',
      'Tue, 29 Feb 2000 12:00:00 GMT',
      Date.UTC(2000, 1, 29, 12),
    ],
    [
      '§5.6.7 second 60 (leap second) folds into the next minute',
      'Wed, 31 Dec 2025 23:59:60 GMT',
      Date.UTC(2026, 0, 1),
    ],
    ['§5.6.7 year 0000 is a 4DIGIT year', 'Sat, 01 Jan 0000 00:00:00 GMT', at(0, 0, 1)],
    ['§5.6.7 year 0050 is not 1950', 'Sat, 01 Jan 0050 00:00:00 GMT', at(50, 0, 1)],
    ['§5.6.7 year 0099 in asctime', 'Thu Jan  1 00:00:00 0099', at(99, 0, 1)],
    ['§5.6.7 year 9999', 'Fri, 31 Dec 9999 23:59:59 GMT', at(9999, 11, 31, 23, 59, 59)],
    ['§5.6.7 the epoch', 'Thu, 01 Jan 1970 00:00:00 GMT', 0],
  ];
  for (const [rule, input, expected] of rows) {
    it(`${rule}: ${JSON.stringify(input)}`, () => {
      assert.equal(parseHttpDate(input, NOW)?.getTime(), expected);
    });
  }
});

describe('parseHttpDate: invalid dates are not dates (§5.6.7, no Date.parse leniency)', () => {
  const rows: [rule: string, input: string | null | undefined][] = [
    ['§5.6.7 day-name is case-sensitive', 'sun, 06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 day-name is case-sensitive (upper)', 'SUN, 06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 month is case-sensitive', 'Sun, 06 nov 1994 08:49:37 GMT'],
    ['§5.6.7 GMT is case-sensitive', 'Sun, 06 Nov 1994 08:49:37 gmt'],
    ['§5.6.7 rfc850 day-name is case-sensitive', 'sunday, 06-Nov-94 08:49:37 GMT'],
    ['§5.6.7 asctime month is case-sensitive', 'Sun NOV  6 08:49:37 1994'],
    ['§5.6.7 unknown day-name', 'Sux, 06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 day-name contradicting the date', 'Mon, 06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 rfc850 day-name contradicting the date', 'Monday, 06-Nov-94 08:49:37 GMT'],
    ['§5.6.7 asctime day-name contradicting the date', 'Mon Nov  6 08:49:37 1994'],
    ['§5.6.7 IMF-fixdate uses the short day-name', 'Sunday, 06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 rfc850 uses the long day-name', 'Sun, 06-Nov-94 08:49:37 GMT'],
    ['§5.6.7 a truncated long day-name', 'Sunda, 06-Nov-94 08:49:37 GMT'],
    ['§5.6.7 unknown month', 'Sun, 06 Nox 1994 08:49:37 GMT'],
    ['§5.6.7 full month name', 'Sun, 06 November 1994 08:49:37 GMT'],
    ['§5.6.7 Feb 30 does not exist', 'Fri, 30 Feb 2024 00:00:00 GMT'],
    ['§5.6.7 Feb 29 in a common year', 'Wed, 29 Feb 2023 00:00:00 GMT'],
    ['§5.6.7 Feb 29 1900 (century, not leap)', 'Thu, 29 Feb 1900 00:00:00 GMT'],
    ['§5.6.7 Apr 31 does not exist', 'Thu, 31 Apr 2025 00:00:00 GMT'],
    ['§5.6.7 day 00', 'Sun, 00 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 day 32', 'Sun, 32 Dec 1994 08:49:37 GMT'],
    ['§5.6.7 hour 24', 'Sun, 06 Nov 1994 24:00:00 GMT'],
    ['§5.6.7 minute 60', 'Sun, 06 Nov 1994 08:60:00 GMT'],
    ['§5.6.7 second 61', 'Sun, 06 Nov 1994 08:49:61 GMT'],
    ['§5.6.7 extra space after the comma', 'Sun,  06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 extra space before GMT', 'Sun, 06 Nov 1994 08:49:37  GMT'],
    ['§5.6.7 no space after the comma', 'Sun,06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 asctime single-digit day needs the padding space', 'Sun Nov 6 08:49:37 1994'],
    ['§5.6.7 asctime with a trailing GMT', 'Sun Nov  6 08:49:37 1994 GMT'],
    ['§5.6.7 IMF-fixdate day is 2DIGIT', 'Sun, 6 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 IMF-fixdate year is 4DIGIT', 'Sun, 06 Nov 94 08:49:37 GMT'],
    ['§5.6.7 rfc850 year is 2DIGIT', 'Sunday, 06-Nov-1994 08:49:37 GMT'],
    ['§5.6.7 hour is 2DIGIT', 'Sun, 06 Nov 1994 8:49:37 GMT'],
    ['§5.6.7 seconds are required', 'Sun, 06 Nov 1994 08:49 GMT'],
    ['§5.6.7 fractional seconds', 'Sun, 06 Nov 1994 08:49:37.5 GMT'],
    ['§5.6.7 GMT is required', 'Sun, 06 Nov 1994 08:49:37'],
    ['§5.6.7 UTC is not GMT', 'Sun, 06 Nov 1994 08:49:37 UTC'],
    ['§5.6.7 numeric zone', 'Sun, 06 Nov 1994 08:49:37 +0000'],
    ['§5.6.7 missing day-name', '06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 ISO 8601 (Date.parse accepts it)', '1994-11-06T08:49:37Z'],
    ['§5.6.7 ISO 8601 date only', '1994-11-06'],
    ['§5.6.7 epoch seconds', '784111777'],
    ['§5.6.7 JavaScript Date#toString', 'Sun Nov 06 1994 08:49:37 GMT+0000 (Coordinated Universal Time)'],
    ['§5.6.7 a list of dates is not a date', 'Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT'],
    ['§5.6.3 only SP/HTAB are OWS: trailing LF', 'Sun, 06 Nov 1994 08:49:37 GMT\n'],
    ['§5.6.3 only SP/HTAB are OWS: NBSP', '\u00a0Sun, 06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 non-ASCII digits', 'Sun, \u0660\u0666 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 negative year', 'Sun, 06 Nov -994 08:49:37 GMT'],
    ['empty', ''],
    ['only OWS', ' \t '],
    ['absent (null)', null],
    ['absent (undefined)', undefined],
  ];
  for (const [rule, input] of rows) {
    it(`${rule}: ${JSON.stringify(input)}`, () => {
      assert.equal(parseHttpDate(input, NOW), undefined);
    });
  }
});

describe('parseHttpDate: two-digit rfc850 years (§5.6.7 50-year rule, injected now)', () => {
  const rows: [rule: string, now: number, instant: number, expected: number][] = [
    [
      '§5.6.7 a year in the past stays',
      NOW,
      Date.UTC(1994, 10, 6, 8, 49, 37),
      Date.UTC(1994, 10, 6, 8, 49, 37),
    ],
    ['§5.6.7 this year', NOW, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1)],
    ['§5.6.7 "00" is 2000', NOW, Date.UTC(2000, 0, 1), Date.UTC(2000, 0, 1)],
    ['§5.6.7 25 years ahead is the future', NOW, Date.UTC(2051, 5, 1), Date.UTC(2051, 5, 1)],
    [
      '§5.6.7 exactly 50 years ahead is not "more than 50"',
      NOW,
      Date.UTC(2076, 10, 23, 12),
      Date.UTC(2076, 10, 23, 12),
    ],
    [
      '§5.6.7 one second past 50 years is the past',
      NOW,
      Date.UTC(2076, 10, 23, 12, 0, 1),
      Date.UTC(1976, 10, 23, 12, 0, 1),
    ],
    ['§5.6.7 "77" is 1977, not 2077', NOW, Date.UTC(2077, 0, 1), Date.UTC(1977, 0, 1)],
    ['§5.6.7 "99" is 1999', NOW, Date.UTC(1999, 11, 31), Date.UTC(1999, 11, 31)],
    [
      '§5.6.7 late in a century, "05" is the next century',
      Date.UTC(2090, 5, 1),
      Date.UTC(2105, 0, 1),
      Date.UTC(2105, 0, 1),
    ],
    [
      '§5.6.7 late in a century, "40" is 2140 (50 years ahead)',
      Date.UTC(2090, 5, 1),
      Date.UTC(2140, 0, 1),
      Date.UTC(2140, 0, 1),
    ],
    [
      '§5.6.7 late in a century, "41" is 2041',
      Date.UTC(2090, 5, 1),
      Date.UTC(2141, 0, 1),
      Date.UTC(2041, 0, 1),
    ],
    [
      '§5.6.7 early in a century, "60" is 2060',
      Date.UTC(2010, 0, 1),
      Date.UTC(2060, 0, 1),
      Date.UTC(2060, 0, 1),
    ],
    [
      '§5.6.7 early in a century, "61" is 1961',
      Date.UTC(2010, 0, 1),
      Date.UTC(2061, 0, 1),
      Date.UTC(1961, 0, 1),
    ],
  ];
  for (const [rule, now, instant, expected] of rows) {
    // The day-name must match the resolved date, so write the string for the expected instant.
    const input = rfc850(expected);
    it(`${rule}: ${input} at ${new Date(now).toISOString()}`, () => {
      assert.equal(rfc850(instant).slice(-22), input.slice(-22)); // same dd-Mon-yy hh:mm:ss GMT
      assert.equal(parseHttpDate(input, now)?.getTime(), expected);
    });
  }

  it('§5.6.7 defaults now to the real clock', () => {
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')?.getTime(), RFC_EXAMPLE);
  });
});

describe('formatHttpDate', () => {
  const rows: [rule: string, input: Date | number, expected: string][] = [
    ['§5.6.7 IMF-fixdate from a Date', new Date(RFC_EXAMPLE), 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 IMF-fixdate from milliseconds', RFC_EXAMPLE, 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['§5.6.7 sub-second precision is dropped', RFC_EXAMPLE + 999, 'Sun, 06 Nov 1994 08:49:37 GMT'],
    [
      '§5.6.7 fractional milliseconds (fs.Stats mtimeMs)',
      RFC_EXAMPLE + 0.75,
      'Sun, 06 Nov 1994 08:49:37 GMT',
    ],
    ['§5.6.7 year 0000 has four digits', at(0, 0, 1), 'Sat, 01 Jan 0000 00:00:00 GMT'],
    ['§5.6.7 year 0050 has four digits', at(50, 0, 1), 'Sat, 01 Jan 0050 00:00:00 GMT'],
    ['§5.6.7 year 0999 has four digits', at(999, 0, 1), 'Tue, 01 Jan 0999 00:00:00 GMT'],
    ['§5.6.7 year 9999', at(9999, 11, 31, 23, 59, 59), 'Fri, 31 Dec 9999 23:59:59 GMT'],
    ['§5.6.7 before the epoch', -1000, 'Wed, 31 Dec 1969 23:59:59 GMT'],
  ];
  for (const [rule, input, expected] of rows) {
    it(`${rule}`, () => {
      assert.equal(formatHttpDate(input), expected);
    });
  }

  const invalid: [rule: string, input: Date | number][] = [
    ['an invalid Date', new Date(Number.NaN)],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['§5.6.7 year 10000 has no 4DIGIT form', at(10000, 0, 1)],
    ['§5.6.7 a negative year has no 4DIGIT form', at(-1, 11, 31)],
  ];
  for (const [rule, input] of invalid) {
    it(`${rule} throws a RangeError`, () => {
      assert.throws(() => formatHttpDate(input), RangeError);
    });
  }
});

describe('toHttpSeconds', () => {
  it('§5.6.7 one-second resolution: truncates toward the earlier second', () => {
    assert.equal(toHttpSeconds(RFC_EXAMPLE + 999), RFC_EXAMPLE / 1000);
    assert.equal(toHttpSeconds(new Date(RFC_EXAMPLE)), RFC_EXAMPLE / 1000);
    assert.equal(toHttpSeconds(-1), -1);
  });
});

// ── Properties ────────────────────────────────────────────────────────────────────────────────────────────

const MIN = at(0, 0, 1);
const MAX = at(9999, 11, 31, 23, 59, 59) + 999;
const instant = fc.integer({ min: MIN, max: MAX });

describe('http-date properties', () => {
  it('parseHttpDate never throws on arbitrary strings (fullUnicode)', () => {
    const nearDates = fc
      .tuple(instant, fc.nat(40), fc.string({ unit: 'grapheme', maxLength: 3 }))
      .map(([ms, i, junk]) => {
        const s = formatHttpDate(ms);
        return s.slice(0, i) + junk + s.slice(i);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), nearDates), fc.integer(), (s, now) => {
        const d = parseHttpDate(s, now);
        assert.ok(d === undefined || Number.isFinite(d.getTime()));
      }),
      { numRuns: 2000 },
    );
  });

  it('§5.6.7 formatHttpDate / parseHttpDate round-trip at second precision over years 0000-9999', () => {
    fc.assert(
      fc.property(instant, (ms) => {
        const text = formatHttpDate(ms);
        assert.match(text, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
        assert.equal(parseHttpDate(text)?.getTime(), Math.floor(ms / 1000) * 1000);
      }),
      { numRuns: 2000 },
    );
  });

  it('§5.6.7 the rfc850 and asctime forms of an instant parse to the same instant', () => {
    fc.assert(
      fc.property(instant, (ms) => {
        const second = Math.floor(ms / 1000) * 1000;
        assert.equal(parseHttpDate(asctime(ms))?.getTime(), second);
        // With `now` at the instant itself, the two-digit year resolves to its own century.
        assert.equal(parseHttpDate(rfc850(ms), ms)?.getTime(), second);
      }),
      { numRuns: 1000 },
    );
  });

  it('returns on 100 KB inputs', () => {
    const n = 100 * 1024;
    const inputs = [
      'a'.repeat(n),
      ' '.repeat(n),
      `${' '.repeat(n)}Sun, 06 Nov 1994 08:49:37 GMT${' '.repeat(n)}`,
      'Sun, 06 Nov 1994 08:49:37 GMT'.repeat(n / 29),
      '9'.repeat(n),
      '\u{1F600}'.repeat(n / 2),
    ];
    const results = inputs.map((s) => parseHttpDate(s, NOW)?.getTime());
    assert.deepEqual(results, [undefined, undefined, RFC_EXAMPLE, undefined, undefined, undefined]);
  });
});
