import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Picker } from './balancer.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

function fleet(weights: readonly number[]): ServiceInstance[] {
  return weights.map((weight, i) => ({
    id: `i${i}`,
    service: 's',
    host: '127.0.0.1',
    port: 1000 + i,
    weight,
  }));
}

function build(weights: readonly number[]): Picker {
  return weightedRoundRobin().build(createSnapshot('s', fleet(weights), 1), { load: new LoadStats() });
}

function picks(picker: Picker, count: number): string[] {
  return Array.from({ length: count }, () => picker.pick()!.id);
}

/** Every window of `window` consecutive picks holds each instance exactly its weight times. */
function expectExactWindows(sequence: readonly string[], weights: readonly number[], window: number): void {
  for (let start = 0; start + window <= sequence.length; start++) {
    const counts = new Map<string, number>();
    for (const id of sequence.slice(start, start + window)) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [i, weight] of weights.entries()) expect(counts.get(`i${i}`) ?? 0).toBe(weight);
  }
}

function longestRun(sequence: readonly string[]): number {
  let longest = 0;
  for (let i = 0, run = 0; i < sequence.length; i++) {
    run = i > 0 && sequence[i] === sequence[i - 1] ? run + 1 : 1;
    longest = Math.max(longest, run);
  }
  return longest;
}

describe('weightedRoundRobin', () => {
  it('gives each instance exactly its weight in every window of sum(weights) picks', () => {
    expectExactWindows(picks(build([5, 1, 1]), 70), [5, 1, 1], 7);
    expectExactWindows(picks(build([3, 2, 1, 4]), 100), [3, 2, 1, 4], 10);
  });

  it('is smooth: weights 5,1,1 never give 5 in a row, and the light ones are spread out', () => {
    const sequence = picks(build([5, 1, 1]), 700);
    expect(longestRun(sequence)).toBeLessThan(5);
    // Within one cycle the nginx order is a a b a c a a (from some rotation of it).
    expect(sequence.join('').replaceAll('i', '')).toMatch(
      /0010200|0102000|1020000|0200001|2000010|0000102|0001020/,
    );
  });

  it('reduces weights by their gcd (10,20 behaves as 1,2)', () => {
    expectExactWindows(picks(build([10, 20]), 30), [1, 2], 3);
  });

  it('honours fractional weights exactly over whole cycles (the live algorithm)', () => {
    const counts = new Map<string, number>();
    for (const id of picks(build([0.5, 1.5]), 400)) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(counts.get('i0')).toBe(100);
    expect(counts.get('i1')).toBe(300);
  });

  it('honours weights whose cycle is too long to precompute', () => {
    const counts = new Map<string, number>();
    for (const id of picks(build([100_000, 1]), 100_001)) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(counts.get('i1')).toBe(1);
    expect(counts.get('i0')).toBe(100_000);
  });

  it('skips excluded instances, keeping the ratio among the others; all excluded gives undefined', () => {
    const picker = build([3, 2, 1]);
    const skipFirst = { excluded: (instance: ServiceInstance) => instance.id === 'i0' };
    const counts = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const id = picker.pick(skipFirst)!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.get('i0')).toBeUndefined();
    expect(counts.get('i1')).toBeGreaterThan(counts.get('i2')! * 1.5);
    expect(picker.pick({ excluded: () => true })).toBeUndefined();
    const heavy = build([1000, 1]);
    // The heavy one fills almost the whole cycle: excluding it still yields the light one at once.
    expect(heavy.pick({ excluded: (instance) => instance.id === 'i0' })?.id).toBe('i1');
  });

  it('skips excluded instances with fractional weights too (the live algorithm)', () => {
    const picker = build([0.5, 1.5, 1]);
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const id = picker.pick({ excluded: (instance) => instance.id === 'i1' })!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    // Among i0 (0.5) and i2 (1): one third and two thirds.
    expect(counts.has('i1')).toBe(false);
    expect(Math.abs(counts.get('i0')! - 400 / 3)).toBeLessThanOrEqual(1);
    expect(picker.pick({ excluded: () => true })).toBeUndefined();
  });

  it('works with one instance and gives nothing for an empty snapshot', () => {
    expect(picks(build([7]), 3)).toEqual(['i0', 'i0', 'i0']);
    expect(build([]).pick()).toBeUndefined();
  });

  it('applies weight changes with the next snapshot', () => {
    const strategy = weightedRoundRobin();
    const load = new LoadStats();
    const before = strategy.build(createSnapshot('s', fleet([1, 1]), 1), { load });
    const after = strategy.build(createSnapshot('s', fleet([1, 3]), 2), { load, previous: before });
    expectExactWindows(picks(before, 20), [1, 1], 2);
    expectExactWindows(picks(after, 40), [1, 3], 4);
  });

  it('holds the window invariant for any integer weights (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), (weights) => {
        // e.g. [5, 1, 1]: sum 7, so every 7 consecutive picks hold i0 5 times, i1 and i2 once.
        const total = weights.reduce((a, b) => a + b, 0);
        const sequence = picks(build(weights), total * 3);
        expectExactWindows(sequence, weights, total);
        // Smoothness: no instance runs longer than its share of a cycle allows.
        if (weights.length > 1) expect(longestRun(sequence)).toBeLessThanOrEqual(Math.max(...weights) * 2);
      }),
      { numRuns: 100 },
    );
  });
});
