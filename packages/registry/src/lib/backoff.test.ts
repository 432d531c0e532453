import { ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { jitteredBackoff } from './backoff.ts';

describe('jitteredBackoff', () => {
  it('grows by the multiplier up to maxMs, each delay within [step/2, step]', () => {
    const low = jitteredBackoff({ initialMs: 100, maxMs: 1000, multiplier: 2 }, () => 0);
    const high = jitteredBackoff({ initialMs: 100, maxMs: 1000, multiplier: 2 }, () => 0.999_999);
    expect([0, 1, 2, 3, 4, 50].map((a) => low.delay(a))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 50].map((a) => Math.round(high.delay(a)))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('spreads retries of clients that failed together', () => {
    const backoff = jitteredBackoff({ initialMs: 100 });
    const delays = new Set(Array.from({ length: 50 }, () => backoff.delay(3)));
    expect(delays.size).toBeGreaterThan(40);
  });

  it.each([
    ['initialMs 0', { initialMs: 0 }, 'backoff.initialMs'],
    ['maxMs NaN', { maxMs: Number.NaN }, 'backoff.maxMs'],
    ['multiplier 0.5', { multiplier: 0.5 }, 'backoff.multiplier'],
    ['maxMs below initialMs', { initialMs: 500, maxMs: 100 }, 'backoff.maxMs'],
  ])('rejects %s', (_what, options, field) => {
    expect(() => jitteredBackoff(options)).toThrow(ValidationError);
    try {
      jitteredBackoff(options);
    } catch (error) {
      expect((error as ValidationError).field).toBe(field);
    }
  });
});
