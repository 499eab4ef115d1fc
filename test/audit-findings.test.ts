/**
 * One origin per finding id, over real sockets: each breaks exactly one rule, and the audit must report that
 * finding, with evidence, and no other `error`. The correct origin (no knobs) must report nothing at all.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type AuditOptions, audit, FINDING_IDS, type FindingId, type Report } from '../src/audit/index.ts';
import { formatHttpDate, parseEntityTagList, parseHttpDate } from '../src/core/index.ts';
import {
  BODY,
  decide,
  type Knobs,
  LAST_MODIFIED,
  type Reply,
  type Req,
  startOrigin,
} from './audit-origins.ts';

interface Row {
  id: FindingId;
  /** What the origin gets wrong, in the words of the rule it breaks. */
  rule: string;
  knobs?: Knobs;
  path?: string;
  options?: AuditOptions;
}

const without = (req: Req, ...names: string[]): Req => ({
  ...req,
  headers: Object.fromEntries(Object.entries(req.headers).filter(([n]) => !names.includes(n))),
});
const editFields = (reply: Reply, edit: (fields: [string, string][]) => [string, string][]): Reply => ({
  ...reply,
  headers: edit(reply.headers),
});
const drop =
  (...names: string[]) =>
  (reply: Reply) =>
    editFields(reply, (h) => h.filter(([n]) => !names.includes(n.toLowerCase())));
const suffix = (c: string | undefined) => (c ? `-${c}` : '');

