import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseRequestPath } from './paths.ts';

const rows: [string, string, ReturnType<typeof parseRequestPath>['ok'], (string[] | number)?][] = [
  ['plain path', '/a/b.txt', true, ['a', 'b.txt']],
  ['percent-decoded', '/caf%C3%A9.txt', true, ['café.txt']],
  ['empty and "." segments vanish', '//a/./b', true, ['a', 'b']],
  ['".." is refused', '/a/../b', false, 400],
  ['encoded ".." is refused', '/a/%2E%2E/b', false, 400],
  ['encoded slash is refused', '/a%2Fb', false, 400],
  ['encoded backslash is refused', '/a%5cb', false, 400],
  ['raw backslash is refused', '/a\\b', false, 400],
  ['NUL is refused', '/a%00b', false, 400],
  ['bad percent-encoding is refused', '/%E0%A4%A', false, 400],
  ['dotfiles are hidden', '/.git/config', false, 404],
  ['dot-directories anywhere are hidden', '/a/.ssh/id', false, 404],
  ['must start with /', 'a/b', false, 400],
];

for (const [name, path, ok, expected] of rows) {
  test(`parseRequestPath: ${name}`, () => {
    const result = parseRequestPath(path);
    assert.equal(result.ok, ok);
    if (result.ok) assert.deepEqual(result.segments, expected);
    else assert.equal(result.status, expected);
  });
}

test('property: never throws; accepted segments never climb, hide or smuggle separators', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
      const result = parseRequestPath(`/${s}`);
      if (!result.ok) return;
      for (const segment of result.segments) {
        assert.ok(segment !== '..' && !segment.startsWith('.'));
        assert.ok(!segment.includes('/') && !segment.includes('\\') && !segment.includes('\0'));
      }
    }),
  );
});
