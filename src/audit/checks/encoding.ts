/**
 * Content codings: a strong tag names one byte sequence (RFC 9110 §8.8.1), so gzip, br and identity need
 * different strong tags; a response chosen by Accept-Encoding must say so in Vary (§12.5.5), or a shared cache
 * hands compressed bytes to a client that never asked for them; and the compressed tag must work in
 * If-None-Match.
 */
import { varyFieldNames } from '../../client/policy.ts';
import { parseEntityTag } from '../../core/index.ts';
import { evidence, type Finding, field, finding, type Probe, type ProbeResponse } from '../report.ts';
import { answered, firstPair, lines, type Observations } from './observations.ts';

type Answered = Probe & { response: ProbeResponse };

const SHOWN = ['content-encoding', 'etag', 'vary'];

export function checkEncodings(o: Observations): Finding[] {
  const out: Finding[] = [];
  const variants = [o.baseline, answered(o, 'encoding'), answered(o, 'encoding-alt')].filter(
    (p): p is Answered => p?.response.status === 200,
  );
  const codings = new Set(variants.map(codingOf));
  if (codings.size < 2) return out; // the server never changes the coding: nothing varies

  const shared = firstPair(variants, (a, b) => {
    const x = parseEntityTag(field(a.response.headers, 'etag'));
    const y = parseEntityTag(field(b.response.headers, 'etag'));
    return codingOf(a) !== codingOf(b) && !!x && !!y && !x.weak && !y.weak && x.tag === y.tag;
  });
  if (shared)
    out.push(
      finding(
        'strong-etag-across-encodings',
        `${codingOf(shared[0])} and ${codingOf(shared[1])} bodies share the strong ETag ${field(shared[0].response.headers, 'etag')}`,
        [...evidence(shared[0], SHOWN), ...evidence(shared[1], SHOWN)],
      ),
    );

  const unvaried = variants.filter((p) => {
    const names = varyFieldNames(lines(p.response.headers));
    return names !== '*' && !names.includes('accept-encoding');
  });
  if (unvaried.length > 0)
    out.push(
      finding(
        'vary-missing',
        `the coding depends on Accept-Encoding (${[...codings].join(', ')}), but the ${unvaried
          .map(codingOf)
          .join(' and ')} response${unvaried.length > 1 ? 's do' : ' does'} not say Vary: Accept-Encoding`,
        unvaried.flatMap((p) => evidence(p, SHOWN)),
      ),
    );

  const encoded = answered(o, 'inm-encoded');
  if (encoded && encoded.response.status === 200 && answered(o, 'inm-match')?.response.status === 304)
    out.push(
      finding(
        'inm-ignored-encoded',
        `If-None-Match with the ${codingOf(encoded)} response's own tag got 200; with the identity tag it gets 304`,
        evidence(encoded, SHOWN),
      ),
    );
  return out;
}

function codingOf(p: Answered): string {
  return field(p.response.headers, 'content-encoding')?.trim().toLowerCase() || 'identity';
}
