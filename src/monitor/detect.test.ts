import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Detection, detect, type Observation } from './detect.ts';
import { initialState } from './history/store.ts';
import type { WatchState } from './types.ts';

const stored: WatchState = {
  ...initialState(60_000, 0),
  etag: '"v1"',
  lastModified: 'Sun, 06 Nov 1994 08:49:37 GMT',
  digest: 'sha256:n1',
  rawDigest: 'sha256:r1',
  extraction: 'x',
  version: 1,
};
const seen = (o: Partial<Observation> & { digest?: string }): Observation => ({
  etag: '"v1"',
  lastModified: stored.lastModified,
  rawDigest: 'sha256:r1',
  extraction: 'x',
  extracted: { kind: 'text', text: '', digest: o.digest ?? 'sha256:n1' },
  ...o,
});
const plain = { after304: false, refetchAfter304: false, proveAfter: 2 };

test('the cascade, row by row', () => {
  const rows: [string, WatchState, Observation, typeof plain, Partial<Detection>][] = [
    [
      'first content: new',
      { ...stored, digest: undefined },
      seen({}),
      plain,
      { status: 'new', detectedBy: null },
    ],
    [
      '304 for a lost snapshot: new (refetch)',
      stored,
      seen({}),
      { ...plain, refetchAfter304: true },
      { status: 'new', reason: 'refetch-after-304' },
    ],
    [
      'same ETag, same bytes: etag (RFC 9110 §8.8.3)',
      stored,
      seen({}),
      plain,
      { status: 'unchanged', detectedBy: 'etag' },
    ],
    [
      'no ETag, same Last-Modified, same bytes: last-modified (§8.8.2)',
      { ...stored, etag: undefined },
      seen({ etag: undefined }),
      plain,
      { status: 'unchanged', detectedBy: 'last-modified' },
    ],
    [
      'new ETag, same bytes: unstable ETag, not a change',
      stored,
      seen({ etag: '"v2"' }),
      plain,
      { status: 'unchanged', detectedBy: 'digest', reason: 'etag-unstable', etagUnstable: true },
    ],
    [
      'new bytes, same normalised text',
      stored,
      seen({ etag: '"v2"', rawDigest: 'sha256:r2' }),
      plain,
      { status: 'unchanged', detectedBy: 'digest', reason: 'normalized', etagUnstable: false },
    ],
    [
      'new content, new ETag: changed',
      stored,
      seen({ etag: '"v2"', rawDigest: 'sha256:r2', digest: 'sha256:n2' }),
      plain,
      { status: 'changed', detectedBy: 'digest', reason: null, trust: 'unproven' },
    ],
    [
      'new content under the same ETag: the validator lies (§8.8.3)',
      stored,
      seen({ rawDigest: 'sha256:r2', digest: 'sha256:n2' }),
      plain,
      { status: 'changed', reason: 'validator-unchanged', trust: 'dishonest' },
    ],
    [
      'new content after a 304: a false 304 (§15.4.5)',
      stored,
      seen({ etag: '"v2"', rawDigest: 'sha256:r2', digest: 'sha256:n2' }),
      { ...plain, after304: true },
      { status: 'changed', reason: 'false-304', trust: 'dishonest', honest: 0 },
    ],
    [
      'a confirmed 304 counts toward trust',
      stored,
      seen({}),
      { ...plain, after304: true },
      { status: 'unchanged', honest: 1, trust: 'unproven' },
    ],
    [
      'the second confirmed 304 proves the URL',
      { ...stored, honest: 1 },
      seen({}),
      { ...plain, after304: true },
      { honest: 2, trust: 'proven' },
    ],
    [
      'options changed, same bytes: unchanged',
      stored,
      seen({ extraction: 'y', digest: 'sha256:n9' }),
      plain,
      { status: 'unchanged', reason: 'options-changed' },
    ],
    [
      'options changed, new bytes: changed, said why',
      stored,
      seen({ extraction: 'y', rawDigest: 'sha256:r2', digest: 'sha256:n9' }),
      plain,
      { status: 'changed', reason: 'options-changed' },
    ],
  ];
  for (const [name, previous, observation, context, expected] of rows) {
    const got = detect(previous, observation, context);
    for (const [key, value] of Object.entries(expected))
      assert.deepEqual(got[key as keyof Detection], value, `${name}: ${key}`);
  }
});
