import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { requestTarget } from './target.ts';

test('RFC 9112 §3.2: origin form and absolute form (reduced to path and query) are accepted', () => {
  assert.equal(requestTarget('/a/b?c=1'), '/a/b?c=1');
  assert.equal(requestTarget('http://elsewhere.example/a?x'), '/a?x');
  assert.equal(requestTarget('/files/v1.2/x.tar.gz'), '/files/v1.2/x.tar.gz');
  assert.equal(requestTarget('/a?next=../b'), '/a?next=../b', 'dots in the query are data');
});

for (const raw of [
  '/a/../b',
  '/..',
  '/a/./b',
  '/a/%2e%2e/b',
  '/a/%2E/b',
  '/.%2e/x',
  '*',
  'ftp://x/y',
  'x',
  '/a#frag',
]) {
  test(`refused: ${raw}`, () => {
    assert.equal(typeof requestTarget(raw), 'object');
  });
}

test('property: an accepted target starts with / and has no dot segment; refusals explain themselves', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom('/', '.', '%', '2', 'e', 'E', 'a', '?', '#', ':') }),
      (raw) => {
        const out = requestTarget(raw);
        if (typeof out === 'string') {
          assert.ok(out.startsWith('/'));
          const path = out.split('?')[0]!;
          for (const segment of path.split('/'))
            assert.ok(!['.', '..'].includes(segment.replace(/%2e/gi, '.')), `dot segment in ${out}`);
        } else assert.ok(out.error.length > 0);
      },
    ),
  );
});

test('a long hostile path costs linear time', () => {
  const started = performance.now();
  requestTarget(`/${'%2e'.repeat(100_000)}/${'a/'.repeat(100_000)}`);
  assert.ok(performance.now() - started < 500);
});
