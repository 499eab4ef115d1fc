import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { textDiff } from '../../diff.ts';
import { sideBySideRows, unifiedRows } from './diff-rows.ts';

test('unified rows carry both line numbers; side by side pairs removed and added lines', () => {
  const patch = textDiff('a\nb\nc\nd\n', 'a\nB\nc\nd\ne\n', 'v1', 'v2');
  const rows = unifiedRows(patch);
  assert.deepEqual(
    rows.filter((r) => r.kind !== 'hunk').map((r) => [r.kind, r.oldLine, r.newLine, r.text]),
    [
      ['context', 1, 1, 'a'],
      ['removed', 2, undefined, 'b'],
      ['added', undefined, 2, 'B'],
      ['context', 3, 3, 'c'],
      ['context', 4, 4, 'd'],
      ['added', undefined, 5, 'e'],
    ],
  );
  const side = sideBySideRows(patch).filter((r) => r.kind === 'changed');
  assert.deepEqual(
    side.map((r) => [r.left?.text, r.right?.text]),
    [
      ['b', 'B'],
      [undefined, 'e'],
    ],
  );
});

test('property: the rows rebuild both texts’ changed lines in order, numbered from their hunks', () => {
  const lines = fc.array(fc.constantFrom('a', 'b', 'c', 'd', ''), { maxLength: 12 });
  fc.assert(
    fc.property(lines, lines, (x, y) => {
      const before = x.map((l) => `${l}\n`).join('');
      const after = y.map((l) => `${l}\n`).join('');
      const rows = unifiedRows(textDiff(before, after, 'a', 'b'));
      for (const r of rows) {
        if (r.oldLine !== undefined) assert.equal(r.text, x[r.oldLine - 1]);
        if (r.newLine !== undefined) assert.equal(r.text, y[r.newLine - 1]);
      }
      const side = sideBySideRows(textDiff(before, after, 'a', 'b'));
      const removed = rows.filter((r) => r.kind === 'removed').length;
      assert.equal(side.filter((r) => r.left?.removed).length, removed);
    }),
  );
});
