/**
 * Every 304 the probes got, judged as a cache would use it: RFC 9110 §15.4.5 says which fields it carries;
 * RFC 9111 §4.3.4 (`notModifiedMatches` in the client's policy) decides whether a cache can match it to the
 * response it holds; RFC 9112 §6.3 says it ends at its header section, which only the raw bytes can show.
 */
import { notModifiedMatches } from '../../client/policy.ts';
import { evidence, type Finding, field, finding, type Probe, type ProbeResponse } from '../report.ts';
import { answered, lines, type Observations } from './observations.ts';

type Answered = Probe & { response: ProbeResponse };

/** Fields a 304 repeats from the 200 (§15.4.5), ETag aside (it has its own finding). */
const REPEATED = ['cache-control', 'content-location', 'date', 'expires', 'vary'];

export function checkNotModified(o: Observations): Finding[] {
  const found = new Map<string, Finding>();
  const add = (f: Finding) => {
    if (!found.has(f.id)) found.set(f.id, f);
  };
  for (const probe of o.probes.values()) {
    if (probe.response?.status !== 304) continue;
    const p = probe as Answered;
    // The response the client holds: the compressed one for If-None-Match with the compressed tag.
    const stored = (p.name === 'inm-encoded' ? answered(o, 'encoding') : undefined) ?? o.baseline;
    const held = stored.response.headers;
    const got = p.response.headers;
    if (p.response.strayBytes > 0)
      add(
        finding(
          '304-has-body',
          `${p.response.strayBytes} body bytes followed a 304 on the wire; on a kept-alive connection they corrupt the next response`,
          evidence(p, ['content-length', 'transfer-encoding']),
        ),
      );
    const heldTag = field(held, 'etag');
    const gotTag = field(got, 'etag');
    if (heldTag !== undefined && gotTag === undefined)
      add(finding('304-missing-etag', `the 304 has no ETag; the 200 has ${heldTag}`, evidence(p, ['etag'])));
    // Only a 304 to a request that named the held tag: a cache never revalidates with `*` alone.
    else if (heldTag !== undefined && namesHeldTag(p) && !notModifiedMatches(lines(held), lines(got)))
      add(
        finding(
          '304-etag-mismatch',
          `the 304 carries ETag ${gotTag} where the response it validates has ${heldTag}: a cache must refetch`,
          evidence(p, ['etag']),
        ),
      );
    const missing = REPEATED.filter((n) => field(held, n) !== undefined && field(got, n) === undefined);
    if (missing.length > 0)
      add(
        finding(
          '304-missing-headers',
          `the 304 lacks ${missing.map(display).join(', ')}, which the 200 carries`,
          [...evidence(stored, missing), ...evidence(p, missing)],
        ),
      );
    const length = field(got, 'content-length')?.trim();
    const fullLength = stored.response.truncated
      ? field(held, 'content-length')?.trim()
      : String(stored.response.bodyBytes);
    if (length !== undefined && fullLength !== undefined && length !== fullLength)
      add(
        finding(
          '304-content-length',
          `the 304 says Content-Length: ${length}; the 200's body is ${fullLength} bytes (§8.6 allows only that value)`,
          evidence(p, ['content-length']),
        ),
      );
  }
  return [...found.values()];
}

function namesHeldTag(p: Answered): boolean {
  const inm = p.request.headers.find(([n]) => n.toLowerCase() === 'if-none-match')?.[1];
  return inm !== undefined && inm.trim() !== '*';
}

function display(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}
