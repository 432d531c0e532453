/**
 * MurmurHash3 x86 32-bit over the UTF-8 bytes of a string: the same function, bit for bit, as
 * `murmurhash3js-revisited`'s `x86.hash32(utf8(key), seed)` (the tests hold it to that). It is
 * written out with `Math.imul` because the ring and Maglev hash on every pick, and the
 * library's per-call byte validation and 16-bit multiplications cost about twice as much.
 * ASCII keys are read straight from the string; others are encoded into a reused buffer.
 */

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/**
 * Where `hashInto` leaves its result. A uint32 above 2³⁰ returned from a call that the JIT does
 * not inline is boxed (16 bytes); read from a typed array it stays a raw integer.
 */
export const hashSlot = new Uint32Array(1);

/**
 * The 32-bit MurmurHash3 (x86) of `key`'s UTF-8 bytes, as an unsigned integer.
 *
 * @example
 * murmur3('user-42'); // the same as murmurhash3js-revisited's x86.hash32(utf8('user-42'))
 */
export function murmur3(key: string, seed = 0): number {
  hashInto(key, seed);
  return hashSlot[0]!;
}

/** murmur3(key, seed), left in `hashSlot[0]`: for pick paths, which must not allocate. */
export function hashInto(key: string, seed: number): void {
  const n = key.length;
  let h = seed | 0;
  let i = 0;
  const blocks = n & ~3;
  for (; i < blocks; i += 4) {
    const a = key.charCodeAt(i);
    const b = key.charCodeAt(i + 1);
    const c = key.charCodeAt(i + 2);
    const d = key.charCodeAt(i + 3);
    // ASCII is its own UTF-8; anything else is encoded and hashed as bytes.
    if ((a | b | c | d) > 0x7f) {
      hashEncoded(key, seed);
      return;
    }
    h = mixBlock(h, a | (b << 8) | (c << 16) | (d << 24));
  }
  const tail = n & 3;
  if (tail !== 0) {
    const a = key.charCodeAt(i);
    const b = tail > 1 ? key.charCodeAt(i + 1) : 0;
    const c = tail > 2 ? key.charCodeAt(i + 2) : 0;
    if ((a | b | c) > 0x7f) {
      hashEncoded(key, seed);
      return;
    }
    h ^= mixK(a | (b << 8) | (c << 16));
  }
  hashSlot[0] = finish(h, n);
}

function hashEncoded(key: string, seed: number): void {
  hashSlot[0] = murmur3Bytes(scratchFor(key), encodedLength, seed);
}

/** The 32-bit MurmurHash3 (x86) of `bytes[0, length)`. */
export function murmur3Bytes(bytes: Uint8Array, length: number, seed = 0): number {
  let h = seed | 0;
  let i = 0;
  const blocks = length & ~3;
  for (; i < blocks; i += 4) {
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  const tail = length & 3;
  if (tail !== 0) {
    let k = bytes[i]!;
    if (tail > 1) k |= bytes[i + 1]! << 8;
    if (tail > 2) k |= bytes[i + 2]! << 16;
    h ^= mixK(k);
  }
  return finish(h, length);
}

let encodedLength = 0;

function scratchFor(key: string): Uint8Array {
  // UTF-8 needs at most 3 bytes per UTF-16 unit; grow once, then reuse.
  if (scratch.length < key.length * 3) scratch = new Uint8Array(key.length * 3);
  encodedLength = encoder.encodeInto(key, scratch).written;
  return scratch;
}

function mixK(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

function mixBlock(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3 (x86, 32-bit) of the 4 little-endian bytes of `value`: derives ring points cheaply. */
export function murmur3Int(value: number, seed: number): number {
  return finish(mixBlock(seed | 0, value | 0), 4);
}
