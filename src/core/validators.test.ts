import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { parseEntityTag } from './entity-tag.ts';
import { createContentTagger, etagFromContent, etagFromStats, etagFromVersion } from './validators.ts';

const isStrongTag = (value: string) => parseEntityTag(value)?.weak === false;

describe('etagFromContent', () => {
  it('§8.8.3 is a strong entity-tag made of the length and 16 hex digits', () => {
    const tag = etagFromContent('hello world');
    assert.match(tag, /^"b-[0-9a-f]{16}"$/);
    assert.ok(isStrongTag(tag));
  });

  it('§8.8.1 is deterministic', () => {
    assert.equal(etagFromContent('hello world'), etagFromContent('hello world'));
  });

  it('hashes a string as UTF-8', () => {
    assert.equal(etagFromContent('\u00e9'), etagFromContent(new Uint8Array([0xc3, 0xa9])));
    assert.equal(etagFromContent('\u{1F600}'), etagFromContent(new Uint8Array([0xf0, 0x9f, 0x98, 0x80])));
  });

  it('accepts string, Uint8Array, Buffer, ArrayBuffer and DataView alike', () => {
    const bytes = new Uint8Array([104, 105, 33]); // "hi!"
    const expected = etagFromContent('hi!');
    assert.equal(etagFromContent(bytes), expected);
    assert.equal(etagFromContent(Buffer.from('hi!')), expected);
    assert.equal(etagFromContent(bytes.buffer), expected);
    assert.equal(etagFromContent(new DataView(bytes.buffer)), expected);
  });

  it('hashes only the bytes of a view, not the whole underlying buffer', () => {
    const backing = new Uint8Array([0, 0, 104, 105, 33, 0, 0]);
    const expected = etagFromContent('hi!');
    assert.equal(etagFromContent(backing.subarray(2, 5)), expected);
    assert.equal(etagFromContent(new DataView(backing.buffer, 2, 3)), expected);
    assert.equal(etagFromContent(Buffer.from(backing.buffer, 2, 3)), expected);
  });

  it('§8.8.3 the empty body has a tag too', () => {
    assert.match(etagFromContent(''), /^"0-[0-9a-f]{16}"$/);
    assert.equal(etagFromContent(''), etagFromContent(new Uint8Array(0)));
  });

  it('§8.8.3 differs when the length differs, even for zero bytes', () => {
    assert.notEqual(etagFromContent(new Uint8Array(1)), etagFromContent(new Uint8Array(2)));
  });

  it('is xxHash64 of the whole body, also above the one-shot limit where it is hashed in slices', async () => {
    const { h64Raw } = await xxhash();
    for (const size of [0, 1, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 + 7]) {
      const body = new Uint8Array(size).map((_, i) => (i * 131 + (i >> 9)) & 0xff);
      const hex = h64Raw(body, 0n).toString(16).padStart(16, '0');
      assert.equal(etagFromContent(body), `"${size.toString(36)}-${hex}"`, `size ${size}`);
      assert.equal(
        createContentTagger().update(body).digest(),
        etagFromContent(body),
        `streamed, size ${size}`,
      );
    }
  });

  it('does not pin WebAssembly memory the size of a large body', () => {
    // Filled first so the body's own pages are resident before measuring: reading untouched zero pages can
    // make them resident (transparent huge pages), which would be counted against the hash.
    const body = new Uint8Array(64 * 1024 * 1024).fill(7);
    const before = process.memoryUsage().rss;
    etagFromContent(body);
    createContentTagger().update(body).digest();
    // A one-shot copy into WebAssembly memory would grow the process by the whole 64 MB, for good.
    assert.ok(process.memoryUsage().rss - before < 32 * 1024 * 1024);
  });

  it('§8.8.3 differs when one byte differs in a large body', () => {
    const a = new Uint8Array(1 << 20);
    const b = a.slice();
    b[b.length - 1] = 1;
    assert.notEqual(etagFromContent(a), etagFromContent(b));
  });
});

