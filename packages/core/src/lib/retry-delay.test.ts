import { describe, expect, it } from 'vitest';
import { retryDelay } from './retry-delay.ts';

describe('retryDelay', () => {
  it('doubles up to the cap, with half of each step random', () => {
    const samples = (attempt: number) => Array.from({ length: 200 }, () => retryDelay(attempt, 100, 1_000));
    for (const [attempt, ceiling] of [
      [0, 100],
      [1, 200],
      [3, 800],
      [4, 1_000],
      [30, 1_000],
    ] as const) {
      const values = samples(attempt);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(ceiling / 2);
      expect(Math.max(...values)).toBeLessThanOrEqual(ceiling);
      expect(new Set(values).size).toBeGreaterThan(1); // jittered, not lockstep
    }
  });
});
