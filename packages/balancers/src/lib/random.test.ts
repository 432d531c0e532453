import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Picker } from './balancer.ts';
import { seedRandom } from './fast-random.ts';
import { random } from './random.ts';

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

describe('random', () => {
  // Statistical tests: a fixed seed makes each run the same, so a bound can never fail by luck.
  beforeEach(() => seedRandom(0x5eed));

  const build = (weights: readonly number[]) =>
    random().build(createSnapshot('s', fleet(weights), 1), { load: new LoadStats() });

  it('spreads evenly, ignoring weights', () => {
    const counts = countPicks(build([1, 5, 1, 1]), 40_000);
    for (const id of ['i0', 'i1', 'i2', 'i3']) {
      expect(counts.get(id)).toBeGreaterThan(9_000);
      expect(counts.get(id)).toBeLessThan(11_000);
    }
  });

  it('never returns an excluded instance, and returns one whenever one is allowed', () => {
    const picker = build([1, 1, 1, 1]);
    const counts = countPicks(picker, 4_000, (instance) => instance.id !== 'i3');
    expect([...counts.keys()]).toEqual(['i3']);
    const spread = countPicks(picker, 6_000, (instance) => instance.id === 'i0');
    expect(spread.has('i0')).toBe(false);
    expect(spread.size).toBe(3);
    expect(picker.pick({ excluded: () => true })).toBeUndefined();
  });

  it('works with one instance and gives nothing for an empty snapshot', () => {
    expect(build([1]).pick()?.id).toBe('i0');
    expect(build([]).pick()).toBeUndefined();
  });
});
