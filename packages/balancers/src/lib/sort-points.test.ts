import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SMALL_SORT_LIMIT, sortPoints } from './sort-points.ts';

describe('sortPoints', () => {
  it.each([
    ['native sort', 0, 300, 100],
    ['radix sort', SMALL_SORT_LIMIT, SMALL_SORT_LIMIT + 3_000, 10],
  ])('sorts points ascending, owners interleaved beside them, stable on equal points: %s (property)', (_path, minLength, maxLength, numRuns) => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength, maxLength }), (values) => {
        // Duplicate some values so equal points with different owners occur.
        const input = [...values, ...values.slice(0, 5)];
        const pairs = sortPoints(
          Uint32Array.from(input),
          Uint32Array.from(input, (_, i) => i),
        );
        const expected = input.map((point, owner) => ({ point, owner })).sort((a, b) => a.point - b.point);
        expect([...pairs]).toEqual(expected.flatMap((entry) => [entry.point, entry.owner]));
      }),
      { numRuns },
    );
  });
});
