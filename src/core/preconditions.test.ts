import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CurrentRepresentation,
  evaluatePreconditions,
  getHeader,
  type PreconditionDecision,
} from './preconditions.ts';

const LM = Date.UTC(2024, 0, 1, 0, 0, 0);
const LM_DATE = 'Mon, 01 Jan 2024 00:00:00 GMT';
const LM_RFC850 = 'Monday, 01-Jan-24 00:00:00 GMT';
const LM_ASCTIME = 'Mon Jan  1 00:00:00 2024';
const BEFORE = 'Sun, 31 Dec 2023 23:59:59 GMT';
const AFTER = 'Mon, 01 Jan 2024 00:00:01 GMT';
const NOW = Date.UTC(2024, 5, 1);

const CURRENT: CurrentRepresentation = { etag: '"v1"', lastModified: LM, now: NOW };

const PROCEED: PreconditionDecision = { action: 'proceed' };
const NOT_MODIFIED_INM: PreconditionDecision = { action: 'not-modified', by: 'if-none-match' };
const NOT_MODIFIED_IMS: PreconditionDecision = { action: 'not-modified', by: 'if-modified-since' };
const FAILED_IM: PreconditionDecision = { action: 'precondition-failed', by: 'if-match' };
const FAILED_IUS: PreconditionDecision = { action: 'precondition-failed', by: 'if-unmodified-since' };
const FAILED_INM: PreconditionDecision = { action: 'precondition-failed', by: 'if-none-match' };
const IGNORE_RANGE: PreconditionDecision = { action: 'ignore-range', by: 'if-range' };
const partial = (start: number, end: number): PreconditionDecision => ({
  action: 'partial',
  by: 'range',
  ranges: [{ start, end }],
});

type Row = [
  rule: string,
  method: string,
  headers: Record<string, string>,
  current: Partial<CurrentRepresentation>,
  expected: PreconditionDecision,
];

function runRows(rows: Row[]) {
  for (const [rule, method, headers, current, expected] of rows) {
    it(`${rule}: ${method} ${JSON.stringify(headers)}`, () => {
      const decision = evaluatePreconditions({ method, headers }, { ...CURRENT, ...current });
      assert.deepEqual(decision, expected);
    });
  }
}

describe('evaluatePreconditions: If-Match (§13.1.1, §13.2.2 step 1)', () => {
  runRows([
    ['§13.1.1 strong match proceeds', 'PUT', { 'if-match': '"v1"' }, {}, PROCEED],
    ['§13.1.1 no match fails', 'PUT', { 'if-match': '"v2"' }, {}, FAILED_IM],
    ['§13.1.1 one member of the list matches', 'PUT', { 'if-match': '"v0", "v1"' }, {}, PROCEED],
    ['§13.1.1 a tag with commas matches whole', 'PUT', { 'if-match': '"a,b"' }, { etag: '"a,b"' }, PROCEED],
    [
      '§13.1.1 a prefix of a tag with commas does not match',
      'PUT',
      { 'if-match': '"a,b"' },
      { etag: '"a"' },
      FAILED_IM,
    ],
    [
      '§13.1.1 strong comparison: a weak request tag never matches',
      'PUT',
      { 'if-match': 'W/"v1"' },
      {},
      FAILED_IM,
    ],
    [
      '§13.1.1 strong comparison: a weak current tag never matches',
      'PUT',
      { 'if-match': '"v1"' },
      { etag: 'W/"v1"' },
      FAILED_IM,
    ],
    ['§13.1.1 "*" with a current representation', 'PUT', { 'if-match': '*' }, {}, PROCEED],
    [
      '§13.1.1 "*" without a current representation',
      'PUT',
      { 'if-match': '*' },
      { exists: false },
      FAILED_IM,
    ],
    [
      '§13.1.1 "*" depends on existence, not on having an ETag',
      'PUT',
      { 'if-match': '*' },
      { etag: undefined },
      PROCEED,
    ],
    [
      '§13.1.1 "*" on a representation with only a weak tag',
      'DELETE',
      { 'if-match': '*' },
      { etag: 'W/"v1"' },
      PROCEED,
    ],
    [
      '§13.1.1 a tag cannot match a missing representation',
      'PUT',
      { 'if-match': '"v1"' },
      { exists: false },
      FAILED_IM,
    ],
    [
      '§13.1.1 a tag cannot match when there is no current ETag',
      'PUT',
      { 'if-match': '"v1"' },
      { etag: undefined },
      FAILED_IM,
    ],
    ['§13.1.1 a list with no valid member matches nothing', 'PUT', { 'if-match': 'v1' }, {}, FAILED_IM],
    ['§13.1.1 applies to GET too', 'GET', { 'if-match': '"v2"' }, {}, FAILED_IM],
    ['§13.1.1 applies to HEAD', 'HEAD', { 'if-match': '"v1"' }, {}, PROCEED],
    ['§13.1.1 DELETE with a stale tag fails', 'DELETE', { 'if-match': '"v0"' }, {}, FAILED_IM],
    ['§13.1.1 DELETE with the current tag proceeds', 'DELETE', { 'if-match': '"v1"' }, {}, PROCEED],
    ['§13.1.1 POST with a stale tag fails', 'POST', { 'if-match': '"v0"' }, {}, FAILED_IM],
    [
      '§13.1.1 a parsed EntityTag as the current tag',
      'PUT',
      { 'if-match': '"v1"' },
      { etag: { weak: false, tag: 'v1' } },
      PROCEED,
    ],
  ]);
});

