/** The `etagkit` command itself: version, help, and errors in its own words. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { runCli } from './support/cli.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

describe('etagkit', () => {
  test('the executable (bin.ts) runs the command on this Node', async () => {
    const bin = new URL('../src/cli/bin.ts', import.meta.url).pathname;
    const child = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), version);
  });

  test('--version, -v and version print the package version', async () => {
    for (const flag of ['--version', '-v', 'version']) {
      const { code, stdout } = await runCli([flag]);
      assert.equal(code, 0);
      assert.equal(stdout.trim(), version);
    }
  });

  test('help lists the commands; help <command> shows its options', async () => {
    const general = await runCli(['help']);
    assert.equal(general.code, 0);
    assert.match(general.stdout, /serve <dir>/);
    const serve = await runCli(['help', 'serve']);
    assert.equal(serve.code, 0);
    assert.match(serve.stdout, /--require-preconditions/);
  });

  test('no command or an unknown one: usage on stderr, exit 2', async () => {
    assert.equal((await runCli([])).code, 2);
    const unknown = await runCli(['srve']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "srve"/);
  });

  test('option errors are the CLI own words, naming the option', async () => {
    const cases: [string[], RegExp][] = [
      [['serve', '.', '--prot', '1'], /^etagkit serve: unknown option --prot$/m],
      [['serve', '.', '--port'], /^etagkit serve: --port needs a value$/m],
      [['serve', '.', '--writable=yes'], /^etagkit serve: --writable is a switch and takes no value$/m],
      [
        ['serve', '.', '--host', 'not a host'],
        /^etagkit serve: --host must be an IP address .*"not a host"$/m,
      ],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, /ERR_PARSE_ARGS|TypeError|at .*\.ts:\d+/);
    }
  });

  test('a host that is not this machine is explained, exit 1', async () => {
    const { code, stderr } = await runCli(['serve', '.', '--host', '192.0.2.1', '--port', '0']);
    assert.equal(code, 1);
    assert.match(stderr, /192\.0\.2\.1 is not an address of this machine/);
  });
});