/** The current tag without a coding suffix. */
const bare = (tag: string | undefined) => tag?.replace(/^W\//, '').replace(/-(gzip|br)"$/, '"');

const rows: Row[] = [
  {
    id: 'no-validator',
    rule: '§8.8: no ETag, no Last-Modified',
    knobs: { etag: () => undefined, lastModified: null },
  },
  { id: 'etag-malformed', rule: '§8.8.3: an unquoted tag', knobs: { etag: (c) => `v1${suffix(c)}` } },
  { id: 'weak-etag-only', rule: '§8.8.1: weak tags only', knobs: { etag: (c) => `W/"v1${suffix(c)}"` } },
  {
    id: 'etag-unstable',
    rule: '§8.8.3: a new tag for the same bytes on every request',
    knobs: { etag: (c, _r, n) => `"v1-${n}${suffix(c)}"`, lastModified: null },
  },
  {
    id: 'etag-reused',
    rule: '§8.8.1: one strong tag for bodies that differ',
    knobs: { body: (n) => Buffer.from(`request ${n}\n`.repeat(40)) },
  },
  {
    id: 'last-modified-invalid',
    rule: '§5.6.7: an ISO date',
    knobs: { lastModified: '2024-01-02T03:04:05Z' },
  },
  {
    id: 'last-modified-future',
    rule: '§8.8.2.1: a date after Date',
    knobs: { lastModified: formatHttpDate(Date.now() + 86_400_000) },
  },
  {
    id: 'head-validators-differ',
    rule: '§9.3.2: HEAD with another tag',
    knobs: { head: (r) => editFields(r, (h) => h.map(([n, v]) => [n, n === 'ETag' ? '"head"' : v])) },
  },
  {
    id: 'head-has-body',
    rule: 'RFC 9112 §6.3: bytes after a HEAD answer',
    knobs: { head: (r) => ({ ...r, after: Buffer.from('a body for HEAD') }) },
  },
  {
    id: 'inm-ignored',
    rule: '§13.1.2: If-None-Match not evaluated',
    knobs: { lastModified: null, decide: (req, cur) => decide(without(req, 'if-none-match'), cur) },
  },
  {
    id: 'inm-false-304',
    rule: '§13.1.2: 304 for any If-None-Match',
    knobs: { decide: (req, cur) => (req.headers['if-none-match'] ? 304 : decide(req, cur)) },
  },
  {
    id: 'ims-overrides-inm',
    rule: '§13.2.2: If-Modified-Since decides before If-None-Match',
    knobs: {
      decide: (req, cur) => {
        const ims = parseHttpDate(req.headers['if-modified-since']);
        return ims && ims >= LAST_MODIFIED ? 304 : decide(req, cur);
      },
    },
  },
  {
    id: 'inm-weak-comparison',
    rule: '§13.1.2: If-None-Match compared strongly',
    knobs: {
      decide: (req, cur) => {
        const inm = req.headers['if-none-match'];
        if (inm === undefined) return decide(req, cur);
        const list = parseEntityTagList(inm.replace(/-(gzip|br)"/g, '"'));
        return list !== '*' && list.some((t) => !t.weak && `"${t.tag}"` === cur.etag) ? 304 : 200;
      },
    },
  },
  {
    id: 'inm-list-ignored',
    rule: '§13.1.2: If-None-Match compared as one string',
    knobs: {
      decide: (req, cur) => {
        const inm = req.headers['if-none-match'];
        if (inm === undefined || inm === '*') return decide(req, cur);
        return bare(inm) === cur.etag ? 304 : 200;
      },
    },
  },
  {
    id: 'inm-star-ignored',
    rule: '§13.1.2: * not understood on GET',
    knobs: { decide: (req, cur) => (req.headers['if-none-match'] === '*' ? 200 : decide(req, cur)) },
  },
  {
    id: 'ims-ignored',
    rule: '§13.1.3: If-Modified-Since not evaluated',
    knobs: { decide: (req, cur) => decide(without(req, 'if-modified-since'), cur) },
  },
  {
    id: 'ims-false-304',
    rule: '§13.1.3: 304 for any If-Modified-Since',
    knobs: {
      decide: (req, cur) =>
        req.headers['if-none-match'] === undefined && req.headers['if-modified-since']
          ? 304
          : decide(req, cur),
    },
  },
  {
    id: 'ims-invalid-date',
    rule: '§13.1.3: If-Modified-Since read with Date.parse',
    knobs: {
      decide: (req, cur) => {
        const ims = req.headers['if-modified-since'];
        if (req.headers['if-none-match'] !== undefined || ims === undefined) return decide(req, cur);
        return Date.parse(ims) >= LAST_MODIFIED.getTime() ? 304 : 200;
      },
    },
  },
  {
    id: 'if-match-ignored',
    rule: '§13.1.1: If-Match not evaluated on GET',
    knobs: { decide: (req, cur) => decide(without(req, 'if-match'), cur) },
  },
  { id: '304-missing-etag', rule: '§15.4.5: a 304 without ETag', knobs: { notModified: drop('etag') } },
  {
    id: '304-etag-mismatch',
    rule: 'RFC 9111 §4.3.4: a 304 with another strong tag',
    knobs: { notModified: (r) => editFields(r, (h) => h.map(([n, v]) => [n, n === 'ETag' ? '"other"' : v])) },
  },
  {
    id: '304-has-body',
    rule: 'RFC 9112 §6.3: a body after a 304',
    knobs: {
      notModified: (r) => ({
        ...r,
        headers: [...r.headers, ['Content-Length', '5']],
        after: Buffer.from('hello'),
      }),
    },
  },
  {
    id: '304-missing-headers',
    rule: '§15.4.5: a 304 without Cache-Control and Vary',
    knobs: { notModified: drop('cache-control', 'vary') },
  },
  {
    id: '304-content-length',
    rule: '§8.6: Content-Length: 0 on a 304',
    knobs: { notModified: (r) => ({ ...r, headers: [...r.headers, ['Content-Length', '0']] }) },
  },
  {
    id: 'strong-etag-across-encodings',
    rule: '§8.8.1: one strong tag for every coding',
    knobs: { etag: () => '"v1"' },
  },
  { id: 'vary-missing', rule: '§12.5.5: compressed without Vary', knobs: { vary: false } },
  {
    id: 'inm-ignored-encoded',
    rule: '§13.1.2: the compressed tag not accepted back',
    knobs: {
      decide: (req, cur) => (/-(gzip|br)"/.test(req.headers['if-none-match'] ?? '') ? 200 : decide(req, cur)),
    },
  },
  {
    id: 'cache-control-missing',
    rule: 'RFC 9111 §4.2.2: heuristic freshness',
    knobs: { cacheControl: null },
  },
  { id: 'max-age-zero', rule: 'RFC 9111 §4.2.4: max-age=0 alone', knobs: { cacheControl: 'max-age=0' } },
  {
    id: 'immutable-missing',
    rule: 'RFC 8246: a fingerprinted asset without immutable',
    knobs: { path: '/assets/app.3f9a1c2b.js', cacheControl: 'public, max-age=31536000' },
    path: '/assets/app.3f9a1c2b.js',
  },
  {
    id: 'private-missing',
    rule: 'RFC 9111 §3: Set-Cookie on a publicly storable response',
    knobs: { setCookie: true, cacheControl: 'max-age=60' },
  },
  { id: 'redirected', rule: '§15.4: two redirects before the resource', knobs: { redirects: 2 }, path: '/' },
  { id: 'status-not-ok', rule: '§13.2.1: a 404', path: '/missing' },
  {
    id: 'probe-failed',
    rule: 'a connection closed on HEAD',
    knobs: { fault: (req) => (req.method === 'HEAD' ? 'close' : undefined) },
  },
  { id: 'body-truncated', rule: 'a body longer than the read cap', options: { maxBodyBytes: 100 } },
  { id: 'fetch-failed', rule: 'the body cut short', knobs: { fault: () => 'cut' } },

  // Write probes (--write-probe).
  {
    id: 'write-if-match-ignored',
    rule: '§13.1.1: a stale If-Match applied',
    knobs: { writable: true, requirePreconditions: true, writeBug: 'ignore-if-match' },
    options: { writeProbe: true },
  },
  {
    id: 'write-inm-star-ignored',
    rule: '§13.1.2: If-None-Match: * overwrote',
    knobs: { writable: true, requirePreconditions: true, writeBug: 'ignore-inm-star' },
    options: { writeProbe: true },
  },
  {
    id: 'write-if-match-rejected',
    rule: '§13.1.1: the current tag refused',
    knobs: { writable: true, requirePreconditions: true, writeBug: 'reject-current' },
    options: { writeProbe: true },
  },
  {
    id: 'write-precondition-not-required',
    rule: 'RFC 6585 §3: no 428',
    knobs: { writable: true },
    options: { writeProbe: true },
  },
  {
    id: 'write-no-etag',
    rule: '§9.3.4: no new tag after a write',
    knobs: { writable: true, requirePreconditions: true, writeBug: 'no-etag' },
    options: { writeProbe: true },
  },
  {
    id: 'write-restore-failed',
    rule: 'the server changes what it is given',
    knobs: { writable: true, requirePreconditions: true, writeBug: 'mangle' },
    options: { writeProbe: true },
  },
];

const origins: { close(): Promise<void> }[] = [];
after(() => Promise.all(origins.map((o) => o.close())));

async function auditOrigin(knobs: Knobs, path = knobs.path ?? '/r', options: AuditOptions = {}) {
  const origin = await startOrigin(knobs);
  origins.push(origin);
  // A budget large enough for every probe, so that each row exercises its check whatever it costs.
  const report = await audit(`${origin.url}${path}`, { budget: 20, timeoutMs: 5000, ...options });
  return { origin, report };
}

function ids(report: Report): string[] {
  return report.findings.map((f) => `${f.severity}:${f.id}`);
}

describe('audit: one origin per finding', () => {
  test('every finding id has a row', () => {
    const covered = new Set(rows.map((r) => r.id));
    assert.deepEqual(
      FINDING_IDS.filter((id) => !covered.has(id)),
      [],
    );
  });

  test('a correct origin: no findings, every probe sent, validators reliable', async () => {
    const { report } = await auditOrigin({});
    assert.deepEqual(ids(report), []);
    assert.deepEqual(report.trust, { etag: 'reliable', lastModified: 'reliable' });
    assert.deepEqual(report.skipped, []);
  });

  test('a correct writable origin: write probes find nothing and leave the bytes as they were', async () => {
    const { origin, report } = await auditOrigin({ writable: true, requirePreconditions: true }, '/r', {
      writeProbe: true,
    });
    assert.deepEqual(ids(report), []);
    const puts = origin.requests.filter((r) => r.method === 'PUT');
    assert.ok(puts.length >= 3);
    assert.ok(
      puts.every((r) => r.body.equals(BODY)),
      'every PUT sends the bytes the resource already has',
    );
    const final = report.probes.at(-1)!;
    assert.equal(final.name, 'write-verify');
    assert.equal(final.response?.status, 200);
  });

  test('a correct writable origin where the resource is missing: created, probed, deleted', async () => {
    const { origin, report } = await auditOrigin(
      { writable: true, requirePreconditions: true, absent: true },
      '/r',
      { writeProbe: true },
    );
    assert.deepEqual(ids(report), []);
    assert.ok(origin.requests.some((r) => r.method === 'DELETE'));
    assert.equal(report.probes.at(-1)?.response?.status, 404, 'gone again at the end');
  });

  for (const row of rows)
    test(`${row.id} — ${row.rule}`, async () => {
      const { report } = await auditOrigin(row.knobs ?? {}, row.path, row.options);
      const found = report.findings.find((f) => f.id === row.id);
      assert.ok(found, `expected ${row.id}, got ${ids(report).join(', ') || 'nothing'}`);
      assert.ok(found.message.length > 0 && !found.message.includes('\n'), 'a one-line message');
      assert.ok(
        found.evidence.some((l) => l.startsWith('> ')) && found.evidence.some((l) => l.startsWith('< ')),
      );
      assert.ok(Object.keys(found.fix).length > 0);
      const otherErrors = report.findings.filter((f) => f.severity === 'error' && f.id !== row.id);
      assert.deepEqual(
        otherErrors.map((f) => f.id),
        [],
        'no other error',
      );
    });
});
