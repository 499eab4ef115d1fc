import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { internals } from './xxh64.ts';

const { h64Raw, create64 } = await xxhash();
const bytesOf = (text: string) => new TextEncoder().encode(text);

describe('xxHash64 in JavaScript (answers until WebAssembly is ready)', () => {
  it('gives the published xxHash64 values', () => {
    assert.equal(internals.jsHash64(new Uint8Array()), 0xef46db3751d8e999n);
    assert.equal(internals.jsHash64(bytesOf('a')), 0xd24ec4f1a98c6e5bn);
    assert.equal(internals.jsHash64(bytesOf('abc')), 0x44bc2cf5ad770999n);
  });

  it('equals xxhash-wasm for every length around the 4-, 8- and 32-byte steps', () => {
    const bytes = Uint8Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let length = 0; length <= bytes.length; length++) {
      const slice = bytes.subarray(0, length);
      assert.equal(internals.jsHash64(slice), h64Raw(slice, 0n), `length ${length}`);
    }
  });

  it('equals xxhash-wasm for arbitrary bytes fed in arbitrary chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 90 }), { maxLength: 8 }), (chunks) => {
        const js = internals.createJsHasher64();
        const reference = create64(0n);
        for (const chunk of chunks) {
          js.update(chunk);
          reference.update(chunk);
        }
        assert.equal(js.digest(), reference.digest());
      }),
    );
  });

  it('hands over to WebAssembly once it is instantiated', async () => {
    await internals.instantiated;
    assert.equal(internals.wasmReady(), true);
  });
});
