/**
 * The validators themselves (RFC 9110 §8.8): present, well-formed, strong, sane dates, the same on HEAD, and
 * stable: the same bytes always come with the same tag, and a strong tag never names two byte sequences.
 */
import { parseEntityTag, parseHttpDate } from '../../core/index.ts';
import {
  evidence,
  type Finding,
  field,
  fieldCount,
  finding,
  type Probe,
  type ProbeResponse,
} from '../report.ts';
import { answered, firstPair, type Observations, shown } from './observations.ts';

const VALIDATOR_FIELDS = ['etag', 'last-modified', 'date'];

export function checkValidators(o: Observations): Finding[] {
  const out: Finding[] = [];
  const { baseline } = o;
  const headers = baseline.response.headers;
  const ev = evidence(baseline, VALIDATOR_FIELDS);
  const etag = field(headers, 'etag');
  const lastModified = field(headers, 'last-modified');

  if (etag !== undefined && !o.validators.etag) {
    const count = fieldCount(headers, 'etag');
    out.push(
      finding(
        'etag-malformed',
        count > 1
          ? `the response has ${count} ETag fields; a representation has one entity-tag`
          : `ETag ${shown(etag)} is not an entity-tag: it must be in double quotes, as in "${etag.replace(/"/g, '')}"`,
        ev,
      ),
    );
  }
  if (lastModified !== undefined && !o.validators.lastModified)
    out.push(
      finding(
        'last-modified-invalid',
        `Last-Modified ${shown(lastModified)} is not an HTTP-date (like "Sun, 06 Nov 1994 08:49:37 GMT"), so clients and caches ignore it`,
        ev,
      ),
    );
  if (etag === undefined && lastModified === undefined)
    out.push(finding('no-validator', 'the 200 has neither ETag nor Last-Modified', ev));

  const tag = o.validators.etag ? parseEntityTag(o.validators.etag) : undefined;
  if (tag?.weak)
    out.push(
      finding(
        'weak-etag-only',
        `ETag ${o.validators.etag} is weak: If-Match and If-Range can never match it${
          o.validators.lastModified ? ' (Last-Modified can still guard writes via If-Unmodified-Since)' : ''
        }`,
        ev,
      ),
    );

  const modified = o.validators.lastModifiedDate;
  if (modified) {
    const date = parseHttpDate(field(headers, 'date'));
    // Without a Date to compare with, allow a minute of clock skew between the server and the auditor.
    const reference = date ? date.getTime() : o.now + 60_000;
    if (modified.getTime() > reference)
      out.push(
        finding(
          'last-modified-future',
          `Last-Modified is ${duration(modified.getTime() - (date?.getTime() ?? o.now))} after ${
            date ? "the response's Date" : 'the current time (the response has no Date)'
          }: clients that send it back would get 304s for changes made before then`,
          ev,
        ),
      );
  }

  out.push(...checkHead(o), ...checkStability(o));
  return out;
}

/** §9.3.2: HEAD gets the same header fields as GET, and no body. */
function checkHead(o: Observations): Finding[] {
  const head = answered(o, 'head');
  if (!head) return [];
  const out: Finding[] = [];
  const differing = ['etag', 'last-modified'].filter(
    (name) => field(head.response.headers, name) !== field(o.baseline.response.headers, name),
  );
  if (head.response.status === 200 && differing.length > 0)
    out.push(
      finding('head-validators-differ', `HEAD and GET disagree on ${differing.map(title).join(' and ')}`, [
        ...evidence(o.baseline, differing),
        ...evidence(head, differing),
      ]),
    );
  if (head.response.strayBytes > 0)
    out.push(
      finding(
        'head-has-body',
        `${head.response.strayBytes} bytes followed the HEAD response, where the next response on the connection should begin`,
        evidence(head, ['content-length', 'transfer-encoding']),
      ),
    );
  return out;
}

type Full = Probe & { response: ProbeResponse };

/** Compares every complete 200 to a GET in the baseline's coding: same bytes ⇒ same tag; strong tag ⇒ same bytes. */
function checkStability(o: Observations): Finding[] {
  const coding = field(o.baseline.response.headers, 'content-encoding');
  const full = [...o.probes.values()].filter(
    (p): p is Full =>
      p.request.method === 'GET' &&
      p.response?.status === 200 &&
      !p.fault &&
      !p.response.truncated &&
      field(p.response.headers, 'content-encoding') === coding,
  );
  const out: Finding[] = [];
  const unstable = firstPair(full, (a, b) => sameBody(a, b) && tagOf(a) !== tagOf(b));
  if (unstable)
    out.push(
      finding(
        'etag-unstable',
        `two responses with identical bodies (${unstable[0].response.bodyBytes} bytes) came with different ETags`,
        [...evidence(unstable[0], ['etag']), ...evidence(unstable[1], ['etag'])],
      ),
    );
  const reused = firstPair(full, (a, b) => {
    const tag = tagOf(a);
    return tag !== undefined && tag === tagOf(b) && !parseEntityTag(tag)?.weak && !sameBody(a, b);
  });
  if (reused)
    out.push(
      finding(
        'etag-reused',
        `the strong ETag ${tagOf(reused[0])} came with two different bodies (${reused[0].response.bodyBytes} and ${reused[1].response.bodyBytes} bytes)`,
        [
          ...evidence(reused[0], ['etag', 'content-length']),
          ...evidence(reused[1], ['etag', 'content-length']),
        ],
      ),
    );
  if (o.baseline.response.truncated)
    out.push(
      finding(
        'body-truncated',
        `the body is longer than the ${o.baseline.response.bodyBytes}-byte read cap; only that much was read`,
        evidence(o.baseline, ['content-length']),
      ),
    );
  return out;
}

function tagOf(p: Full): string | undefined {
  return field(p.response.headers, 'etag')?.trim();
}

function sameBody(a: Full, b: Full): boolean {
  return a.response.bodySha256 === b.response.bodySha256;
}

function title(name: string): string {
  return name === 'etag' ? 'ETag' : 'Last-Modified';
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}
