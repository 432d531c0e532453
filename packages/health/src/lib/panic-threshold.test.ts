import { type ServiceInstance, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { routableWithPanic } from './panic-threshold.ts';

const all: ServiceInstance[] = Array.from({ length: 10 }, (_, i) => ({
  id: `i${i}`,
  service: 'api',
  host: '10.0.0.1',
  port: 9000 + i,
}));
const firstHealthy = (n: number) => (instance: ServiceInstance) => Number(instance.id.slice(1)) < n;

describe('routableWithPanic', () => {
  it('routes to the healthy instances while enough of them are healthy', () => {
    const verdict = routableWithPanic(all, firstHealthy(5), 50);
    expect(verdict.panic).toBe(false);
    expect(verdict.instances.map((i) => i.id)).toEqual(['i0', 'i1', 'i2', 'i3', 'i4']);
    expect([verdict.healthy, verdict.total]).toEqual([5, 10]);
  });

  it('routes to all of them below the threshold (Envoy panic mode)', () => {
    const verdict = routableWithPanic(all, firstHealthy(4), 50);
    expect(verdict.panic).toBe(true);
    expect(verdict.instances).toBe(all);
    expect(verdict.healthy).toBe(4);
  });

  it('with every instance down, panics to all; with threshold 0 it never panics', () => {
    expect(routableWithPanic(all, () => false, 50)).toMatchObject({ panic: true, instances: all });
    expect(routableWithPanic(all, () => false, 0)).toMatchObject({ panic: false, instances: [] });
    expect(routableWithPanic(all, firstHealthy(9), 100)).toMatchObject({ panic: true, instances: all });
  });

  it('hands back the same array when all are healthy, and handles an empty list', () => {
    expect(routableWithPanic(all, () => true).instances).toBe(all);
    expect(routableWithPanic([], () => true, 50)).toEqual({
      instances: [],
      panic: false,
      healthy: 0,
      total: 0,
    });
  });

  it.each([
    [-1, '-1'],
    [101, '101'],
    [Number.NaN, 'NaN'],
  ])('rejects panicThresholdPercent %s', (threshold) => {
    // Tried: a threshold outside 0..100 or not a number.
    expect(() => routableWithPanic(all, () => true, threshold)).toThrow(ValidationError);
    expect(() => routableWithPanic(all, () => true, threshold)).toThrow(
      expect.objectContaining({ field: 'panicThresholdPercent' }),
    );
  });
});