describe('evaluatePreconditions: If-Unmodified-Since (§13.1.4, §13.2.2 step 2)', () => {
  runRows([
    ['§13.1.4 unmodified since the exact date', 'PUT', { 'if-unmodified-since': LM_DATE }, {}, PROCEED],
    ['§13.1.4 unmodified since a later date', 'PUT', { 'if-unmodified-since': AFTER }, {}, PROCEED],
    ['§13.1.4 modified after the date fails', 'PUT', { 'if-unmodified-since': BEFORE }, {}, FAILED_IUS],
    ['§13.1.4 applies to GET too', 'GET', { 'if-unmodified-since': BEFORE }, {}, FAILED_IUS],
    ['§13.1.4 applies to DELETE', 'DELETE', { 'if-unmodified-since': BEFORE }, {}, FAILED_IUS],
    ['§13.1.4 applies to POST', 'POST', { 'if-unmodified-since': BEFORE }, {}, FAILED_IUS],
    [
      '§13.1.4 ignored when If-Match is present (and true)',
      'PUT',
      { 'if-match': '"v1"', 'if-unmodified-since': BEFORE },
      {},
      PROCEED,
    ],
    [
      '§13.1.4 If-Match decides when both are present',
      'PUT',
      { 'if-match': '"v2"', 'if-unmodified-since': AFTER },
      {},
      FAILED_IM,
    ],
    ['§13.1.4 an invalid date is ignored', 'PUT', { 'if-unmodified-since': 'yesterday' }, {}, PROCEED],
    [
      '§13.1.4 an ISO 8601 date is ignored',
      'PUT',
      { 'if-unmodified-since': '2023-12-31T00:00:00Z' },
      {},
      PROCEED,
    ],
    [
      '§13.1.4 a list of dates is ignored',
      'PUT',
      { 'if-unmodified-since': `${BEFORE}, ${BEFORE}` },
      {},
      PROCEED,
    ],
    [
      '§13.1.4 ignored without a modification date',
      'PUT',
      { 'if-unmodified-since': BEFORE },
      { lastModified: undefined },
      PROCEED,
    ],
    [
      '§13.1.4 a missing resource has not been modified: PUT creates',
      'PUT',
      { 'if-unmodified-since': BEFORE },
      { exists: false },
      PROCEED,
    ],
    [
      '§13.1.4 rfc850 form',
      'PUT',
      { 'if-unmodified-since': 'Sunday, 31-Dec-23 23:59:59 GMT' },
      {},
      FAILED_IUS,
    ],
    [
      '§13.1.4 one-second resolution: sub-second modification is not later',
      'PUT',
      { 'if-unmodified-since': LM_DATE },
      { lastModified: LM + 999 },
      PROCEED,
    ],
    [
      '§13.1.4 Last-Modified as a Date',
      'PUT',
      { 'if-unmodified-since': BEFORE },
      { lastModified: new Date(LM) },
      FAILED_IUS,
    ],
  ]);
});

