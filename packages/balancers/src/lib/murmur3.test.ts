import fc from 'fast-check';
import reference from 'murmurhash3js-revisited';
import { describe, expect, it } from 'vitest';
import { murmur3, murmur3Bytes, murmur3Int } from './murmur3.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('murmur3', () => {
  it('matches murmurhash3js-revisited on its documented vectors', () => {
    expect(murmur3('I will not buy this record, it is scratched.')).toBe(2832214938);
    expect(murmur3('My hovercraft is full of eels.', 25)).toBe(2520298415);
  });

  it('matches murmurhash3js-revisited on any string (ASCII and multi-byte), any seed', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (key, seed) => {
          expect(murmur3(key, seed)).toBe(reference.x86.hash32(utf8(key), seed));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('hashes every tail length (0..3 trailing bytes) like the reference', () => {
    for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'é', 'éa', '🌈', 'x🌈y']) {
      expect(murmur3(key)).toBe(reference.x86.hash32(utf8(key), 0));
    }
  });

  it('hashes byte ranges and 4-byte integers like the reference', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 33 }), fc.nat(), (bytes, seed) => {
        const padded = new Uint8Array(bytes.length + 5);
        padded.set(bytes);
        expect(murmur3Bytes(padded, bytes.length, seed)).toBe(reference.x86.hash32(bytes, seed));
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.nat(), (value, seed) => {
        const le = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];
        expect(murmur3Int(value, seed)).toBe(reference.x86.hash32(le, seed));
      }),
    );
  });

  it('keeps multi-byte keys of any length correct (the reused buffer grows)', () => {
    const long = 'ü'.repeat(500);
    expect(murmur3(long)).toBe(reference.x86.hash32(utf8(long), 0));
    expect(murmur3('ü')).toBe(reference.x86.hash32(utf8('ü'), 0));
  });
});
