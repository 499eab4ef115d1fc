import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeText } from './text-file.ts';

const text = 'https://a.test/é interval=5m\r\n# ünïcode ✓\nhttps://b.test/\n';

function utf16be(value: string): Buffer {
  const le = Buffer.from(value, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1]!, le[i]!];
  return le;
}

test('decodeText: UTF-8 with and without a BOM, UTF-16 LE and BE by their BOM; the BOM is not text', () => {
  const rows: [string, Buffer][] = [
    ['utf-8', Buffer.from(text)],
    ['utf-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
    ['utf-16le BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
    ['utf-16be BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(text)])],
  ];
  for (const [name, bytes] of rows) assert.equal(decodeText(bytes), text, name);
  assert.equal(decodeText(Buffer.alloc(0)), '');
  assert.equal(decodeText(Buffer.from([0xff, 0xfe])), '');
});