describe('evaluatePreconditions: If-None-Match (§13.1.2, §13.2.2 step 3)', () => {
  runRows([
    ['§13.1.2 GET with the current tag is 304', 'GET', { 'if-none-match': '"v1"' }, {}, NOT_MODIFIED_INM],
    ['§13.1.2 HEAD with the current tag is 304', 'HEAD', { 'if-none-match': '"v1"' }, {}, NOT_MODIFIED_INM],
    ['§13.1.2 weak comparison: weak request tag', 'GET', { 'if-none-match': 'W/"v1"' }, {}, NOT_MODIFIED_INM],
    [
      '§13.1.2 weak comparison: weak current tag',
      'GET',
      { 'if-none-match': '"v1"' },
      { etag: 'W/"v1"' },
      NOT_MODIFIED_INM,
    ],
    [
      '§13.1.2 one member of the list matches',
      'GET',
      { 'if-none-match': '"v0", W/"v1"' },
      {},
      NOT_MODIFIED_INM,
    ],
    ['§13.1.2 no member matches', 'GET', { 'if-none-match': '"v0", "v2"' }, {}, PROCEED],
    [
      '§13.1.2 "*" on an existing representation is 304 for GET',
      'GET',
      { 'if-none-match': '*' },
      {},
      NOT_MODIFIED_INM,
    ],
    [
      '§13.1.2 "*" depends on existence, not on having an ETag',
      'GET',
      { 'if-none-match': '*' },
      { etag: undefined },
      NOT_MODIFIED_INM,
    ],
    [
      '§13.1.2 "*" on PUT of a missing resource: create-only proceeds',
      'PUT',
      { 'if-none-match': '*' },
      { exists: false, etag: undefined },
      PROCEED,
    ],
    ['§13.1.2 "*" on PUT of an existing resource fails', 'PUT', { 'if-none-match': '*' }, {}, FAILED_INM],
    [
      '§13.1.2 "*" on PUT of an existing resource without ETag fails',
      'PUT',
      { 'if-none-match': '*' },
      { etag: undefined },
      FAILED_INM,
    ],
    ['§13.2.2 false on PUT is 412, not 304', 'PUT', { 'if-none-match': '"v1"' }, {}, FAILED_INM],
    ['§13.2.2 false on DELETE is 412', 'DELETE', { 'if-none-match': '"v1"' }, {}, FAILED_INM],
    ['§13.2.2 false on POST is 412', 'POST', { 'if-none-match': 'W/"v1"' }, {}, FAILED_INM],
    [
      '§13.1.2 no current ETag: nothing matches',
      'GET',
      { 'if-none-match': '"v1"' },
      { etag: undefined },
      PROCEED,
    ],
    [
      '§13.1.2 a tag cannot match a missing resource',
      'PUT',
      { 'if-none-match': '"v1"' },
      { exists: false },
      PROCEED,
    ],
    [
      '§13.2.2 evaluated after a true If-Match',
      'PUT',
      { 'if-match': '"v1"', 'if-none-match': '"v1"' },
      {},
      FAILED_INM,
    ],
    [
      '§13.2.2 If-Match true, If-None-Match false on GET is 304',
      'GET',
      { 'if-match': '"v1"', 'if-none-match': '"v1"' },
      {},
      NOT_MODIFIED_INM,
    ],
    [
      '§13.2.2 evaluated after a true If-Unmodified-Since',
      'GET',
      { 'if-unmodified-since': AFTER, 'if-none-match': '"v1"' },
      {},
      NOT_MODIFIED_INM,
    ],
  ]);
});

