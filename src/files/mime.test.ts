import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentTypeFor, isCompressible } from './mime.ts';

const rows: [string, string][] = [
  ['index.html', 'text/html; charset=utf-8'],
  ['APP.JS', 'text/javascript; charset=utf-8'],
  ['archive.tar.gz', 'application/gzip'],
  ['no-extension', 'application/octet-stream'],
  ['trailing.', 'application/octet-stream'],
  // Object.prototype's keys are no media types.
  ['x.constructor', 'application/octet-stream'],
  ['x.__proto__', 'application/octet-stream'],
  ['x.toString', 'application/octet-stream'],
  ['x.hasOwnProperty', 'application/octet-stream'],
];

for (const [name, type] of rows) {
  test(`contentTypeFor(${JSON.stringify(name)}) → ${type}`, () => {
    assert.equal(contentTypeFor(name), type);
  });
}

test('isCompressible: text-like types yes; images, fonts, archives and unknown bytes no', () => {
  for (const name of ['a.html', 'a.css', 'a.js', 'a.json', 'a.svg', 'a.wasm', 'a.xml', 'a.md'])
    assert.ok(isCompressible(contentTypeFor(name)), name);
  for (const name of ['a.png', 'a.woff2', 'a.gz', 'a.zip', 'a.bin', 'a.constructor'])
    assert.ok(!isCompressible(contentTypeFor(name)), name);
});
