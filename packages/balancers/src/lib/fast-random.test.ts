import { describe, expect, it } from 'vitest';
import { randomFraction, randomIndex } from './fast-random.ts';

describe('fast random', () => {
  it('draws indexes in [0, n), every one about equally often', () => {
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70_000; i++) {
      const index = randomIndex(7);
      expect(Number.isInteger(index) && index >= 0 && index < 7).toBe(true);
      counts[index]!++;
    }
    for (const count of counts) {
      expect(count).toBeGreaterThan(9_300);
      expect(count).toBeLessThan(10_700);
    }
  });

  it('draws fractions in [0, 1) with a mean near 1/2 and no long repeats', () => {
    let sum = 0;
    const seen = new Set<number>();
    for (let i = 0; i < 50_000; i++) {
      const x = randomFraction();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
      seen.add(x);
    }
    expect(sum / 50_000).toBeCloseTo(0.5, 1);
    expect(seen.size).toBeGreaterThan(49_900);
  });
});
