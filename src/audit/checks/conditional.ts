/**
 * Conditional GET (RFC 9110 §13.1, §13.2.2): what each probe should have got, and what it did. The expected
 * outcome comes from core's `evaluatePreconditions` run on the probe's own request against the validators of
 * the first 200, so the auditor and etagkit's servers judge by one reading of the RFC.
 */
import { evaluatePreconditions } from '../../core/index.ts';
import { evidence, type Finding, finding, type Probe, type ProbeResponse } from '../report.ts';
import type { FindingId } from '../rules.ts';
import { answered, type Observations } from './observations.ts';

type Answered = Probe & { response: ProbeResponse };

const SHOWN = ['etag', 'last-modified', 'content-length'];

/** What the RFC expects of a probe: 304, 412 or the full 200. */
export function expectedStatus(o: Observations, probe: Probe): 200 | 304 | 412 {
  const headers = Object.fromEntries(probe.request.headers.map(([n, v]) => [n.toLowerCase(), v]));
  const decision = evaluatePreconditions(
    { method: probe.request.method, headers },
    {
      etag: o.validators.etag,
      lastModified: o.validators.lastModifiedDate,
      now: o.now,
    },
  );
  return decision.action === 'not-modified' ? 304 : decision.action === 'precondition-failed' ? 412 : 200;
}

export function checkConditional(o: Observations): Finding[] {
  const out: Finding[] = [];
  const got = (name: string) => {
    const p = answered(o, name);
    return p && { probe: p, status: p.response.status, expected: expectedStatus(o, p) };
  };
  const wrong = (id: FindingId, message: string, probes: Answered[]) =>
    out.push(
      finding(
        id,
        message,
        probes.flatMap((p) => evidence(p, SHOWN)),
      ),
    );

  const match = got('inm-match');
  if (match && match.status !== 304)
    wrong('inm-ignored', `If-None-Match with the current tag got ${match.status}, not 304`, [match.probe]);
  const honoursInm = match?.status === 304;

  const other = got('inm-other');
  if (other?.status === 304) {
    const alone = got('inm-other-alone');
    if (alone?.status === 200)
      wrong(
        'ims-overrides-inm',
        'If-None-Match did not match, yet If-Modified-Since got a 304; without the date the answer is 200',
        [other.probe, alone.probe],
      );
    else
      wrong(
        'inm-false-304',
        `If-None-Match with a tag the resource does not have got 304${alone ? '' : ' (If-Modified-Since was sent too)'}`,
        alone ? [other.probe, alone.probe] : [other.probe],
      );
  }

  const weak = got('inm-weak');
  if (honoursInm && weak && weak.status !== weak.expected)
    wrong('inm-weak-comparison', `If-None-Match with the other form of the tag got ${weak.status}, not 304`, [
      weak.probe,
    ]);
  const list = got('inm-list');
  if (honoursInm && list && list.status !== list.expected)
    wrong(
      'inm-list-ignored',
      `If-None-Match with a list holding the current tag got ${list.status}, not 304`,
      [list.probe],
    );
  const star = got('inm-star');
  if (honoursInm && star && star.status !== star.expected)
    wrong('inm-star-ignored', `If-None-Match: * got ${star.status}, not 304`, [star.probe]);

  const equal = got('ims-equal');
  if (equal && equal.status !== 304)
    wrong('ims-ignored', `If-Modified-Since equal to Last-Modified got ${equal.status}, not 304`, [
      equal.probe,
    ]);
  const before = got('ims-before');
  if (before?.status === 304)
    wrong(
      'ims-false-304',
      'If-Modified-Since one second before Last-Modified got 304: the copy it names is stale',
      [before.probe],
    );
  const invalid = got('ims-invalid');
  if (invalid?.status === 304 && before?.status !== 304)
    wrong('ims-invalid-date', 'If-Modified-Since that is not an HTTP-date got 304 instead of being ignored', [
      invalid.probe,
    ]);

  const ifMatch = got('if-match-other');
  if (ifMatch && ifMatch.status !== 412)
    wrong(
      'if-match-ignored',
      `If-Match with a tag the resource does not have got ${ifMatch.status}, not 412; writes may ignore it too (check with --write-probe)`,
      [ifMatch.probe],
    );
  return out;
}
