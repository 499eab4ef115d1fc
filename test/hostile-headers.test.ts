/**
 * A hostile header costs linear time: every header scanner in src/ is run on 100 KB inputs built to make
 * backtracking regexes and naive loops go quadratic — runs of whitespace, list separators, quotes, backslashes,
 * half-open quoted strings, and those after the prefix each grammar expects.
 *
 * No absolute timings (the machine may be loaded). A call on 100 KB passes at once when it costs less than
 * LINEAR_BUDGET times a plain pass over the same characters, measured here and now. Otherwise the scanner must
 * show how it scales: the same input at 1/8 of the size, interleaved with the full size, best of a few samples,
 * must cost at least a third of the full size's time per byte — 8× the input may cost up to 24× the time, where a
 * quadratic scanner costs 64×.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResponseReader } from '../src/audit/http1.ts';
import {
  ageValue,
  evaluateReuse,
  invalidationTargets,
  isStorable,
  matchesVary,
  mergeNotModified,
  normalizeFieldValue,
  notModifiedMatches,
  requestDirectives,
  revalidationHeaders,
  storableHeaders,
  varyFieldNames,
  varyKey,
} from '../src/client/policy.ts';
import {
  evaluatePreconditions,
  parseCacheControl,
  parseCacheStatus,
  parseContentRange,
  parseEntityTag,
  parseEntityTagList,
  parseHttpDate,
  parseRange,
} from '../src/core/index.ts';
import { parseAcceptEncoding } from '../src/files/negotiate.ts';
import { extract } from '../src/monitor/extract.ts';
import { retryAfterMs } from '../src/monitor/schedule.ts';
import { responseLines } from '../src/proxy/headers.ts';
import { parseSurrogateControl, policyLines } from '../src/proxy/surrogate.ts';
import { requestTarget } from '../src/proxy/target.ts';
import { normalizeConditionalHeaders, tagForEncoding } from '../src/server/encoding.ts';

const SIZE = 100 * 1024;
const SHRINK = 8;
/**
 * A 100 KB call may cost this many plain passes over its characters before its scaling is examined (linear
 * scanners here cost 2–250; the quadratic Vary normalisation this test was written for cost 30,000).
 */
const LINEAR_BUDGET = 1000;
/** 8× the input may cost at most this many times the time (linear: 8, quadratic: 64). */
const MAX_GROWTH = 24;

/** Repeating units: each makes some naive scanner backtrack or rescan. */
const UNITS = [
  ' ',
  '\t',
  ' \t',
  ',',
  ' ,',
  ', ',
  ' , ',
  ',,',
  ';',
  '=',
  '"',
  '\\',
  '"\\',
  '\\"',
  'W/',
  'W/"',
  '"a",',
  'a',
  'a,',
  'a=',
  'a="',
  ';a=',
  '0',
  '0-',
  '0-0,',
  '-',
  '*',
  '*,',
  '?1;',
];
/** What a grammar expects first, so that the hostile part reaches the scanner's inner loops. */
const PREFIXES = [
  '',
  'a',
  '"',
  'W/"',
  'bytes=',
  'bytes ',
  'max-age=',
  'no-cache,',
  'etagkit; detail="',
  'a="',
  'a;',
];
/** A tail that spoils a match only at the very end. */
const SUFFIXES = ['', 'x', '"'];

/** Every hostile input generator: `make(n)` is a string of about n characters. */
function inputs(): { name: string; make: (n: number) => string }[] {
  const out: { name: string; make: (n: number) => string }[] = [];
  for (const unit of UNITS)
    for (const suffix of SUFFIXES)
      out.push({
        name: `${JSON.stringify(unit)}… + ${JSON.stringify(suffix)}`,
        make: (n) => `a${unit.repeat(Math.ceil(n / unit.length))}${suffix}`,
      });
  for (const prefix of PREFIXES)
    for (const unit of [' ', ',', '"', '\\', ' ,', '0', ';', '='])
      out.push({
        name: `${JSON.stringify(prefix)} + ${JSON.stringify(unit)}…`,
        make: (n) => `${prefix}${unit.repeat(Math.ceil(n / unit.length))}x`,
      });
  return out;
}