describe('evaluatePreconditions: If-Modified-Since (§13.1.3, §13.2.2 step 4)', () => {
  runRows([
    [
      '§13.1.3 not modified since the exact date is 304',
      'GET',
      { 'if-modified-since': LM_DATE },
      {},
      NOT_MODIFIED_IMS,
    ],
    [
      '§13.1.3 not modified since a later date is 304',
      'GET',
      { 'if-modified-since': AFTER },
      {},
      NOT_MODIFIED_IMS,
    ],
    ['§13.1.3 modified after the date proceeds', 'GET', { 'if-modified-since': BEFORE }, {}, PROCEED],
    ['§13.1.3 HEAD', 'HEAD', { 'if-modified-since': LM_DATE }, {}, NOT_MODIFIED_IMS],
    ['§13.1.3 rfc850 form', 'GET', { 'if-modified-since': LM_RFC850 }, {}, NOT_MODIFIED_IMS],
    ['§13.1.3 asctime form', 'GET', { 'if-modified-since': LM_ASCTIME }, {}, NOT_MODIFIED_IMS],
    [
      '§13.1.3 one-second resolution',
      'GET',
      { 'if-modified-since': LM_DATE },
      { lastModified: LM + 999 },
      NOT_MODIFIED_IMS,
    ],
    [
      '§13.1.3 Last-Modified as a Date',
      'GET',
      { 'if-modified-since': LM_DATE },
      { lastModified: new Date(LM) },
      NOT_MODIFIED_IMS,
    ],
    [
      '§13.1.3 ignored when If-None-Match is present (no match)',
      'GET',
      { 'if-none-match': '"v0"', 'if-modified-since': LM_DATE },
      {},
      PROCEED,
    ],
    [
      '§13.1.3 If-None-Match decides when both are present',
      'GET',
      { 'if-none-match': '"v1"', 'if-modified-since': BEFORE },
      {},
      NOT_MODIFIED_INM,
    ],
    ['§13.1.3 ignored for PUT', 'PUT', { 'if-modified-since': LM_DATE }, {}, PROCEED],
    ['§13.1.3 ignored for DELETE', 'DELETE', { 'if-modified-since': LM_DATE }, {}, PROCEED],
    ['§13.1.3 ignored for POST', 'POST', { 'if-modified-since': LM_DATE }, {}, PROCEED],
    ['§13.1.3 an invalid date is ignored', 'GET', { 'if-modified-since': 'garbage' }, {}, PROCEED],
    [
      '§13.1.3 an ISO 8601 date is ignored',
      'GET',
      { 'if-modified-since': '2024-01-01T00:00:00Z' },
      {},
      PROCEED,
    ],
    [
      '§13.1.3 a date with the wrong case is ignored',
      'GET',
      { 'if-modified-since': LM_DATE.toLowerCase() },
      {},
      PROCEED,
    ],
    [
      '§13.1.3 more than one member is ignored',
      'GET',
      { 'if-modified-since': `${LM_DATE}, ${LM_DATE}` },
      {},
      PROCEED,
    ],
    [
      '§13.1.3 ignored without a modification date',
      'GET',
      { 'if-modified-since': LM_DATE },
      { lastModified: undefined },
      PROCEED,
    ],
    [
      '§5.6.7 current.now resolves two-digit rfc850 years',
      'GET',
      { 'if-modified-since': 'Thursday, 01-Jan-05 00:00:00 GMT' },
      {
        lastModified: Date.UTC(2105, 0, 1),
        now: Date.UTC(2105, 5, 1),
      },
      NOT_MODIFIED_IMS,
    ],
    [
      '§13.2.2 evaluated after a true If-Unmodified-Since',
      'GET',
      { 'if-unmodified-since': AFTER, 'if-modified-since': AFTER },
      {},
      NOT_MODIFIED_IMS,
    ],
    [
      '§13.2.2 a false If-Unmodified-Since comes first',
      'GET',
      { 'if-unmodified-since': BEFORE, 'if-modified-since': AFTER },
      {},
      FAILED_IUS,
    ],
  ]);
});

