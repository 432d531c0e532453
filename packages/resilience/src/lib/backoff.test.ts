import { describe, expect, it } from 'vitest';
import { createBackoff, jitterMode } from './backoff.ts';

const take = (seq: { next(): number }, n: number) => Array.from({ length: n }, () => seq.next());
const base = { initialMs: 100, maxMs: 1_000, multiplier: 2 };

describe('createBackoff', () => {
  it("'none' grows by the multiplier up to maxMs", () => {
    expect(take(createBackoff({ ...base, jitter: 'none' }), 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(take(createBackoff({ ...base, multiplier: 3, jitter: 'none' }), 4)).toEqual([100, 300, 900, 1000]);
  });

  it("'full' is random in [0, delay)", () => {
    expect(
      take(
        createBackoff({ ...base, jitter: 'full' }, () => 0),
        3,
      ),
    ).toEqual([0, 0, 0]);
    expect(
      take(
        createBackoff({ ...base, jitter: 'full' }, () => 0.5),
        4,
      ),
    ).toEqual([50, 100, 200, 400]);
    expect(
      take(
        createBackoff({ ...base, jitter: 'full' }, () => 0.999),
        5,
      ),
    ).toEqual([99, 199, 399, 799, 999]);
  });

  it("'equal' keeps half fixed: [delay / 2, delay)", () => {
    expect(
      take(
        createBackoff({ ...base, jitter: 'equal' }, () => 0),
        4,
      ),
    ).toEqual([50, 100, 200, 400]);
    expect(
      take(
        createBackoff({ ...base, jitter: 'equal' }, () => 0.999),
        4,
      ),
    ).toEqual([99, 199, 399, 799]);
  });

  it('full jitter with real randomness stays within bounds', () => {
    const delays = take(createBackoff({ ...base, jitter: 'full' }), 200);
    expect(delays.every((d) => d >= 0 && d < 1000)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });

  it('each sequence starts over', () => {
    const options = { ...base, jitter: 'none' as const };
    take(createBackoff(options), 3);
    expect(createBackoff(options).next()).toBe(100);
  });
});

describe('jitterMode', () => {
  it('maps booleans and the default', () => {
    expect(jitterMode(undefined)).toBe('full');
    expect(jitterMode(true)).toBe('full');
    expect(jitterMode(false)).toBe('none');
    expect(jitterMode('equal')).toBe('equal');
  });
});