const T0 = Date.UTC(2026, 0, 1);
const headersOf = (names: string[], value: string) =>
  new Headers(names.map((n): [string, string] => [n, value]));
const lines = (names: string[], value: string): [string, string][] => names.map((n) => [n, value]);
const CONDITIONALS = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];
const RESPONSE_FIELDS = ['cache-control', 'date', 'expires', 'last-modified', 'age', 'etag', 'vary'];

/** Every header scanner of src/, each fed the hostile value where a peer would put it. */
const SCANNERS: [string, (value: string) => unknown][] = [
  // core
  ['parseEntityTag', (v) => parseEntityTag(v)],
  ['parseEntityTagList', (v) => parseEntityTagList(v)],
  ['parseHttpDate', (v) => parseHttpDate(v, T0)],
  ['parseCacheControl', (v) => parseCacheControl(v)],
  ['parseRange', (v) => parseRange(v)],
  ['parseContentRange', (v) => parseContentRange(v)],
  ['parseCacheStatus', (v) => parseCacheStatus(v)],
  [
    'evaluatePreconditions (every conditional header, Range and If-Range)',
    (v) =>
      evaluatePreconditions(
        { method: 'GET', headers: headersOf([...CONDITIONALS, 'range', 'if-range'], v) },
        { etag: '"x"', lastModified: T0, size: 1000, now: T0 },
      ),
  ],
  [
    'evaluatePreconditions (If-Match alone)',
    (v) => evaluatePreconditions({ method: 'PUT', headers: headersOf(['if-match'], v) }, { etag: '"x"' }),
  ],
  [
    'evaluatePreconditions (If-None-Match alone)',
    (v) =>
      evaluatePreconditions({ method: 'GET', headers: headersOf(['if-none-match'], v) }, { etag: '"x"' }),
  ],
  // client policy
  ['normalizeFieldValue', (v) => normalizeFieldValue(v)],
  ['normalizeFieldValue (accept-language)', (v) => normalizeFieldValue(v, 'accept-language')],
  ['varyFieldNames', (v) => varyFieldNames([['vary', v]])],
  ['varyKey', (v) => varyKey(['accept-language', 'accept'], headersOf(['accept-language', 'accept'], v))],
  [
    'matchesVary',
    (v) =>
      matchesVary(
        { headers: [['vary', 'accept-language']], varyHeaders: { 'accept-language': 'en' } },
        headersOf(['accept-language'], v),
      ),
  ],
  ['requestDirectives (Cache-Control)', (v) => requestDirectives(headersOf(['cache-control'], v))],
  ['requestDirectives (Pragma)', (v) => requestDirectives(headersOf(['pragma'], v))],
  ['ageValue', (v) => ageValue([['age', v]])],
  ['storableHeaders (Connection)', (v) => storableHeaders([['connection', v]])],
  [
    'isStorable',
    (v) =>
      isStorable('GET', headersOf(['cache-control', 'authorization'], v), 200, lines(RESPONSE_FIELDS, v), {
        shared: true,
      }),
  ],
  [
    'evaluateReuse',
    (v) =>
      evaluateReuse(
        headersOf(['cache-control', 'pragma'], v),
        { status: 200, headers: lines(RESPONSE_FIELDS, v), requestTime: T0, responseTime: T0 },
        T0,
        { shared: false },
      ),
  ],
  ['revalidationHeaders', (v) => revalidationHeaders({ headers: lines(['etag', 'last-modified'], v) })],
  [
    'notModifiedMatches',
    (v) => notModifiedMatches(lines(['etag', 'last-modified'], v), lines(['etag', 'last-modified'], v)),
  ],
  ['mergeNotModified', (v) => mergeNotModified([['etag', '"x"']], lines(['connection', 'etag'], v))],
  [
    'invalidationTargets',
    (v) =>
      invalidationTargets('POST', 'http://origin.test/a', 200, lines(['location', 'content-location'], v)),
  ],
  // audit: its own HTTP/1.1 response reader (a refusal past its line limit is an answer too)
  [
    'audit ResponseReader (a header line)',
    (v) => {
      const reader = new ResponseReader('GET', { maxHeaderBytes: 1 << 20, maxBodyBytes: 0 });
      try {
        reader.push(Buffer.from(`HTTP/1.1 200 OK\r\nx-hostile: ${v}\r\n\r\n`, 'latin1'));
      } catch {}
      return reader.head;
    },
  ],
  // proxy: the request target, and an upstream response's fields (Connection names the hop-by-hop ones)
  ['proxy requestTarget', (v) => requestTarget(`/${v}`)],
  ['proxy responseLines', (v) => responseLines({ connection: v, vary: v, 'x-a': v }, T0)],
  // proxy: Surrogate-Control (Edge Architecture §2.2), alone and as the policy's stand-in for Cache-Control
  ['parseSurrogateControl', (v) => parseSurrogateControl(v)],
  [
    'proxy policyLines (Surrogate-Control)',
    (v) => policyLines([['surrogate-control', `max-age=1;etagkit, ${v}`]]),
  ],
  // monitor: Retry-After, and Content-Type (its kind and charset) of a fetched body
  ['retryAfterMs', (v) => retryAfterMs(v, T0)],
  ['extract (Content-Type)', (v) => extract(new Uint8Array(1), v, { ignore: [], whitespace: 'keep' })],
  // server, files
  ['parseAcceptEncoding', (v) => parseAcceptEncoding(v)],
  ['tagForEncoding', (v) => tagForEncoding(v, v)],
  [
    'normalizeConditionalHeaders',
    (v) =>
      normalizeConditionalHeaders(headersOf(['if-none-match', 'if-match'], `"x-${v}`), {
        weak: false,
        tag: 'x',
      }),
  ],
];

