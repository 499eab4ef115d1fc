import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseSurrogateControl, policyLines, type SurrogateDirective, surrogateRules } from './surrogate.ts';

test('parseSurrogateControl: names lower-cased, values unquoted, targets kept', () => {
  assert.deepEqual(parseSurrogateControl('MaX-aGe=60;etagkit, no-store;other,content="ESI/1.0 \\"x\\""'), [
    { name: 'max-age', value: '60', target: 'etagkit' },
    { name: 'no-store', target: 'other' },
    { name: 'content', value: 'ESI/1.0 "x"' },
  ]);
});

test('parseSurrogateControl: malformed elements are skipped, the others kept', () => {
  assert.deepEqual(parseSurrogateControl('max-age =100, max-age= 100, max-age=5'), [
    { name: 'max-age', value: '5' },
  ]);
  assert.deepEqual(parseSurrogateControl('a;, =b, "q,", no-store'), [{ name: 'no-store' }]);
  assert.deepEqual(parseSurrogateControl('max-age=1, content="open'), [{ name: 'max-age', value: '1' }]);
  assert.deepEqual(parseSurrogateControl(' , ,, '), []);
});

test('surrogateRules: targeted directives replace untargeted ones, other devices are ignored', () => {
  const rules = (value: string) => surrogateRules([['surrogate-control', value]]);
  assert.deepEqual(rules('max-age=60'), { noStore: false, maxAge: 60 });
  assert.deepEqual(rules('max-age=60, max-age=5;EtagKit'), { noStore: false, maxAge: 5 });
  assert.equal(rules('max-age=60;cdn, no-store;cdn'), undefined);
  assert.deepEqual(rules('no-store, max-age=60;cdn'), { noStore: true });
  assert.deepEqual(rules('max-age=99999999999'), { noStore: false, maxAge: 2147483648 });
  assert.deepEqual(rules('max-age=30+60'), { noStore: false, maxAge: 30 });
  assert.equal(rules('max-age=soon, content="ESI/1.0", foo'), undefined);
  assert.equal(surrogateRules([['cache-control', 'max-age=60']]), undefined);
});

test('policyLines: a targeted rule replaces Cache-Control and Expires; otherwise the lines are as they came', () => {
  const lines: [string, string][] = [
    ['cache-control', 'no-store'],
    ['expires', '0'],
    ['surrogate-control', 'max-age=600'],
    ['etag', '"a"'],
  ];
  assert.deepEqual(policyLines(lines), [
    ['surrogate-control', 'max-age=600'],
    ['etag', '"a"'],
    ['cache-control', 'max-age=600'],
  ]);
  const noStore: [string, string][] = [
    ['cache-control', 'max-age=60'],
    ['surrogate-control', 'no-store, max-age=60'],
  ];
  assert.deepEqual(policyLines(noStore), [noStore[1], ['cache-control', 'no-store']]);
  const untouched: [string, string][] = [
    ['cache-control', 'max-age=60'],
    ['surrogate-control', 'content="ESI/1.0"'],
  ];
  assert.equal(policyLines(untouched), untouched);
});

test('parseSurrogateControl never throws, and finds no more directives than commas allow', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (value) => {
      const parsed = parseSurrogateControl(value);
      assert.ok(parsed.length <= value.split(',').length);
      for (const d of parsed) assert.equal(d.name, d.name.toLowerCase());
    }),
    { numRuns: 2000 },
  );
});

const tchars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~".split('');
const token = fc.array(fc.constantFrom(...tchars), { minLength: 1, maxLength: 12 }).map((a) => a.join(''));
/** A quoted-string's content: printable ASCII and tabs, quotes and backslashes included. */
const quotable = fc
  .array(fc.constantFrom(...' \t"\\,;=abcXYZ09/'.split('')), { maxLength: 12 })
  .map((a) => a.join(''));

const directive = fc.record(
  {
    name: token.map((t) => t.toLowerCase()),
    value: fc.oneof(
      token.map((t) => ({ text: t, quoted: false })),
      quotable.map((t) => ({ text: t, quoted: true })),
    ),
    target: token,
  },
  { requiredKeys: ['name'] },
);

function serialize(d: { name: string; value?: { text: string; quoted: boolean }; target?: string }): string {
  let out = d.name;
  if (d.value)
    out += d.value.quoted ? `="${d.value.text.replace(/["\\]/g, (c) => `\\${c}`)}"` : `=${d.value.text}`;
  if (d.target !== undefined) out += `;${d.target}`;
  return out;
}

test('parseSurrogateControl reads back every list of valid directives it is given', () => {
  fc.assert(
    fc.property(fc.array(directive, { maxLength: 8 }), fc.constantFrom(',', ', ', ' ,\t'), (list, sep) => {
      const expected: SurrogateDirective[] = list.map((d) => ({
        name: d.name,
        ...(d.value ? { value: d.value.text } : {}),
        ...(d.target !== undefined ? { target: d.target } : {}),
      }));
      assert.deepEqual(parseSurrogateControl(list.map(serialize).join(sep)), expected);
    }),
    { numRuns: 2000 },
  );
});
