/** All read checks, in report order. */
import { evidence, type Finding, finding } from '../report.ts';
import { checkCacheControl } from './cache-control.ts';
import { checkConditional } from './conditional.ts';
import { checkEncodings } from './encoding.ts';
import { checkNotModified } from './not-modified.ts';
import type { Observations } from './observations.ts';
import { checkValidators } from './validators.ts';

export type { Observations } from './observations.ts';

/** Statuses a read probe may legitimately get; anything else means the server mishandled the request. */
const PLAUSIBLE = new Set([200, 304, 412]);

export function runChecks(o: Observations): Finding[] {
  return [
    ...checkValidators(o),
    ...checkConditional(o),
    ...checkNotModified(o),
    ...checkEncodings(o),
    ...checkCacheControl(o),
    ...checkProbes(o),
  ];
}

/** Probes that failed or got an implausible status: the checks that needed them were not made. */
function checkProbes(o: Observations): Finding[] {
  const failed = [...o.probes.values()].filter(
    (p) => p !== o.baseline && (p.fault || (p.response && !PLAUSIBLE.has(p.response.status))),
  );
  if (failed.length === 0) return [];
  const what = failed.map((p) =>
    p.fault ? `${p.name}: ${p.fault.message}` : `${p.name}: got ${p.response!.status}`,
  );
  return [
    finding(
      'probe-failed',
      `${failed.length} probe${failed.length > 1 ? 's' : ''} failed (${what.join('; ')})`,
      failed.flatMap((p) => evidence(p, ['content-type', 'content-length'])),
    ),
  ];
}
