import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sortPoints } from './sort-points.ts';

describe('sortPoints', () => {
  it('sorts points ascending, carrying owners along, stable on equal points (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 300 }), (values) => {
        // Duplicate some values so equal points with different owners occur.
        const input = [...values, ...values.slice(0, 5)];
        const points = Uint32Array.from(input);
        const owners = Int32Array.from(input, (_, i) => i);
        sortPoints(points, owners);
        const expected = input.map((point, owner) => ({ point, owner })).sort((a, b) => a.point - b.point);
        expect([...points]).toEqual(expected.map((entry) => entry.point));
        expect([...owners]).toEqual(expected.map((entry) => entry.owner));
      }),
    );
  });
});
