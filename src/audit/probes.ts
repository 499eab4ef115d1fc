/**
 * The read probes: which requests to send after the first GET, in order of what they reveal, so that a small
 * budget (12 requests by default) spends itself on the checks that matter most. Pure: the plan is data; the
 * audit sends it.
 */
import { formatEntityTag, formatHttpDate, parseEntityTag, parseHttpDate } from '../core/index.ts';
import type { HeaderList } from './http1.ts';
import { field, type Probe } from './report.ts';

export interface ProbeSpec {
  name: string;
  purpose: string;
  method: 'GET' | 'HEAD';
  headers: HeaderList;
}

/** A tag no server has: If-None-Match with it must get 200, If-Match with it 412. */
export const NO_SUCH_TAG = '"etagkit-check-no-such-tag"';
/** Not an HTTP-date, yet `Date.parse` reads it as a date long after any Last-Modified. */
export const NOT_A_DATE = '2999-12-31T23:59:59Z';
/** What browsers send. */
export const BROWSER_ENCODINGS = 'gzip, deflate, br, zstd';

const IDENTITY: HeaderList = [['Accept-Encoding', 'identity']];

/** The validators of the first 200, as a client would send them back. */
export interface Validators {
  /** The ETag field exactly as received, when it parses as an entity-tag. */
  etag?: string;
  /** Last-Modified as received, when it is an HTTP-date. */
  lastModified?: string;
  lastModifiedDate?: Date;
}

export function validatorsOf(probe: Probe): Validators {
  const headers = probe.response?.headers ?? [];
  const etag = field(headers, 'etag')?.trim();
  const lastModified = field(headers, 'last-modified')?.trim();
  const lastModifiedDate = parseHttpDate(lastModified);
  return {
    ...(etag !== undefined && parseEntityTag(etag) ? { etag } : {}),
    ...(lastModifiedDate ? { lastModified, lastModifiedDate } : {}),
  };
}

function get(name: string, purpose: string, headers: HeaderList, method: 'GET' | 'HEAD' = 'GET'): ProbeSpec {
  return { name, purpose, method, headers };
}

/** The probes after the first GET, most revealing first. */
export function planProbes(v: Validators): ProbeSpec[] {
  const plan: ProbeSpec[] = [];
  const { etag, lastModified, lastModifiedDate } = v;
  if (etag) {
    plan.push(
      get('inm-match', 'If-None-Match with the current tag: expect 304', [
        ...IDENTITY,
        ['If-None-Match', etag],
      ]),
    );
    // A browser holding an old copy sends both; §13.2.2 lets If-None-Match decide.
    const withDate: HeaderList = lastModified ? [['If-Modified-Since', lastModified]] : [];
    plan.push(
      get('inm-other', 'If-None-Match with another tag: expect 200', [
        ...IDENTITY,
        ['If-None-Match', NO_SUCH_TAG],
        ...withDate,
      ]),
    );
  }
  if (lastModified && lastModifiedDate) {
    plan.push(
      get('ims-equal', 'If-Modified-Since equal to Last-Modified: expect 304', [
        ...IDENTITY,
        ['If-Modified-Since', lastModified],
      ]),
      get('ims-before', 'If-Modified-Since one second before Last-Modified: expect 200', [
        ...IDENTITY,
        ['If-Modified-Since', formatHttpDate(lastModifiedDate.getTime() - 1000)],
      ]),
    );
  }
  plan.push(
    get('encoding', 'what a browser asks for: compare with identity', [
      ['Accept-Encoding', BROWSER_ENCODINGS],
    ]),
  );
  if (etag) {
    const parsed = parseEntityTag(etag)!;
    const other = formatEntityTag({ tag: parsed.tag, weak: !parsed.weak });
    plan.push(
      get('inm-weak', `If-None-Match with ${other}: weak comparison expects 304`, [
        ...IDENTITY,
        ['If-None-Match', other],
      ]),
    );
  }
  plan.push(
    get('if-match-other', 'If-Match with another tag: expect 412', [...IDENTITY, ['If-Match', NO_SUCH_TAG]]),
    get('head', 'HEAD: expect the validators of GET', IDENTITY, 'HEAD'),
  );
  if (etag)
    plan.push(
      get('inm-list', 'If-None-Match with a list holding the current tag: expect 304', [
        ...IDENTITY,
        ['If-None-Match', `${NO_SUCH_TAG}, ${etag}`],
      ]),
    );
  if (lastModified)
    plan.push(
      get('ims-invalid', 'If-Modified-Since that is not an HTTP-date: expect it ignored (200)', [
        ...IDENTITY,
        ['If-Modified-Since', NOT_A_DATE],
      ]),
    );
  // Every 200 above is compared for stability too, so the second plain GET comes late.
  plan.push(get('get-again', 'a second plain GET: expect the same validators', IDENTITY));
  if (etag)
    plan.push(get('inm-star', 'If-None-Match: * on GET: expect 304', [...IDENTITY, ['If-None-Match', '*']]));
  return plan;
}

/**
 * Probes that a result calls for: `next`, or `later` (before `get-again`, whose work other 200s mostly do).
 * - A 304 to `inm-other`, which carried If-Modified-Since too, asks the same without it, to tell a false 304
 *   from If-Modified-Since deciding out of turn.
 * - A compressed answer to `encoding` asks If-None-Match with the compressed tag, and the other coding.
 */
export function followUps(probe: Probe, v: Validators): { next: ProbeSpec[]; later: ProbeSpec[] } {
  const r = probe.response;
  const none = { next: [], later: [] };
  if (!r || probe.fault) return none;
  if (probe.name === 'inm-other' && r.status === 304 && v.lastModified)
    return {
      next: [
        get('inm-other-alone', 'If-None-Match with another tag, no date: expect 200', [
          ...IDENTITY,
          ['If-None-Match', NO_SUCH_TAG],
        ]),
      ],
      later: [],
    };
  if (probe.name !== 'encoding' || r.status !== 200) return none;
  const coding = field(r.headers, 'content-encoding')?.trim().toLowerCase();
  if (!coding || coding === 'identity') return none;
  const later: ProbeSpec[] = [];
  const tag = field(r.headers, 'etag')?.trim();
  if (tag && parseEntityTag(tag))
    later.push(
      get('inm-encoded', `If-None-Match with the ${coding} response's tag: expect 304`, [
        ['Accept-Encoding', BROWSER_ENCODINGS],
        ['If-None-Match', tag],
      ]),
    );
  const alt = coding === 'br' ? 'gzip' : 'br';
  later.push(
    get('encoding-alt', `Accept-Encoding: ${alt}: compare with identity`, [['Accept-Encoding', alt]]),
  );
  return { next: [], later };
}