describe('evaluatePreconditions: a missing resource (§13.2.1)', () => {
  runRows([
    [
      '§13.2.1 GET of a missing resource would be 404: If-Match ignored',
      'GET',
      { 'if-match': '"v1"' },
      { exists: false },
      PROCEED,
    ],
    [
      '§13.2.1 HEAD of a missing resource: If-None-Match ignored',
      'HEAD',
      { 'if-none-match': '*' },
      { exists: false },
      PROCEED,
    ],
    [
      '§13.2.1 GET of a missing resource: If-Modified-Since ignored',
      'GET',
      { 'if-modified-since': LM_DATE },
      { exists: false },
      PROCEED,
    ],
    [
      '§13.2.1 GET of a missing resource: Range ignored',
      'GET',
      { range: 'bytes=0-1' },
      { exists: false, size: 10 },
      PROCEED,
    ],
    ['§13.2.2 no preconditions at all', 'GET', {}, {}, PROCEED],
  ]);
});

describe('evaluatePreconditions: If-Range and Range (§13.1.5, §13.2.2 step 5, §14.2)', () => {
  const sized = { size: 1000 };
  runRows([
    ['§14.2 Range without If-Range', 'GET', { range: 'bytes=0-99' }, sized, partial(0, 99)],
    [
      '§13.1.5 If-Range with the current strong tag',
      'GET',
      { range: 'bytes=0-99', 'if-range': '"v1"' },
      sized,
      partial(0, 99),
    ],
    [
      '§13.1.5 OWS around If-Range',
      'GET',
      { range: 'bytes=0-99', 'if-range': ' "v1" ' },
      sized,
      partial(0, 99),
    ],
    [
      '§13.1.5 If-Range with another tag sends everything',
      'GET',
      { range: 'bytes=0-99', 'if-range': '"v2"' },
      sized,
      IGNORE_RANGE,
    ],
    [
      '§13.1.5 a weak If-Range tag never matches',
      'GET',
      { range: 'bytes=0-99', 'if-range': 'W/"v1"' },
      sized,
      IGNORE_RANGE,
    ],
    [
      '§13.1.5 strong comparison: a weak current tag never matches',
      'GET',
      { range: 'bytes=0-99', 'if-range': '"v1"' },
      { ...sized, etag: 'W/"v1"' },
      IGNORE_RANGE,
    ],
    [
      '§13.1.5 a tag when there is no current ETag',
      'GET',
      { range: 'bytes=0-99', 'if-range': '"v1"' },
      { ...sized, etag: undefined },
      IGNORE_RANGE,
    ],
    [
      '§13.1.5 a date equal to a strong Last-Modified',
      'GET',
      { range: 'bytes=0-99', 'if-range': LM_DATE },
      sized,
      partial(0, 99),
    ],
    [
      '§13.1.5 rfc850 date equal to a strong Last-Modified',
      'GET',
      { range: 'bytes=0-99', 'if-range': LM_RFC850 },
      sized,
      partial(0, 99),
    ],
    [
      '§13.1.5 a later date is not an exact match',
      'GET',
      { range: 'bytes=0-99', 'if-range': AFTER },
      sized,
      IGNORE_RANGE,
    ],
    [
      '§13.1.5 an earlier date is not an exact match',
      'GET',
      { range: 'bytes=0-99', 'if-range': BEFORE },
      sized,
      IGNORE_RANGE,
    ],
    [
      '§8.8.2.2 Last-Modified within the current second is weak',
      'GET',
      { range: 'bytes=0-99', 'if-range': LM_DATE },
      { ...sized, now: LM + 500 },
      IGNORE_RANGE,
    ],
    [
      '§8.8.2.2 Last-Modified one second before now is strong',
      'GET',
      { range: 'bytes=0-99', 'if-range': LM_DATE },
      { ...sized, now: LM + 1000 },
      partial(0, 99),
    ],
    [
      '§8.8.2.2 lastModifiedIsStrong: true overrides the clock',
      'GET',
      { range: 'bytes=0-99', 'if-range': LM_DATE },
      { ...sized, now: LM, lastModifiedIsStrong: true },
      partial(0, 99),
    ],
    [
      '§8.8.2.2 lastModifiedIsStrong: false overrides the clock',
      'GET',
      { range: 'bytes=0-99', 'if-range': LM_DATE },
      { ...sized, lastModifiedIsStrong: false },
      IGNORE_RANGE,
    ],
    [
      '§13.1.5 a date without a Last-Modified',
      'GET',
      { range: 'bytes=0-99', 'if-range': LM_DATE },
      { ...sized, lastModified: undefined },
      IGNORE_RANGE,
    ],
    [
      '§13.1.5 a date starting with "W" (Wed) is a date, not a weak tag',
      'GET',
      { range: 'bytes=0-99', 'if-range': 'Wed, 03 Jan 2024 00:00:00 GMT' },
      { ...sized, lastModified: Date.UTC(2024, 0, 3) },
      partial(0, 99),
    ],
    [
      '§13.1.5 an invalid If-Range is false',
      'GET',
      { range: 'bytes=0-99', 'if-range': 'garbage' },
      sized,
      IGNORE_RANGE,
    ],
    [
      '§13.1.5 an unquoted tag is invalid',
      'GET',
      { range: 'bytes=0-99', 'if-range': 'v1' },
      sized,
      IGNORE_RANGE,
    ],
    ['§13.1.5 If-Range without Range is ignored', 'GET', { 'if-range': '"v2"' }, sized, PROCEED],
    ['§14.2 Range is ignored for HEAD', 'HEAD', { range: 'bytes=0-99' }, sized, PROCEED],
    ['§14.2 Range is ignored for PUT', 'PUT', { range: 'bytes=0-99' }, sized, PROCEED],
    ['§14.2 an invalid Range is ignored', 'GET', { range: 'bytes=99-0' }, sized, PROCEED],
    ['§14.2 an unknown range unit is ignored', 'GET', { range: 'items=0-1' }, sized, PROCEED],
    [
      '§14.1.1 unsatisfiable ranges: 416',
      'GET',
      { range: 'bytes=1000-' },
      sized,
      { action: 'range-not-satisfiable', by: 'range' },
    ],
    ['§14.1.2 suffix range', 'GET', { range: 'bytes=-10' }, sized, partial(990, 999)],
    [
      '§14.2 several ranges',
      'GET',
      { range: 'bytes=0-0,-1' },
      sized,
      {
        action: 'partial',
        by: 'range',
        ranges: [
          { start: 0, end: 0 },
          { start: 999, end: 999 },
        ],
      },
    ],
    ['§14.2 Range without a known size is left to the handler', 'GET', { range: 'bytes=0-99' }, {}, PROCEED],
    [
      '§13.2.2 a 304 wins over Range',
      'GET',
      { range: 'bytes=0-99', 'if-none-match': '"v1"' },
      sized,
      NOT_MODIFIED_INM,
    ],
    ['§13.2.2 a 412 wins over Range', 'GET', { range: 'bytes=0-99', 'if-match': '"v0"' }, sized, FAILED_IM],
  ]);
});