let sink = 0;

/** A plain pass over every character: the linear yardstick. */
function reference(value: string): number {
  let h = 0;
  for (let i = 0; i < value.length; i++) h = (Math.imul(h, 31) + value.charCodeAt(i)) | 0;
  return h;
}

/** ms per call of `fn(value)`, repeated until at least 1 ms has passed (one call when it is slower). */
function sample(fn: (value: string) => unknown, value: string): number {
  let reps = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    const result = fn(value);
    sink ^= result === undefined ? 0 : 1;
    reps++;
    elapsed = performance.now() - start;
  } while (elapsed < 1 && reps < 10_000);
  return elapsed / reps;
}

describe('hostile headers cost linear time (100 KB inputs)', () => {
  const cases = inputs().map((input) => ({ ...input, big: input.make(SIZE) }));
  for (const [name, scanner] of SCANNERS) {
    test(name, () => {
      for (const input of cases) {
        // The yardstick right before the call, so that both see the same load.
        const yardstick = sample(reference, input.big);
        const first = sample(scanner, input.big);
        if (first <= LINEAR_BUDGET * yardstick) continue;
        // Over budget: does it scale linearly? Interleave both sizes so that load falls on both alike, and
        // take the best of a few rounds; a call that takes seconds is not worth repeating.
        const small = input.make(SIZE / SHRINK);
        let smallTime = Number.POSITIVE_INFINITY;
        let bigTime = first;
        for (let round = 0; round < 5; round++) {
          smallTime = Math.min(smallTime, sample(scanner, small));
          if (round > 0 && first < 1000) bigTime = Math.min(bigTime, sample(scanner, input.big));
          if (bigTime / smallTime <= MAX_GROWTH) break;
        }
        const growth = bigTime / smallTime;
        assert.ok(
          growth <= MAX_GROWTH,
          `${name} on ${input.name}: ${SHRINK}× the input took ${growth.toFixed(1)}× the time ` +
            `(${smallTime.toFixed(3)} → ${bigTime.toFixed(3)} ms; a plain pass over 100 KB: ` +
            `${yardstick.toFixed(3)} ms)`,
        );
      }
      assert.ok(Number.isInteger(sink));
    });
  }
});
