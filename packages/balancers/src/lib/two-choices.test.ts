import type { ServiceInstance } from '@switchyard/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { seedRandom } from './fast-random.ts';
import { TwoChoicesPicker } from './two-choices.ts';

const fleet = (n: number, weight = (_i: number) => 1): ServiceInstance[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `i${i}`,
    service: 's',
    host: '127.0.0.1',
    port: 1000 + i,
    weight: weight(i),
  }));

/** Records each pair it is asked about and keeps the first: the draw itself, laid bare. */
class PairRecorder extends TwoChoicesPicker {
  readonly pairs: [number, number][] = [];
  protected better(a: number, b: number): number {
    this.pairs.push([a, b]);
    return a;
  }
}

describe('TwoChoicesPicker', () => {
  beforeEach(() => seedRandom(0x5eed));

  it('draws two distinct instances, every pair possible', () => {
    const picker = new PairRecorder(fleet(4));
    for (let i = 0; i < 2_000; i++) picker.pick();
    expect(picker.pairs.every(([a, b]) => a !== b)).toBe(true);
    expect(new Set(picker.pairs.map((pair) => [...pair].sort().join())).size).toBe(6);
  });

  it('draws only allowed instances, and answers with the one left when only one is allowed', () => {
    const picker = new PairRecorder(fleet(5));
    for (let i = 0; i < 500; i++) {
      picker.pick({ excluded: (x) => x.id === 'i0' || x.id === 'i1' || x.id === 'i2' });
      expect(picker.pick({ excluded: (x) => x.id !== 'i2' })?.id).toBe('i2');
    }
    expect(picker.pairs.every((pair) => [...pair].sort().join() === '3,4')).toBe(true);
    expect(picker.pick({ excluded: () => true })).toBeUndefined();
    expect(new PairRecorder(fleet(1)).pick({ excluded: () => true })).toBeUndefined();
    expect(new PairRecorder(fleet(1)).pick()?.id).toBe('i0');
  });

  it('draws the first candidate in proportion to weight, also among the allowed', () => {
    const picker = new PairRecorder(fleet(4, (i) => [100, 1, 2, 3][i]!));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 30_000; i++)
      counts[Number(picker.pick({ excluded: (x) => x.id === 'i0' })!.id[1])]!++;
    expect(counts[0]).toBe(0);
    expect(counts[1]! / 30_000).toBeCloseTo(1 / 6, 1);
    expect(counts[3]! / 30_000).toBeCloseTo(3 / 6, 1);
  });
});