describe('evaluatePreconditions: values from the application that are not validators', () => {
  const invalid = new Date(Number.NaN);
  runRows([
    [
      '§13.1.3 an invalid Date is no modification date: If-Modified-Since ignored',
      'GET',
      { 'if-modified-since': AFTER },
      { etag: undefined, lastModified: invalid },
      PROCEED,
    ],
    [
      '§13.1.4 an invalid Date is no modification date: If-Unmodified-Since ignored',
      'PUT',
      { 'if-unmodified-since': BEFORE },
      { lastModified: invalid },
      PROCEED,
    ],
    [
      '§13.1.3 NaN as lastModified is ignored',
      'GET',
      { 'if-modified-since': AFTER },
      { lastModified: Number.NaN },
      PROCEED,
    ],
    [
      '§13.1.4 Infinity as lastModified is ignored',
      'PUT',
      { 'if-unmodified-since': BEFORE },
      { lastModified: Number.POSITIVE_INFINITY },
      PROCEED,
    ],
    [
      "§13.1.3 a string lastModified (a database driver's text column) is ignored",
      'GET',
      { 'if-modified-since': AFTER },
      { lastModified: '2024-01-01T00:00:00Z' as unknown as Date },
      PROCEED,
    ],
    [
      '§13.1.5 an invalid Date never matches If-Range: the whole representation',
      'GET',
      { range: 'bytes=0-1', 'if-range': LM_DATE },
      { lastModified: invalid, size: 10 },
      IGNORE_RANGE,
    ],
    ['§14.2 a negative size is ignored: no range', 'GET', { range: 'bytes=0-1' }, { size: -2 }, PROCEED],
    ['§14.2 a NaN size is ignored', 'GET', { range: 'bytes=0-1' }, { size: Number.NaN }, PROCEED],
    ['§14.2 a fractional size is ignored', 'GET', { range: 'bytes=0-1' }, { size: 10.5 }, PROCEED],
    ['§14.2 a size past 2^53 is ignored', 'GET', { range: 'bytes=0-1' }, { size: 2 ** 60 }, PROCEED],
    [
      '§14.2 size 0: nothing is satisfiable',
      'GET',
      { range: 'bytes=0-1' },
      { size: 0 },
      {
        action: 'range-not-satisfiable',
        by: 'range',
      },
    ],
  ]);
});

