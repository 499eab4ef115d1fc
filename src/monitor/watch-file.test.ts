import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parsePointer, WatchDefinitionError } from './definition.ts';
import { parseWatchFile, tokenize } from './watch-file.ts';

test('tokenize: quotes anywhere in a token, escapes, comments', () => {
  const rows: [string, string[]][] = [
    ['', []],
    ['   # only a comment', []],
    ['https://a.test/x', ['https://a.test/x']],
    ['https://a.test/x  interval=5m\tadaptive', ['https://a.test/x', 'interval=5m', 'adaptive']],
    ['u selector="div.a > p"', ['u', 'selector=div.a > p']],
    ['u ignore="say \\"hi\\" \\\\ bye"', ['u', 'ignore=say "hi" \\ bye']],
    ['u # trailing comment', ['u']],
    ['u selector="a#b"', ['u', 'selector=a#b']],
    ['https://a.test/#frag', ['https://a.test/#frag']],
  ];
  for (const [line, tokens] of rows) assert.deepEqual(tokenize(line), tokens, line);
  assert.throws(() => tokenize('u selector="open'), /double quote is not closed/);
});

test('tokenize (property): never throws but for an unclosed quote, and quoting round-trips', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (line) => {
      try {
        tokenize(line);
      } catch (error) {
        assert.ok(error instanceof WatchDefinitionError && /not closed/.test(error.message));
      }
    }),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 50 }), (value) => {
      const quoted = `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
      assert.deepEqual(tokenize(`u ignore=${quoted}`), ['u', `ignore=${value}`]);
    }),
  );
});

test('parseWatchFile: every unusable line reported with its number, the others kept', () => {
  const { watches, problems } = parseWatchFile(
    [
      'https://a.test/1 interval=10m header="Accept: application/json" selector=".p" ignore="\\d+"',
      'https://a.test/2 pointer=/data/0 adaptive min-interval=1m max-interval=2h',
      'https://a.test/1',
      'not a url',
      'https://a.test/3 interval=often',
      'https://a.test/4 header="If-None-Match: x"',
      'https://a.test/5 selector="p[" ',
      'https://a.test/6 pointer=data',
      'https://a.test/7 ignore="(unclosed"',
      'https://user:pw@a.test/8',
      'https://a.test/9 selector=p pointer=/x',
      'https://a.test/10 adaptive=maybe',
      'https://a.test/11 interval=1h min-interval=2h adaptive',
    ].join('\n'),
  );
  assert.deepEqual(
    watches.map((w) => w.url),
    ['https://a.test/1', 'https://a.test/2'],
  );
  assert.deepEqual(watches[0]!.headers, { accept: 'application/json' });
  assert.equal(watches[0]!.intervalMs, 600_000);
  assert.deepEqual(
    [watches[1]!.adaptive, watches[1]!.minIntervalMs, watches[1]!.maxIntervalMs],
    [true, 60_000, 7_200_000],
  );
  const expected: [number, RegExp][] = [
    [3, /already watched on line 1/],
    [4, /"not" is not a URL/],
    [5, /interval must be a duration/],
    [6, /If-None-Match is set by the monitor itself/],
    [7, /selector "p\[" is not valid CSS/],
    [8, /JSON Pointer "data" must be empty or start with "\/"/],
    [9, /ignore pattern "\(unclosed" is not a regular expression/],
    [10, /credentials in the URL would be stored in clear/],
    [11, /a selector \(HTML\) or a pointer \(JSON\), not both/],
    [12, /adaptive takes no value, or on\/off/],
    [13, /min-interval .* ≤ interval .* ≤ max-interval/],
  ];
  assert.equal(problems.length, expected.length);
  for (const [i, [line, message]] of expected.entries()) {
    assert.equal(problems[i]!.line, line);
    assert.match(problems[i]!.message, message);
  }
});

test('parsePointer: RFC 6901 §3 and §5 examples', () => {
  const rows: [string, string[]][] = [
    ['', []],
    ['/foo', ['foo']],
    ['/foo/0', ['foo', '0']],
    ['/', ['']],
    ['/a~1b', ['a/b']],
    ['/m~0n', ['m~n']],
    ['/c%d', ['c%d']],
    ['/~01', ['~1']],
  ];
  for (const [pointer, tokens] of rows) assert.deepEqual(parsePointer(pointer), tokens, pointer);
  assert.throws(() => parsePointer('/a~2'), /"~" must be followed by 0 or 1/);
  assert.throws(() => parsePointer('/a~'), /"~" must be followed by 0 or 1/);
});

test('parseWatchFile: a byte order mark before the first line is not part of its URL', () => {
  const { watches, problems } = parseWatchFile('\uFEFFhttps://a.test/1\nhttps://a.test/2');
  assert.deepEqual(problems, []);
  assert.deepEqual(
    watches.map((w) => w.url),
    ['https://a.test/1', 'https://a.test/2'],
  );
});

test('parseWatchFile: an error echoes at most 80 characters of the offending value, cut with an ellipsis', () => {
  const long = 'x'.repeat(15_000);
  const url = `https://a.test/${long}`;
  const lines = [
    url,
    url,
    `notaurl${long}`,
    `ftp://a.test/${long}`,
    `https://u:p@${'h'.repeat(200)}.test/`,
    `https://a.test/1 ${long}=1`,
    `https://a.test/2 adaptive=${long}`,
    `https://a.test/3 header=${long}`,
    `https://a.test/4 header="(${long}: v"`,
    `https://a.test/5 interval=${long}`,
    `https://a.test/6 selector="p[${long}"`,
    `https://a.test/7 ignore="(${long}"`,
    `https://a.test/8 pointer=${long}`,
    `https://a.test/9 pointer=/${long}~`,
    `https://a.test/10 whitespace=${long}`,
  ];
  const { problems } = parseWatchFile(lines.join('\n'));
  assert.deepEqual(
    problems.map((p) => p.line),
    lines.slice(1).map((_, i) => i + 2),
  );
  for (const { line, message } of problems) {
    assert.ok(message.length < 400, `line ${line}: ${message.length} characters: ${message.slice(0, 200)}`);
    assert.ok(message.includes('…'), `line ${line}: ${message}`);
  }
});