describe('createContentTagger', () => {
  it('gives the tag etagFromContent gives for the concatenated chunks', () => {
    const tagger = createContentTagger();
    tagger
      .update('hello')
      .update(new Uint8Array([0x20]))
      .update(new TextEncoder().encode('world').buffer);
    assert.equal(tagger.digest(), etagFromContent('hello world'));
  });

  it('with no chunks, gives the tag of the empty body', () => {
    assert.equal(createContentTagger().digest(), etagFromContent(''));
  });

  it('digest can be read twice', () => {
    const tagger = createContentTagger().update('abc');
    assert.equal(tagger.digest(), tagger.digest());
  });

  it('interleaved taggers do not disturb each other', () => {
    const a = createContentTagger();
    const b = createContentTagger();
    a.update('hello ');
    b.update('xyz');
    etagFromContent('something else entirely'); // one-shot hashing in between
    a.update('world');
    b.update('abc');
    assert.equal(a.digest(), etagFromContent('hello world'));
    assert.equal(b.digest(), etagFromContent('xyzabc'));
  });

  it('handles 64 KB chunks of a 1 MB body', () => {
    const body = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    const tagger = createContentTagger();
    for (let offset = 0; offset < body.length; offset += 65536)
      tagger.update(body.subarray(offset, offset + 65536));
    assert.equal(tagger.digest(), etagFromContent(body));
  });
});

describe('etagFromVersion', () => {
  const rows: [
    rule: string,
    version: number | bigint | string | Date,
    options: { weak?: boolean },
    expected: string,
  ][] = [
    ['a version number', 42, {}, '"42"'],
    ['§8.8.1 weak option', 42, { weak: true }, 'W/"42"'],
    ['a negative number', -7, {}, '"-7"'],
    ['a fractional number', 1.5, {}, '"1.5"'],
    ['a bigint', 10n ** 30n, {}, `"1${'0'.repeat(30)}"`],
    ['a revision string made of etagc is used as is', 'rev-9f3c', {}, '"rev-9f3c"'],
    ['a weak revision string', 'rev-9f3c', { weak: true }, 'W/"rev-9f3c"'],
    [
      'an updatedAt Date is its milliseconds in base 36',
      new Date(1_700_000_000_000),
      {},
      `"${(1_700_000_000_000).toString(36)}"`,
    ],
    ['the epoch', new Date(0), {}, '"0"'],
  ];
  for (const [rule, version, options, expected] of rows) {
    it(`${rule}`, () => {
      assert.equal(etagFromVersion(version, options), expected);
    });
  }

  it('§8.8.3 a string with characters outside etagc is hashed into a valid tag', () => {
    for (const version of ['with space', 'quote"inside', 'caf\u00e9', '\u{1F600}', '', 'x'.repeat(65)]) {
      const tag = etagFromVersion(version);
      assert.match(tag, /^"h-[0-9a-f]+"$/, version);
      assert.equal(etagFromVersion(version), tag);
    }
    assert.notEqual(etagFromVersion('a b'), etagFromVersion('a  b'));
  });

  it('rejects NaN, infinities and an invalid Date with a TypeError', () => {
    assert.throws(() => etagFromVersion(Number.NaN), TypeError);
    assert.throws(() => etagFromVersion(Number.POSITIVE_INFINITY), TypeError);
    assert.throws(() => etagFromVersion(new Date(Number.NaN)), TypeError);
  });

  it('rejects other types with a TypeError naming the type', () => {
    assert.throws(() => etagFromVersion({} as unknown as string), /got object/);
    assert.throws(() => etagFromVersion(null as unknown as string), TypeError);
  });
});