describe('evaluatePreconditions: header sources', () => {
  it('a Fetch Headers (names are case-insensitive)', () => {
    const headers = new Headers({ 'If-None-Match': '"v1"' });
    assert.deepEqual(evaluatePreconditions({ method: 'GET', headers }, CURRENT), NOT_MODIFIED_INM);
  });

  it('a Fetch Request', () => {
    const request = new Request('http://example.test/', { method: 'PUT', headers: { 'if-match': '"v0"' } });
    assert.deepEqual(evaluatePreconditions(request, CURRENT), FAILED_IM);
  });

  it('§5.3 repeated If-None-Match lines in a Headers combine into one list', () => {
    const headers = new Headers();
    headers.append('if-none-match', '"v0"');
    headers.append('if-none-match', '"v1"');
    assert.deepEqual(evaluatePreconditions({ method: 'GET', headers }, CURRENT), NOT_MODIFIED_INM);
  });

  it('a plain object with lower-case names', () => {
    const headers = { 'if-match': '"v1"', 'if-none-match': '"v0"' };
    assert.deepEqual(evaluatePreconditions({ method: 'PUT', headers }, CURRENT), PROCEED);
  });

  it('§5.3 a plain object with string[] values combines them into one list', () => {
    const headers = { 'if-none-match': ['"v0"', 'W/"v1"'] };
    assert.deepEqual(evaluatePreconditions({ method: 'GET', headers }, CURRENT), NOT_MODIFIED_INM);
  });

  it('§13.1.3 two If-Modified-Since lines as string[] are more than one member: ignored', () => {
    const headers = { 'if-modified-since': [LM_DATE, LM_DATE] };
    assert.deepEqual(evaluatePreconditions({ method: 'GET', headers }, CURRENT), PROCEED);
  });

  it('undefined values in a plain object are absent headers', () => {
    const headers = { 'if-match': undefined, 'if-none-match': '"v1"' };
    assert.deepEqual(evaluatePreconditions({ method: 'GET', headers }, CURRENT), NOT_MODIFIED_INM);
  });

  it('getHeader reads both kinds of source', () => {
    assert.equal(getHeader(new Headers({ ETag: '"a"' }), 'etag'), '"a"');
    assert.equal(getHeader(new Headers(), 'etag'), undefined);
    assert.equal(getHeader({ etag: '"a"' }, 'etag'), '"a"');
    assert.equal(getHeader({ etag: ['"a"', '"b"'] }, 'etag'), '"a", "b"');
    assert.equal(getHeader({}, 'etag'), undefined);
  });

  it('current defaults to an existing representation without validators', () => {
    assert.deepEqual(
      evaluatePreconditions({ method: 'GET', headers: { 'if-none-match': '*' } }),
      NOT_MODIFIED_INM,
    );
    assert.deepEqual(evaluatePreconditions({ method: 'PUT', headers: { 'if-match': '"v1"' } }), FAILED_IM);
  });
});
