/**
 * The monitor's checks end to end against a local origin: validators of every kind (strong, weak, dates in the
 * three HTTP formats, none), unstable ETags, false 304s, a 304 with no stored snapshot, and every fault a check
 * must survive without storing anything half-made.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createMonitor, type Monitor, type MonitorOptions } from '../src/monitor/index.ts';
import { type Origin, startOrigin } from './support/monitor-origin.ts';

const dir = mkdtempSync(join(tmpdir(), 'etagkit-monitor-'));
let origin: Origin;
let dbs = 0;
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin.close();
  rmSync(dir, { recursive: true, force: true });
});

async function monitorFor(options: Partial<MonitorOptions> = {}): Promise<Monitor> {
  const monitor = await createMonitor({ db: join(dir, `m${++dbs}.db`), ...options });
  after(() => monitor.close());
  return monitor;
}

async function checks(monitor: Monitor, url: string, n: number) {
  const events = [];
  for (let i = 0; i < n; i++) events.push(await monitor.checkNow(url));
  return events;
}

describe('conditional polling echoes the server validators verbatim (RFC 9110 §13.1.2, §13.1.3)', () => {
  const cases = [
    { name: 'strong ETag', resource: { etag: '"a,b"' }, sent: { 'if-none-match': '"a,b"' } },
    { name: 'weak ETag', resource: { etag: 'W/"w1"' }, sent: { 'if-none-match': 'W/"w1"' } },
    {
      name: 'IMF-fixdate Last-Modified (§5.6.7)',
      resource: { lastModified: 'Sun, 06 Nov 1994 08:49:37 GMT' },
      sent: { 'if-modified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' },
    },
    {
      name: 'rfc850-date Last-Modified (§5.6.7), echoed as sent',
      resource: { lastModified: 'Sunday, 06-Nov-94 08:49:37 GMT' },
      sent: { 'if-modified-since': 'Sunday, 06-Nov-94 08:49:37 GMT' },
    },
    {
      name: 'asctime-date Last-Modified (§5.6.7), echoed as sent',
      resource: { lastModified: 'Sun Nov  6 08:49:37 1994' },
      sent: { 'if-modified-since': 'Sun Nov  6 08:49:37 1994' },
    },
    {
      name: 'both validators: both sent',
      resource: { etag: '"e"', lastModified: 'Sun, 06 Nov 1994 08:49:37 GMT' },
      sent: { 'if-none-match': '"e"', 'if-modified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' },
    },
  ];
  for (const [i, { name, resource, sent }] of cases.entries()) {
    test(name, async () => {
      const path = `/echo/${i}`;
      origin.set(path, { body: `body ${i}`, ...resource });
      const monitor = await monitorFor();
      const url = origin.url(path);
      const [first, second, third, fourth] = await checks(monitor, url, 4);
      assert.equal(first!.status, 'new');
      assert.equal(origin.requests(path)[0]!['if-none-match'], undefined, 'first request is unconditional');
      const conditional = origin.requests(path)[1]!;
      for (const [header, value] of Object.entries(sent)) assert.equal(conditional[header], value, header);
      if (!('if-none-match' in sent)) assert.equal(conditional['if-none-match'], undefined);
      // Unproven: each 304 is verified by an unconditional fetch; after two, the 304s are trusted.
      assert.deepEqual([second!.truth, second!.requests, second!.status], [true, 2, 'unchanged']);
      assert.deepEqual([third!.truth, third!.requests], [true, 2]);
      assert.deepEqual([fourth!.httpStatus, fourth!.detectedBy, fourth!.requests], [304, '304', 1]);
      assert.equal(origin.requests(path).length, 6);
    });
  }
});

test('detection cascade: same ETag, same raw digest, same normalised digest, changed', async () => {
  const monitor = await monitorFor();
  const url = origin.url('/cascade');
  origin.set('/cascade', { body: 'Price: 10\nUpdated 10:00', etag: '"p1"' });
  await monitor.add({ url, ignore: ['Updated \\d\\d:\\d\\d'] });
  assert.equal((await monitor.checkNow(url)).status, 'new');
  // A server that ignores If-None-Match shows the 200 stages.
  origin.set('/cascade', { body: 'Price: 10\nUpdated 10:00', etag: '"p1"', ignoreConditionals: true });
  const byEtag = await monitor.checkNow(url);
  assert.equal(byEtag.detectedBy, 'etag');
  origin.set('/cascade', { body: 'Price: 10\nUpdated 10:05', etag: '"p2"' });
  const normalized = await monitor.checkNow(url);
  assert.deepEqual(
    [normalized.status, normalized.detectedBy, normalized.reason],
    ['unchanged', 'digest', 'normalized'],
  );
  origin.set('/cascade', { body: 'Price: 12\nUpdated 10:10', etag: '"p3"' });
  const changed = await monitor.checkNow(url);
  assert.deepEqual([changed.status, changed.detectedBy, changed.version], ['changed', 'digest', 2]);
  const diff = await monitor.diff(url);
  assert.match(diff.patch, /-Price: 10\n\+Price: 12/);
  assert.doesNotMatch(diff.patch, /Updated/, 'ignored text is not in the stored snapshot');
});

test('no validators at all: unconditional polling, the digest decides', async () => {
  const monitor = await monitorFor();
  const url = origin.url('/plain');
  origin.set('/plain', { body: 'same' });
  const events = await checks(monitor, url, 3);
  assert.deepEqual(
    events.map((e) => [e.status, e.detectedBy]),
    [
      ['new', null],
      ['unchanged', 'digest'],
      ['unchanged', 'digest'],
    ],
  );
  for (const headers of origin.requests('/plain'))
    assert.equal(headers['if-none-match'] ?? headers['if-modified-since'], undefined);
});

test('unstable ETag: not a change, marked unstable, no more If-None-Match; zero false changes', async () => {
  const monitor = await monitorFor();
  const url = origin.url('/unstable');
  origin.set('/unstable', {
    body: 'stable content',
    unstableEtag: true,
    lastModified: 'Sun, 06 Nov 1994 08:49:37 GMT',
  });
  const events = await checks(monitor, url, 6);
  assert.equal(events.filter((e) => e.status === 'changed').length, 0);
  assert.equal(events[1]!.reason, 'etag-unstable');
  const watch = (await monitor.list()).find((w) => w.definition.url === url)!;
  assert.equal(watch.state.etagUnstable, true);
  const last = origin.requests('/unstable').at(-1)!;
  assert.equal(last['if-none-match'], undefined, 'an unstable ETag is not sent');
  assert.equal(
    last['if-modified-since'],
    'Sun, 06 Nov 1994 08:49:37 GMT',
    'Last-Modified can still earn 304s',
  );
  assert.equal(events.at(-1)!.detectedBy, '304');
});

test('false 304 while unproven: the verifying fetch catches it, reported as a change with its own reason', async () => {
  const monitor = await monitorFor();
  const url = origin.url('/liar');
  origin.set('/liar', { body: 'v1', etag: '"static"', always304: true });
  await monitor.checkNow(url);
  origin.set('/liar', { body: 'v2', etag: '"static"', always304: true });
  const caught = await monitor.checkNow(url);
  assert.deepEqual(
    [caught.status, caught.reason, caught.truth, caught.version],
    ['changed', 'false-304', true, 2],
  );
  assert.equal((await monitor.list())[0]!.state.trust, 'dishonest');
  // From now on the URL is polled unconditionally, and its changes still show.
  origin.set('/liar', { body: 'v3', etag: '"static"', always304: true });
  const next = await monitor.checkNow(url);
  assert.equal(origin.requests('/liar').at(-1)!['if-none-match'], undefined);
  assert.deepEqual([next.status, next.reason], ['changed', 'validator-unchanged']);
});

test('false 304 on a proven URL: caught by the periodic truth fetch', async () => {
  let clock = Date.parse('2026-03-01T00:00:00Z');
  const monitor = await monitorFor({ now: () => clock, truthIntervalMs: 3_600_000 });
  const url = origin.url('/proven-liar');
  origin.set('/proven-liar', { body: 'v1', etag: '"t"' });
  await checks(monitor, url, 3); // new, then two verified 304s: proven
  assert.equal((await monitor.list())[0]!.state.trust, 'proven');
  origin.set('/proven-liar', { body: 'v2', etag: '"t"', always304: true });
  clock += 60_000;
  const trusted = await monitor.checkNow(url);
  assert.deepEqual(
    [trusted.detectedBy, trusted.truth],
    ['304', false],
    'within the truth interval a 304 is trusted',
  );
  clock += 2 * 3_600_000;
  const caught = await monitor.checkNow(url);
  assert.deepEqual([caught.status, caught.reason, caught.truth], ['changed', 'false-304', true]);
});

test('a 304 for a URL whose snapshot is gone (restored history): re-fetched unconditionally, reported new', async () => {
  const path = join(dir, 'restored.db');
  const url = origin.url('/restored');
  origin.set('/restored', { body: 'content', etag: '"r"' });
  const monitor = await createMonitor({ db: path });
  await monitor.checkNow(url);
  await monitor.close();
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(path);
  db.exec('DELETE FROM snapshots');
  db.close();
  const again = await createMonitor({ db: path });
  after(() => again.close());
  const event = await again.checkNow(url);
  assert.deepEqual([event.status, event.reason, event.requests], ['new', 'refetch-after-304', 2]);
  assert.equal(origin.requests('/restored').at(-2)!['if-none-match'], '"r"');
  assert.equal(origin.requests('/restored').at(-1)!['if-none-match'], undefined);
  assert.equal((await again.diff(url)).to.version, 2);
});

test('a 304 to a request without validators is an error, not "unchanged"', async () => {
  const monitor = await monitorFor();
  origin.set('/rude', { body: 'x', status: 304 });
  const event = await monitor.checkNow(origin.url('/rude'));
  assert.equal(event.status, 'error');
  assert.match(event.error!, /304 Not Modified to a request that carried no validators/);
});

describe('faults are error events, never crashes, never a stored half body', () => {
  const cases: [string, () => Promise<string>, RegExp, Partial<MonitorOptions>?][] = [
    ['refused connection', async () => 'http://127.0.0.1:1/x', /connection refused/],
    ['DNS failure', async () => 'http://no-such-host.invalid/x', /does not resolve/],
    [
      'TLS error (https to a plain-text port)',
      async () => origin.url('/tls').replace('http:', 'https:'),
      /TLS failed|closed before/,
    ],
    [
      'redirect loop',
      async () => {
        origin.set('/loop/a', { body: '', redirect: '/loop/b' });
        origin.set('/loop/b', { body: '', redirect: '/loop/a' });
        return origin.url('/loop/a');
      },
      /redirect loop/,
    ],
    [
      'too many redirects',
      async () => {
        for (let i = 0; i < 4; i++) origin.set(`/hops/${i}`, { body: '', redirect: `/hops/${i + 1}` });
        origin.set('/hops/4', { body: 'end' });
        return origin.url('/hops/0');
      },
      /more than 2 redirects/,
      { maxRedirects: 2 },
    ],
    [
      'timeout on a slow host',
      async () => {
        origin.set('/slow', { body: 'late', delayMs: 2000 });
        return origin.url('/slow');
      },
      /no complete answer within 200 ms/,
      { timeoutMs: 200 },
    ],
    [
      'body over the cap',
      async () => {
        origin.set('/big', { body: 'x'.repeat(5000) });
        return origin.url('/big');
      },
      /larger than 1000 bytes/,
      { maxBytes: 1000 },
    ],
    [
      '200 that resets mid-body',
      async () => {
        origin.set('/reset', { body: 'y'.repeat(100_000), resetAfterBytes: 1000 });
        return origin.url('/reset');
      },
      /closed before the response was complete/,
    ],
    [
      'HTTP 500',
      async () => {
        origin.set('/broken', { body: '', status: 500 });
        return origin.url('/broken');
      },
      /^HTTP 500$/,
    ],
  ];
  for (const [name, makeUrl, message, options] of cases) {
    test(name, async () => {
      const monitor = await monitorFor(options);
      const url = await makeUrl();
      const event = await monitor.checkNow(url);
      assert.equal(event.status, 'error');
      assert.match(event.error!, message);
      const [stored] = await monitor.history(url);
      assert.equal(stored!.status, 'error', 'recorded as a fact');
      assert.equal(stored!.digest, null);
      const state = (await monitor.list())[0]!.state;
      assert.equal(state.digest, undefined, 'no snapshot, no validators');
      assert.equal(state.failures, 1);
    });
  }

  test('a reset after a good version keeps the good version and its validators', async () => {
    const monitor = await monitorFor();
    const url = origin.url('/reset-later');
    origin.set('/reset-later', { body: 'good', etag: '"g"' });
    await monitor.checkNow(url);
    origin.set('/reset-later', { body: 'z'.repeat(50_000), etag: '"h"', resetAfterBytes: 100 });
    assert.equal((await monitor.checkNow(url)).status, 'error');
    const state = (await monitor.list())[0]!.state;
    assert.deepEqual([state.etag, state.version], ['"g"', 1]);
    assert.equal((await monitor.store.snapshot(state.digest!))!.text, 'good');
  });
});

test('binary content: compared by digest only, no text stored', async () => {
  const monitor = await monitorFor();
  const url = origin.url('/image.png');
  origin.set('/image.png', { body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]), type: 'image/png' });
  const first = await monitor.checkNow(url);
  const snapshot = await monitor.store.snapshot(first.digest!);
  assert.deepEqual([snapshot!.kind, snapshot!.text, snapshot!.size], ['binary', undefined, 8]);
  origin.set('/image.png', { body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 9, 9, 9]), type: 'image/png' });
  assert.equal((await monitor.checkNow(url)).status, 'changed');
  assert.match(
    (await monitor.diff(url)).patch,
    /^binary content: sha256:\w+ \(8 bytes\) → sha256:\w+ \(8 bytes\)/,
  );
});

test('extraction: a CSS selector watches one part of a page; JSON Pointer one part of a document', async () => {
  const monitor = await monitorFor();
  const page = origin.url('/page.html');
  const api = origin.url('/api.json');
  const html = (price: string, ad: string) =>
    `<html><head><title>t</title><script>var x=1</script></head><body><div class="ad">${ad}</div><p class="price">Price <b>${price}</b></p></body></html>`;
  origin.set('/page.html', { body: html('10', 'ad 1'), type: 'text/html' });
  origin.set('/api.json', {
    body: JSON.stringify({ meta: { t: 1 }, data: { price: 10, tags: ['a'] } }),
    type: 'application/json',
  });
  await monitor.add({ url: page, selector: 'p.price' });
  await monitor.add({ url: api, pointer: '/data' });
  await monitor.checkNow();
  origin.set('/page.html', { body: html('10', 'ad 2'), type: 'text/html' });
  origin.set('/api.json', {
    body: JSON.stringify({ data: { tags: ['a'], price: 10 }, meta: { t: 2 } }),
    type: 'application/json',
  });
  const quiet = await monitor.checkNow();
  assert.deepEqual(
    quiet.map((e) => e.status),
    ['unchanged', 'unchanged'],
    'changes outside the selection and key order are not changes',
  );
  origin.set('/page.html', { body: html('12', 'ad 2'), type: 'text/html' });
  origin.set('/api.json', {
    body: JSON.stringify({ data: { price: 12, tags: ['a', 'b'] } }),
    type: 'application/json',
  });
  const loud = await monitor.checkNow();
  assert.deepEqual(
    loud.map((e) => e.status),
    ['changed', 'changed'],
  );
  assert.match((await monitor.diff(page)).patch, /-Price 10\n\+Price 12/);
  const jsonDiff = await monitor.diff(api);
  assert.deepEqual(jsonDiff.changes, [
    { path: '/price', op: 'changed', before: 10, after: 12 },
    { path: '/tags/1', op: 'added', after: 'b' },
  ]);
});

test('a selector on a JSON response is an error naming the mismatch', async () => {
  const monitor = await monitorFor();
  origin.set('/not-html.json', { body: '{}', type: 'application/json' });
  await monitor.add({ url: origin.url('/not-html.json'), selector: 'p' });
  const event = await monitor.checkNow(origin.url('/not-html.json'));
  assert.match(event.error!, /a selector needs HTML, but the response is application\/json/);
});

test('429 with Retry-After: an error, and the URL is not asked again before the server said', async () => {
  const clock = Date.parse('2026-03-02T00:00:00Z');
  const monitor = await monitorFor({ now: () => clock, intervalMs: 60_000 });
  origin.set('/busy', { body: '', status: 429, headers: { 'retry-after': '3600' } });
  const event = await monitor.checkNow(origin.url('/busy'));
  assert.equal(event.httpStatus, 429);
  assert.match(event.error!, /HTTP 429; not asking again for 3600 s/);
  assert.ok((await monitor.list())[0]!.state.nextDueAt >= clock + 3_600_000);
});

test('consecutive failures raise one alert, the first success a recovery notice', async () => {
  const monitor = await monitorFor({ alertAfter: 2 });
  const url = origin.url('/flaky');
  const seen: string[] = [];
  monitor.on('alert', () => seen.push('alert'));
  monitor.on('recovered', () => seen.push('recovered'));
  origin.set('/flaky', { body: '', status: 502 });
  await checks(monitor, url, 3);
  origin.set('/flaky', { body: 'ok' });
  await checks(monitor, url, 2);
  assert.deepEqual(seen, ['alert', 'recovered']);
});

test('metrics per host and in total: checks, 304 ratio, bytes transferred and saved', async () => {
  const monitor = await monitorFor({ proveAfter: 0 });
  const url = origin.url('/metered');
  origin.set('/metered', { body: 'm'.repeat(10_000), etag: '"m"' });
  await checks(monitor, url, 5);
  const { total, hosts } = await monitor.metrics();
  assert.equal(total.checks, 5);
  assert.equal(total.notModified, 4);
  assert.equal(total.notModifiedRatio, 0.8);
  assert.equal(total.bytesSaved, 4 * 10_000);
  assert.ok(total.bytes > 10_000 && total.bytes < 11_000, String(total.bytes));
  assert.deepEqual(hosts[new URL(url).host], total);
});

test('bytes saved is never negative: a verified 304 saves nothing, each trusted 304 the last full response', async () => {
  const monitor = await monitorFor();
  const url = origin.url('/saved');
  origin.set('/saved', { body: 'tiny', etag: '"t"' });
  // Unproven: the 304s of checks 2 and 3 are each verified by a full fetch (more bytes than one plain GET).
  const events = await checks(monitor, url, 3);
  assert.deepEqual(
    events.map((e) => e.truth),
    [false, true, true],
  );
  assert.equal((await monitor.metrics()).total.bytesSaved, 0);
  // Trusted from now on: each 304 spares the 4-byte body.
  await checks(monitor, url, 2);
  const { total } = await monitor.metrics();
  assert.equal(total.notModified, 4);
  assert.equal(total.bytesSaved, 2 * 4);
});

test('a negative bytes-saved count left by an older version starts again from 0 at the next check', async () => {
  const db = join(dir, 'negative-saved.db');
  const url = origin.url('/saved-old');
  origin.set('/saved-old', { body: 'old', etag: '"o"' });
  const first = await createMonitor({ db });
  await first.checkNow(url);
  await first.close();
  const { DatabaseSync } = await import('node:sqlite');
  const raw = new DatabaseSync(db);
  raw.prepare("UPDATE watches SET state = json_set(state, '$.bytesSaved', -500)").run();
  raw.close();
  const monitor = await createMonitor({ db });
  after(() => monitor.close());
  assert.equal((await monitor.metrics()).total.bytesSaved, -500, 'the old count as stored');
  await monitor.checkNow(url);
  assert.equal((await monitor.metrics()).total.bytesSaved, 0);
});

test('createMonitor refuses limits that would stall or defeat it, before opening any history', async () => {
  const bad: Partial<MonitorOptions>[] = [
    { timeoutMs: 0 },
    { timeoutMs: Number.NaN },
    { timeoutMs: 2 ** 31 },
    { concurrency: 0 },
    { perHost: 0 },
    { maxBytes: -1 },
    { alertAfter: 0 },
    { perHostRate: Number.POSITIVE_INFINITY },
  ];
  for (const options of bad) {
    const db = join(dir, `refused-${++dbs}.db`);
    await assert.rejects(createMonitor({ db, ...options }), RangeError, JSON.stringify(options));
    assert.throws(() => statSync(db), { code: 'ENOENT' }, 'no history file is left behind');
  }
});
