import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { seedRandom } from './fast-random.ts';
import { powerOfTwoChoices } from './power-of-two-choices.ts';

function fleet(n: number, weight = (_i: number) => 1): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `i${i}`,
    service: 's',
    host: '127.0.0.1',
    port: 1000 + i,
    weight: weight(i),
  }));
}

describe('powerOfTwoChoices', () => {
  // Statistical tests: a fixed seed makes each run the same, so a bound can never fail by luck.
  beforeEach(() => seedRandom(0x5eed));

  it('never sends to the most loaded of three (it always loses its comparison)', () => {
    const load = new LoadStats();
    const picker = powerOfTwoChoices().build(createSnapshot('s', fleet(3), 1), { load });
    load.of('i2').inflight = 5;
    load.of('i0').inflight = 1;
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) seen.add(picker.pick()!.id);
    expect(seen).toEqual(new Set(['i0', 'i1']));
  });

  it('draws two distinct instances and keeps the less loaded: shares 2/3, 1/3, 0 for loads 0, 1, 2', () => {
    const load = new LoadStats();
    const picker = powerOfTwoChoices().build(createSnapshot('s', fleet(3), 1), { load });
    load.of('i1').inflight = 1;
    load.of('i2').inflight = 2;
    const counts = new Map<string, number>();
    for (let i = 0; i < 30_000; i++) {
      const id = picker.pick()!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    // i0 wins every pair it is in (2 of 3 pairs), i1 the pair without i0, i2 none.
    expect((counts.get('i0') ?? 0) / 30_000).toBeCloseTo(2 / 3, 1);
    expect((counts.get('i1') ?? 0) / 30_000).toBeCloseTo(1 / 3, 1);
    expect(counts.get('i2')).toBeUndefined();
  });

  it('gives an idle fleet even shares (a tie keeps the first drawn)', () => {
    const picker = powerOfTwoChoices().build(createSnapshot('s', fleet(10), 1), { load: new LoadStats() });
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[Number(picker.pick()!.id.slice(1))]!++;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('reads live counts after the service outgrows its counts array', () => {
    const load = new LoadStats();
    const picker = powerOfTwoChoices().build(createSnapshot('s', fleet(2), 1), { load });
    for (let i = 0; i < 100; i++) load.of(`other${i}`); // the counts array is replaced as it grows
    load.of('i1').onStart();
    for (let i = 0; i < 50; i++) expect(picker.pick()?.id).toBe('i0');
  });

  it('compares in-flight per unit of weight', () => {
    const load = new LoadStats();
    const picker = powerOfTwoChoices().build(
      createSnapshot(
        's',
        fleet(2, (i) => (i === 0 ? 4 : 1)),
        1,
      ),
      { load },
    );
    load.of('i0').inflight = 3; // 3 / 4 < 1 / 1
    load.of('i1').inflight = 1;
    for (let i = 0; i < 50; i++) expect(picker.pick()?.id).toBe('i0');
  });

  it('keeps a fleet even when requests stay in flight', () => {
    const load = new LoadStats();
    const picker = powerOfTwoChoices().build(createSnapshot('s', fleet(10), 1), { load });
    for (let i = 0; i < 10_000; i++) load.of(picker.pick()!).onStart();
    const counts = fleet(10).map((instance) => load.of(instance).inflight);
    // Random choice would spread ±100 or more here; two choices keep it within a few.
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(4);
  });

  it('honours exclusions, still answering while one instance is allowed', () => {
    const picker = powerOfTwoChoices().build(createSnapshot('s', fleet(5), 1), { load: new LoadStats() });
    for (let i = 0; i < 200; i++) {
      expect(picker.pick({ excluded: (x) => x.id !== 'i3' })?.id).toBe('i3');
      expect(picker.pick({ excluded: (x) => x.id === 'i1' })?.id).not.toBe('i1');
    }
    expect(picker.pick({ excluded: () => true })).toBeUndefined();
  });

  it('works with one instance and gives nothing for an empty snapshot', () => {
    const one = powerOfTwoChoices().build(createSnapshot('s', fleet(1), 1), { load: new LoadStats() });
    expect(one.pick()?.id).toBe('i0');
    expect(one.pick({ excluded: () => true })).toBeUndefined();
    const none = powerOfTwoChoices().build(createSnapshot('s', [], 1), { load: new LoadStats() });
    expect(none.pick()).toBeUndefined();
  });
});
