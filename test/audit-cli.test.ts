/**
 * `etagkit check` as CI runs it: exit codes per --fail-on, usage errors, --json against the schema kept in the
 * repository, --sarif against the SARIF 2.1.0 schema (vendored in test/fixtures), --file, --write-probe and
 * the tuning options.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { formatText, type Report } from '../src/audit/index.ts';
import { useColour } from '../src/cli/check.ts';
import { type Origin, startOrigin } from './audit-origins.ts';
import { runCli } from './support/cli.ts';

const require = createRequire(import.meta.url);
const reportSchema = JSON.parse(
  await readFile(new URL('../src/audit/report.schema.json', import.meta.url), 'utf8'),
);
// The OASIS SARIF 2.1.0 schema (rtm.5, as published on schemastore), vendored in test/fixtures.
const sarifSchema = JSON.parse(
  await readFile(new URL('./fixtures/sarif-schema-2.1.0.json', import.meta.url), 'utf8'),
);
// ajv-draft-04 is CommonJS with only a default export: its class is the `default` of the module object.
const AjvDraft04: typeof Ajv = require('ajv-draft-04').default;
// Formats checked without another dependency; the SARIF schema has a pattern that is invalid with the u flag.
const formats = {
  uri: (s: string) => URL.canParse(s),
  'uri-reference': (s: string) => URL.canParse(s, 'http://base/'),
  'date-time': (s: string) => !Number.isNaN(Date.parse(s)),
};
const options = { allErrors: true, strict: false, unicodeRegExp: false, formats };
const validateReport = new Ajv(options).compile(reportSchema);
const validateSarif = new AjvDraft04(options).compile(sarifSchema);

let good: Origin;
let warnOnly: Origin; // weak tags only: a warning, no error
let broken: Origin; // a 304 for any If-None-Match: an error
let hanging: Origin;
let dir: string;

before(async () => {
  good = await startOrigin({});
  warnOnly = await startOrigin({ etag: (c) => `W/"v1${c ? `-${c}` : ''}"` });
  broken = await startOrigin({
    decide: (req) => (req.headers['if-none-match'] ? 304 : 200),
  });
  hanging = await startOrigin({ fault: () => 'hang' });
  dir = await mkdtemp(join(tmpdir(), 'etagkit-check-'));
});

after(async () => {
  await Promise.all([good, warnOnly, broken, hanging].map((o) => o?.close()));
  await rm(dir, { recursive: true, force: true });
});

function assertValid(validate: typeof validateReport, doc: unknown) {
  assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
}

describe('etagkit check: exit codes', () => {
  const rows: [string, () => string, string[], number][] = [
    ['a clean URL', () => good.url, [], 0],
    ['a warning, default --fail-on error', () => warnOnly.url, [], 0],
    ['a warning, --fail-on warn', () => warnOnly.url, ['--fail-on', 'warn'], 1],
    ['an error, --fail-on error', () => broken.url, ['--fail-on', 'error'], 1],
    ['an error, --fail-on warn', () => broken.url, ['--fail-on', 'warn'], 1],
    ['a clean URL, --fail-on warn', () => good.url, ['--fail-on', 'warn'], 0],
  ];
  for (const [name, base, args, code] of rows)
    test(`${name} → ${code}`, async () => {
      const run = await runCli(['check', `${base()}/r`, ...args]);
      assert.equal(run.code, code, run.stdout + run.stderr);
    });

  test('an unreachable URL is an error finding (exit 1), and the other URLs are still checked', async () => {
    const run = await runCli(['check', '--json', '--timeout', '300ms', `${hanging.url}/r`, `${good.url}/r`]);
    assert.equal(run.code, 1);
    const [hung, fine] = JSON.parse(run.stdout);
    assert.equal(hung.findings[0].id, 'fetch-failed');
    assert.match(hung.findings[0].message, /no complete response head within 0.3 s/);
    assert.deepEqual(fine.findings, []);
  });
});

describe('etagkit check: usage errors exit 2 with a readable message', () => {
  const rows: [string, string[], RegExp][] = [
    ['no URL', [], /which URLs\?/],
    ['not a URL', ['example.com/x'], /must be an http:\/\/ or https:\/\/ URL, not "example.com\/x"/],
    ['an ftp URL', ['ftp://example.com/'], /http:\/\/ or https:\/\//],
    ['--json with --sarif', ['--json', '--sarif', 'http://127.0.0.1:1/'], /cannot be used together/],
    ['--fail-on info', ['--fail-on', 'info', 'http://127.0.0.1:1/'], /--fail-on must be error or warn/],
    ['--budget 0', ['--budget', '0', 'http://127.0.0.1:1/'], /--budget must be a whole number from 1/],
    [
      '--timeout 0',
      ['--timeout', '0', 'http://127.0.0.1:1/'],
      /--timeout must be more than 0 and at most 1d/,
    ],
    ['--per-host x', ['--per-host', 'x', 'http://127.0.0.1:1/'], /--per-host must be a whole number/],
    [
      '--concurrency 0',
      ['--concurrency', '0', 'http://127.0.0.1:1/'],
      /--concurrency must be a whole number/,
    ],
    ['a missing --file', ['--file', '/nonexistent/urls.txt'], /cannot read --file .*ENOENT/],
    ['an unknown option', ['--colour', 'http://127.0.0.1:1/'], /unknown option --colour/],
  ];
  for (const [name, args, message] of rows)
    test(name, async () => {
      const run = await runCli(['check', ...args]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /usage: etagkit check/);
      assert.equal(run.stdout, '');
    });

  test('a bad line in --file names the file and line, and nothing is fetched', async () => {
    const file = join(dir, 'bad.txt');
    await writeFile(file, `# URLs\n${good.url}/r\n\nnot a url\n`);
    const before = good.requests.length;
    const run = await runCli(['check', '--file', file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bad\.txt line 4 must be an http:\/\/ or https:\/\/ URL, not "not a url"/);
    assert.equal(good.requests.length, before);
  });

  test('credentials in a URL (user:password@) are refused, and never shown', async () => {
    const file = join(dir, 'secret.txt');
    await writeFile(file, 'http://alice:s3cretPW@127.0.0.1:1/x\n');
    const before = good.requests.length;
    for (const args of [
      [`http://alice:s3cretPW@127.0.0.1:${new URL(good.url).port}/r`],
      ['http://s3cretPW@127.0.0.1:1/'],
      ['--write-probe', 'https://alice:s3cretPW@127.0.0.1:1/w'],
      ['--file', file],
      ['ftp://alice:s3cretPW@example.com/'],
      ['http://alice:s3cret/PW@[bad/'],
    ]) {
      const run = await runCli(['check', ...args]);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, /usage: etagkit check/);
      assert.doesNotMatch(run.stderr + run.stdout, /s3cret|alice/, args.join(' '));
    }
    const refused = await runCli(['check', 'http://alice:s3cretPW@127.0.0.1:1/']);
    assert.match(refused.stderr, /must not carry credentials/);
    assert.equal(good.requests.length, before);
  });

  test('--help exits 0', async () => {
    const run = await runCli(['check', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /--write-probe URL/);
  });
});

describe('etagkit check: output formats', () => {
  test('--json for one URL is one object that matches the schema', async () => {
    const run = await runCli(['check', '--json', `${broken.url}/r`]);
    const doc = JSON.parse(run.stdout);
    assertValid(validateReport, doc);
    assert.equal(doc.url, `${broken.url}/r`);
    assert.ok(doc.findings.some((f: { id: string }) => f.id === 'inm-false-304'));
  });

  test('--json for several URLs is an array that matches the schema', async () => {
    const run = await runCli([
      'check',
      '--json',
      `${good.url}/r`,
      `${warnOnly.url}/r`,
      'http://127.0.0.1:1/',
    ]);
    const doc = JSON.parse(run.stdout);
    assertValid(validateReport, doc);
    assert.equal(doc.length, 3);
    assert.equal(doc[2].findings[0].id, 'fetch-failed');
  });

  test('the schema rejects what the contract forbids', () => {
    assert.equal(
      validateReport({
        url: 'http://x/',
        findings: [{ id: 'x', severity: 'fatal', message: 'm', evidence: [] }],
      }),
      false,
    );
    assert.equal(validateReport({ url: 'http://x/' }), false);
    assert.equal(validateReport([]), false);
  });

  test('--sarif is valid SARIF 2.1.0; URLs from --file are located at their line', async () => {
    const file = join(dir, 'urls.txt');
    await writeFile(file, `# the site\n${broken.url}/r\n${warnOnly.url}/r\n`);
    const run = await runCli(['check', '--sarif', '--file', file, `${good.url}/r`]);
    assert.equal(run.code, 1);
    const log = JSON.parse(run.stdout);
    assertValid(validateSarif, log);
    const { results, tool } = log.runs[0];
    assert.ok(tool.driver.rules.length >= 16);
    const falseNotModified = results.find((r: { ruleId: string }) => r.ruleId === 'inm-false-304');
    assert.equal(falseNotModified.level, 'error');
    assert.equal(tool.driver.rules[falseNotModified.ruleIndex].id, 'inm-false-304');
    const at = falseNotModified.locations[0].physicalLocation;
    assert.match(at.artifactLocation.uri, /urls\.txt$/);
    assert.equal(at.region.startLine, 2);
    const weak = results.find((r: { ruleId: string }) => r.ruleId === 'weak-etag-only');
    assert.equal(weak.level, 'warning');
    assert.equal(weak.locations[0].physicalLocation.region.startLine, 3);
  });

  test('the SARIF schema is really checked: a broken log fails it', () => {
    assert.equal(validateSarif({ version: '2.1.0', runs: [{ tool: {} }] }), false);
  });

  test('the terminal report groups by severity, with evidence and fixes, and no colour through a pipe', async () => {
    const run = await runCli(['check', `${broken.url}/r`]);
    assert.doesNotMatch(run.stdout, /\x1b\[/);
    assert.match(run.stdout, /^ {2}\d+ errors?$/m);
    assert.match(run.stdout, /inm-false-304 {2}If-None-Match with a tag the resource does not have got 304/);
    assert.match(run.stdout, /^ +> If-None-Match: "etagkit-check-no-such-tag"$/m);
    assert.match(run.stdout, /^ +→ nginx: /m);
    assert.match(run.stdout, /1 URL: \d+ errors?, /);
  });

  test('colour only on a TTY, never with NO_COLOR', () => {
    assert.equal(useColour({ isTTY: true }, {}), true);
    assert.equal(useColour({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(useColour({ isTTY: true }, { NO_COLOR: '' }), true, 'an empty NO_COLOR does not count');
    assert.equal(useColour({ isTTY: false }, {}), false);
    const report: Report = {
      url: 'http://x/',
      finalUrl: 'http://x/',
      findings: [],
      trust: { etag: 'absent', lastModified: 'absent' },
      probes: [],
      skipped: [],
      requests: 1,
      timings: { startedAt: '', ms: 1 },
    };
    assert.match(formatText([report], { color: true }), /\x1b\[1m/);
    assert.doesNotMatch(formatText([report], { color: false }), /\x1b\[/);
  });
});

describe('etagkit check: options', () => {
  test('--budget caps the requests per URL', async () => {
    const run = await runCli(['check', '--json', '--budget', '3', `${good.url}/r`]);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.requests, 3);
    assert.ok(doc.skipped.includes('inm-weak'));
  });

  test('the default budget is 12 requests', async () => {
    const run = await runCli(['check', '--json', `${good.url}/r`]);
    assert.equal(JSON.parse(run.stdout).requests, 12);
  });

  test('--per-host 1: one request at a time to the origin, measured there', async () => {
    const origin = await startOrigin({});
    try {
      const urls = Array.from({ length: 6 }, (_, i) => `${origin.url}/r?i=${i}`);
      const run = await runCli(['check', '--json', '--per-host', '1', '--concurrency', '6', ...urls]);
      assert.equal(JSON.parse(run.stdout).length, 6);
      assert.equal(origin.maxConcurrent, 1);
    } finally {
      await origin.close();
    }
  });

  test('--write-probe audits that URL with writes too and leaves its bytes as they were', async () => {
    const origin = await startOrigin({ writable: true });
    try {
      const url = `${origin.url}/r`;
      const run = await runCli(['check', '--json', '--write-probe', url, url]);
      const doc = JSON.parse(run.stdout);
      assert.equal(doc.url, url, 'the same URL once, not twice');
      assert.deepEqual(
        doc.findings.map((f: { id: string }) => f.id),
        ['write-precondition-not-required'],
      );
      assert.ok(origin.requests.some((r) => r.method === 'PUT'));
    } finally {
      await origin.close();
    }
  });

  test('without --write-probe nothing but GET and HEAD is ever sent', async () => {
    const origin = await startOrigin({ writable: true });
    try {
      await runCli(['check', `${origin.url}/r`]);
      assert.deepEqual([...new Set(origin.requests.map((r) => r.method))].sort(), ['GET', 'HEAD']);
    } finally {
      await origin.close();
    }
  });
});
