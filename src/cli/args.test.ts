import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseByteSize, parseDuration, parseHost, parseOptions, parsePort, UsageError } from './args.ts';

const OPTIONS = {
  port: { type: 'string', default: '8080' },
  header: { type: 'string', short: 'H', multiple: true },
  json: { type: 'boolean' },
} as const;

describe('parseOptions', () => {
  it('gives defaults, values, repeated values and positionals', () => {
    const { values, positionals } = parseOptions(
      ['a', '--json', '-H', 'x: 1', '--header=y: 2', 'b'],
      OPTIONS,
    );
    assert.deepEqual(values, { port: '8080', header: ['x: 1', 'y: 2'], json: true, help: false });
    assert.deepEqual(positionals, ['a', 'b']);
  });

  it('accepts --help and -h on every command', () => {
    assert.equal(parseOptions(['-h'], OPTIONS).values.help, true);
  });

  const mistakes: [string[], string][] = [
    [['--prot', '1'], 'unknown option --prot'],
    [['-x'], 'unknown option -x'],
    [['--port'], '--port needs a value'],
    [['--port', '--json'], '--port needs a value'],
    [['--json=yes'], '--json is a switch and takes no value'],
  ];
  for (const [argv, message] of mistakes)
    it(`says "${message}" for ${argv.join(' ')}`, () => {
      assert.throws(() => parseOptions(argv, OPTIONS), { name: 'UsageError', message });
    });

  it('throws nothing but UsageError, whatever the arguments', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.constantFrom('--port', '-H', '--json', '--', '-'))),
        (argv) => {
          try {
            parseOptions(argv, OPTIONS);
          } catch (error) {
            assert.ok(error instanceof UsageError, String(error));
          }
        },
      ),
    );
  });
});

describe('value checks', () => {
  it('ports from 0 to 65535', () => {
    assert.equal(parsePort('0'), 0);
    assert.equal(parsePort('65535'), 65535);
    for (const bad of ['65536', '-1', '8080x', '', '1e3', ' 80'])
      assert.throws(() => parsePort(bad), /--port must be an integer from 0 to 65535/);
  });

  it('hosts: IP literals and host names, readable refusal otherwise', () => {
    for (const good of ['127.0.0.1', '0.0.0.0', '::1', '[::1]', 'localhost', 'my-host.example'])
      assert.doesNotThrow(() => parseHost(good), good);
    assert.equal(parseHost('[::1]'), '::1');
    for (const bad of ['999.1.1.1', 'http://x', 'a b', '', '-bad', 'x'.repeat(300)])
      assert.throws(() => parseHost(bad), /--host must be an IP address/, bad);
  });

  it('byte sizes with binary units; bare numbers are bytes', () => {
    const rows: [string, number][] = [
      ['0', 0],
      ['4096', 4096],
      ['512K', 512 * 1024],
      ['64m', 64 * 1024 ** 2],
      ['64MiB', 64 * 1024 ** 2],
      ['1G', 1024 ** 3],
      ['2GB', 2 * 1024 ** 3],
    ];
    for (const [text, bytes] of rows) assert.equal(parseByteSize(text, '--cache-bytes'), bytes, text);
    for (const bad of ['', '-1', '1.5M', '64 M', '1T', 'M', `${'9'.repeat(13)}`, '9999999999G'])
      assert.throws(
        () => parseByteSize(bad, '--cache-bytes'),
        /--cache-bytes must be a size such as 64M/,
        bad,
      );
  });

  it('durations in ms, s, m, h, d; a bare number is seconds', () => {
    assert.equal(parseDuration('500ms', '--interval'), 500);
    assert.equal(parseDuration('30', '--interval'), 30_000);
    assert.equal(parseDuration('5m', '--interval'), 300_000);
    assert.equal(parseDuration('1.5h', '--interval'), 5_400_000);
    assert.throws(() => parseDuration('5 minutes', '--interval'), /--interval must be a duration/);
  });
});
