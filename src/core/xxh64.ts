/**
 * xxHash64 (seed 0) without a top-level await, so the package loads through `require()` (require of ESM refuses
 * modules that await at the top). xxhash-wasm instantiates asynchronously; until it is ready, a plain
 * JavaScript implementation of the same algorithm answers, giving the same values more slowly. That window is
 * only the first few milliseconds after import.
 */
import xxhash from 'xxhash-wasm';

type Wasm = Awaited<ReturnType<typeof xxhash>>;

/** An incremental hasher: `update` chunks, then `digest` once. */
export interface Hasher64 {
  update(bytes: Uint8Array): Hasher64;
  digest(): bigint;
}

let wasm: Wasm | undefined;
// A failed instantiation (no WebAssembly) leaves the JavaScript implementation in charge.
const instantiated = xxhash().then(
  (ready) => {
    wasm = ready;
  },
  () => {},
);

/** xxHash64 of these bytes. */
export function hash64(bytes: Uint8Array): bigint {
  return wasm ? wasm.h64Raw(bytes, 0n) : new JsHasher64().update(bytes).digest();
}

/** A streaming xxHash64 state; `digest()` equals `hash64` of the concatenated chunks. */
export function createHasher64(): Hasher64 {
  return wasm ? wasm.create64(0n) : new JsHasher64();
}

// The algorithm as specified in xxHash's doc/xxhash_spec.md, over BigInt limited to 64 bits.
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const u64 = (x: bigint) => BigInt.asUintN(64, x);
const rotl = (x: bigint, r: bigint) => u64((x << r) | (x >> (64n - r)));
const round = (acc: bigint, lane: bigint) => u64(rotl(u64(acc + lane * P2), 31n) * P1);
const merge = (acc: bigint, v: bigint) => u64((acc ^ round(0n, v)) * P1 + P4);

class JsHasher64 implements Hasher64 {
  #v = [u64(P1 + P2), P2, 0n, u64(-P1)];
  #pending = new Uint8Array(32);
  #pendingLength = 0;
  #total = 0;

  update(bytes: Uint8Array): this {
    this.#total += bytes.byteLength;
    let offset = 0;
    if (this.#pendingLength > 0) {
      const take = Math.min(32 - this.#pendingLength, bytes.byteLength);
      this.#pending.set(bytes.subarray(0, take), this.#pendingLength);
      this.#pendingLength += take;
      offset = take;
      if (this.#pendingLength < 32) return this;
      this.#stripe(this.#pending, 0);
      this.#pendingLength = 0;
    }
    for (; offset + 32 <= bytes.byteLength; offset += 32) this.#stripe(bytes, offset);
    this.#pending.set(bytes.subarray(offset), 0);
    this.#pendingLength = bytes.byteLength - offset;
    return this;
  }

  digest(): bigint {
    const [v1, v2, v3, v4] = this.#v as [bigint, bigint, bigint, bigint];
    let h =
      this.#total >= 32
        ? [v1, v2, v3, v4].reduce(merge, u64(rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)))
        : P5;
    h = u64(h + BigInt(this.#total));
    const rest = this.#pending;
    const view = new DataView(rest.buffer, rest.byteOffset, this.#pendingLength);
    let i = 0;
    for (; i + 8 <= this.#pendingLength; i += 8)
      h = u64(rotl(h ^ round(0n, view.getBigUint64(i, true)), 27n) * P1 + P4);
    if (i + 4 <= this.#pendingLength) {
      h = u64(rotl(h ^ u64(BigInt(view.getUint32(i, true)) * P1), 23n) * P2 + P3);
      i += 4;
    }
    for (; i < this.#pendingLength; i++) h = u64(rotl(h ^ u64(BigInt(rest[i]!) * P5), 11n) * P1);
    h = u64((h ^ (h >> 33n)) * P2);
    h = u64((h ^ (h >> 29n)) * P3);
    return h ^ (h >> 32n);
  }

  #stripe(bytes: Uint8Array, offset: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 32);
    for (let lane = 0; lane < 4; lane++)
      this.#v[lane] = round(this.#v[lane]!, view.getBigUint64(lane * 8, true));
  }
}

/** For tests: the pure JavaScript implementation, and whether WebAssembly has taken over. */
export const internals = {
  instantiated,
  jsHash64: (bytes: Uint8Array) => new JsHasher64().update(bytes).digest(),
  createJsHasher64: (): Hasher64 => new JsHasher64(),
  wasmReady: () => wasm !== undefined,
};