describe('etagFromStats', () => {
  const stats = { size: 42, mtimeMs: 1_700_000_000_123.456 };

  it('§8.8.3 is a strong tag from size and mtime', () => {
    const tag = etagFromStats(stats);
    assert.ok(isStrongTag(tag));
    assert.equal(tag, `"${(42).toString(36)}-${(1_700_000_000_123_456).toString(36)}"`);
  });

  it('is stable and ignores the inode and device (same file on several machines)', () => {
    const machineA = { ...stats, ino: 1234, dev: 1 };
    const machineB = { ...stats, ino: 98765, dev: 7 };
    assert.equal(etagFromStats(machineA), etagFromStats(machineB));
    assert.equal(etagFromStats(stats), etagFromStats({ ...stats }));
  });

  it('§8.8.2.2 differs on a sub-second mtime change that Last-Modified cannot see', () => {
    assert.notEqual(etagFromStats(stats), etagFromStats({ ...stats, mtimeMs: stats.mtimeMs + 0.5 }));
    assert.notEqual(etagFromStats(stats), etagFromStats({ ...stats, mtimeMs: stats.mtimeMs + 0.001 }));
  });

  it('differs on a size change', () => {
    assert.notEqual(etagFromStats(stats), etagFromStats({ ...stats, size: 43 }));
  });

  it('§8.8.1 weak option and suffix', () => {
    assert.match(etagFromStats(stats, { weak: true }), /^W\/"[0-9a-z]+-[0-9a-z]+"$/);
    assert.match(etagFromStats(stats, { suffix: 'gzip' }), /^"[0-9a-z]+-[0-9a-z]+-gzip"$/);
    assert.throws(() => etagFromStats(stats, { suffix: 'a"b' }), TypeError);
  });

  it('rejects non-finite numbers with a TypeError', () => {
    assert.throws(() => etagFromStats({ size: Number.NaN, mtimeMs: 0 }), TypeError);
    assert.throws(() => etagFromStats({ size: 0, mtimeMs: Number.POSITIVE_INFINITY }), TypeError);
  });

  it('works on real fs.Stats: stable across stat calls, changes with a sub-second utimes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etagkit-stats-'));
    try {
      const file = join(dir, 'a.txt');
      await writeFile(file, 'hello');
      await utimes(file, 1_700_000_000.25, 1_700_000_000.25);
      const first = etagFromStats(await stat(file));
      assert.equal(etagFromStats(await stat(file)), first);
      await utimes(file, 1_700_000_000.75, 1_700_000_000.75); // same second, different fraction
      assert.notEqual(etagFromStats(await stat(file)), first);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ── Properties ────────────────────────────────────────────────────────────────────────────────────────────

describe('validator properties', () => {
  it('etagFromContent equals createContentTagger over any chunking and any input kind', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 4096 }),
        fc.array(fc.nat(4096), { maxLength: 8 }),
        fc.constantFrom('uint8array', 'arraybuffer', 'dataview'),
        (bytes, cuts, kind) => {
          const points = [...new Set([0, ...cuts.map((c) => c % (bytes.length + 1)), bytes.length])].sort(
            (a, b) => a - b,
          );
          const tagger = createContentTagger();
          for (let i = 1; i < points.length; i++) {
            const chunk = bytes.slice(points[i - 1], points[i]);
            tagger.update(
              kind === 'uint8array'
                ? chunk
                : kind === 'arraybuffer'
                  ? chunk.buffer
                  : new DataView(chunk.buffer),
            );
          }
          assert.equal(tagger.digest(), etagFromContent(bytes));
        },
      ),
    );
  });

  it('a string and its UTF-8 bytes have the same tag, streamed or not', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 5 }), (parts) => {
        const tagger = createContentTagger();
        for (const part of parts) tagger.update(part);
        const whole = parts.join('');
        assert.equal(tagger.digest(), etagFromContent(whole));
        assert.equal(etagFromContent(whole), etagFromContent(new TextEncoder().encode(whole)));
      }),
    );
  });

  it('§8.8.3 different contents get different tags', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.uint8Array({ maxLength: 256 }), (a, b) => {
        fc.pre(Buffer.compare(a, b) !== 0);
        assert.notEqual(etagFromContent(a), etagFromContent(b));
      }),
    );
  });

  it('§8.8.3 etagFromVersion always yields a valid entity-tag of the requested strength', () => {
    const version = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.bigInt(),
      fc.date({ noInvalidDate: true }),
    );
    fc.assert(
      fc.property(version, fc.boolean(), (v, weak) => {
        const parsed = parseEntityTag(etagFromVersion(v, { weak }));
        assert.equal(parsed?.weak, weak);
      }),
    );
  });

  it('§8.8.3 etagFromStats always yields a valid strong tag', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.double({ min: 0, max: 4e12, noNaN: true }), (size, mtimeMs) => {
        assert.ok(isStrongTag(etagFromStats({ size, mtimeMs })));
      }),
    );
  });
});
