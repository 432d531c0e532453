import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Picker } from './balancer.ts';
import { seedRandom } from './fast-random.ts';
import { weightedRandom } from './weighted-random.ts';

function fleet(weights: readonly number[]): ServiceInstance[] {
  return weights.map((weight, i) => ({
    id: `i${i}`,
    service: 's',
    host: '127.0.0.1',
    port: 1000 + i,
    weight,
  }));
}

function countPicks(picker: Picker, draws: number, excluded?: (instance: ServiceInstance) => boolean) {
  const counts = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    const id = picker.pick({ excluded })!.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('weightedRandom', () => {
  // Statistical tests: a fixed seed makes each run the same, so a bound can never fail by luck.
  beforeEach(() => seedRandom(0x5eed));

  const build = (weights: readonly number[]) =>
    weightedRandom().build(createSnapshot('s', fleet(weights), 1), { load: new LoadStats() });

  it('draws in proportion to weight (1 : 2 : 7, and fractional 0.5 : 1.5)', () => {
    const counts = countPicks(build([1, 2, 7]), 100_000);
    expect(counts.get('i0')! / 100_000).toBeCloseTo(0.1, 1);
    expect(counts.get('i1')! / 100_000).toBeCloseTo(0.2, 1);
    expect(counts.get('i2')! / 100_000).toBeCloseTo(0.7, 1);
    const fractional = countPicks(build([0.5, 1.5]), 40_000);
    expect(fractional.get('i1')! / fractional.get('i0')!).toBeGreaterThan(2.7);
    expect(fractional.get('i1')! / fractional.get('i0')!).toBeLessThan(3.3);
  });

  it('keeps the weighting among the others when one is excluded', () => {
    const counts = countPicks(build([1, 3, 6]), 40_000, (instance) => instance.id === 'i2');
    expect(counts.has('i2')).toBe(false);
    expect(counts.get('i1')! / counts.get('i0')!).toBeGreaterThan(2.6);
    expect(counts.get('i1')! / counts.get('i0')!).toBeLessThan(3.4);
  });

  it('finds the one allowed instance even when it is very light, and gives undefined when none is', () => {
    const picker = build([1_000_000, 1_000_000, 1]);
    for (let i = 0; i < 100; i++) expect(picker.pick({ excluded: (x) => x.id !== 'i2' })?.id).toBe('i2');
    expect(picker.pick({ excluded: () => true })).toBeUndefined();
  });

  it('works with one instance and gives nothing for an empty snapshot', () => {
    expect(build([3]).pick()?.id).toBe('i0');
    expect(build([]).pick()).toBeUndefined();
  });
});
