// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the syntax under test, not a template
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { defineWatch, expandHeaders, isCredentialHeader, WatchDefinitionError } from './definition.ts';

const url = 'https://api.example/v1';
const define = (headers: Record<string, string>) => defineWatch({ url, headers });

test('credential headers: the secret must come from an environment variable (stored unexpanded)', () => {
  const rows: [Record<string, string>, boolean][] = [
    // RFC 9110 §11.6.2: credentials after the scheme
    [{ Authorization: 'Bearer ${API_TOKEN}' }, true],
    [{ Authorization: '${AUTH}' }, true],
    [{ Authorization: 'Bearer abc123' }, false],
    [{ Authorization: 'Bearer abc${X}' }, false],
    [{ Authorization: 'Basic' }, false],
    // RFC 9110 §11.7.2
    [{ 'Proxy-Authorization': 'Basic ${PROXY_CREDENTIALS}' }, true],
    [{ 'Proxy-Authorization': 'Basic dXNlcjpwYXNz' }, false],
    // RFC 6265 §5.4: every cookie value
    [{ Cookie: 'sid=${SESSION}' }, true],
    [{ Cookie: 'sid=${SESSION}; theme=${THEME}' }, true],
    [{ Cookie: 'sid=abc' }, false],
    [{ Cookie: 'sid=${SESSION}; theme=dark' }, false],
    // API keys by name
    [{ 'X-Api-Key': '${KEY}' }, true],
    [{ 'X-Api-Key': 'k-123' }, false],
    [{ 'X-Auth-Token': 'k-123' }, false],
    [{ 'Private-Token': 'glpat-123' }, false],
    // not credentials
    [{ Accept: 'text/html' }, true],
    [{ 'Accept-Language': 'en' }, true],
    [{ 'X-Request-Source': '${HOSTNAME}' }, true],
  ];
  for (const [headers, ok] of rows) {
    const name = Object.keys(headers)[0]!;
    if (ok) assert.equal(define(headers).headers[name.toLowerCase()], headers[name], name);
    else
      assert.throws(
        () => define(headers),
        (e: Error) =>
          e instanceof WatchDefinitionError &&
          e.message.includes('stored in clear') &&
          e.message.includes('${VARIABLE}') &&
          !e.message.includes(headers[name]!),
        `${name}: ${headers[name]}`,
      );
  }
});

test('a "${" that is not a reference is refused', () => {
  assert.throws(() => define({ Accept: 'a ${1X}' }), /must start a reference/);
  assert.throws(() => define({ Accept: 'a ${X' }), /must start a reference/);
});

test('expandHeaders replaces references at request time, and names a variable that is not set', () => {
  const headers = { authorization: 'Bearer ${TOKEN}', cookie: 'a=${A}; b=${B}' };
  assert.deepEqual(expandHeaders(headers, { TOKEN: 't0k', A: '1', B: '2' }), {
    headers: { authorization: 'Bearer t0k', cookie: 'a=1; b=2' },
  });
  assert.deepEqual(expandHeaders(headers, { TOKEN: 't0k', A: '1' }), {
    error: 'header cookie needs the environment variable B, which is not set',
  });
  assert.match(
    (expandHeaders(headers, { TOKEN: 'x\r\nHost: evil', A: '', B: '' }) as { error: string }).error,
    /TOKEN \(header authorization\) holds a line break/,
  );
});

test('expandHeaders: any value survives (property), and references are never expanded twice', () => {
  fc.assert(
    fc.property(fc.string(), (value) => {
      const out = expandHeaders({ 'x-a': '${V}' }, { V: value.replace(/[\r\n\0]/g, '') });
      assert.deepEqual(out, { headers: { 'x-a': value.replace(/[\r\n\0]/g, '') } });
    }),
  );
  assert.deepEqual(expandHeaders({ 'x-a': '${V}' }, { V: '${W}', W: 'no' }), { headers: { 'x-a': '${W}' } });
});

test('isCredentialHeader', () => {
  for (const name of ['Authorization', 'cookie', 'X-API-Key', 'apikey', 'X-Session-Id', 'Private-Token'])
    assert.equal(isCredentialHeader(name), true, name);
  for (const name of ['Accept', 'Keyboard', 'X-Tokenizer', 'User-Agent'])
    assert.equal(isCredentialHeader(name), false, name);
});

test('hostile credential values and watch files are checked in linear time (no regex backtracking)', () => {
  // Run in a child process: a catastrophically backtracking regex blocks the event loop, so only a kill ends it.
  const hostile = [
    `x=\${X}${' x='.repeat(30_000)}!`,
    `a=\${A}${' '.repeat(100_000)};!`,
    `a=\${A}${'= ;'.repeat(33_000)}"`,
    `\${A}${'\t;a=\t '.repeat(20_000)}x`,
  ];
  const script = `
    import { defineWatch } from ${JSON.stringify(new URL('./definition.ts', import.meta.url).href)};
    import { parseWatchFile } from ${JSON.stringify(new URL('./watch-file.ts', import.meta.url).href)};
    const hostile = ${JSON.stringify(hostile)};
    for (const value of hostile)
      for (const name of ['Cookie', 'Authorization', 'X-Api-Key'])
        try { defineWatch({ url: 'https://a.test/', headers: { [name]: value } }); } catch {}
    const line = 'https://a.test/ header="Cookie: x=\${X}' + ' x='.repeat(5000) + '!"';
    parseWatchFile(Array.from({ length: 7 }, (_, i) => line.replace('a.test/', 'a.test/' + i)).join('\\n'));
  `;
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--input-type=module'], {
    input: script,
    timeout: 20_000,
    encoding: 'utf8',
  });
  assert.equal(run.signal, null, `killed after ${Date.now() - started} ms: backtracking`);
  assert.equal(run.status, 0, run.stderr);
});

test('cookie values: only names may be written out, every value a reference', () => {
  const rows: [string, boolean][] = [
    ['sid=${S}', true],
    [' sid=${S} ; b=${B};', true],
    ['sid=${S};b=${B} ;  ', true],
    ['sid=${S}; b=${B}x', false],
    ['sid=${S} x', false],
    ['sid=${S}; b', false],
    ['sid=${S}; =${B}', false],
    ['sid=${S}; a b=${B}', false],
  ];
  for (const [value, ok] of rows)
    if (ok) assert.equal(define({ Cookie: value }).headers.cookie, value.trim(), value);
    else assert.throws(() => define({ Cookie: value }), /stored in clear/, value);
});

test('intervals are capped at 3650 days (a larger one overflows dates); the default max-interval stays within', () => {
  const day = 86_400_000;
  const longest = defineWatch({ url, intervalMs: 3650 * day });
  assert.equal(longest.maxIntervalMs, 3650 * day);
  for (const given of [
    { intervalMs: 3651 * day },
    { intervalMs: 999_999_999 * day },
    { intervalMs: day, maxIntervalMs: 3651 * day, adaptive: true },
    { intervalMs: day, minIntervalMs: 1e300 },
  ])
    assert.throws(() => defineWatch({ url, ...given }), /must be at most 3650 days/, JSON.stringify(given));
});
