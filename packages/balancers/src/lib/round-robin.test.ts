import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { roundRobin } from './round-robin.ts';

function instances(n: number): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `i${i}`,
    service: 's',
    host: '127.0.0.1',
    port: 1000 + i,
  }));
}

describe('roundRobin', () => {
  it('gives every instance exactly its share over whole rounds', () => {
    const picker = roundRobin().build(createSnapshot('s', instances(3), 1), { load: new LoadStats() });
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const id = picker.pick()!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual([100, 100, 100]);
  });

  it('starts new pickers at different places', () => {
    const snapshot = createSnapshot('s', instances(10), 1);
    const firsts = new Set<string>();
    for (let i = 0; i < 50; i++)
      firsts.add(roundRobin().build(snapshot, { load: new LoadStats() }).pick()!.id);
    expect(firsts.size).toBeGreaterThan(3);
  });

  it('resumes the rotation across snapshot changes', () => {
    const strategy = roundRobin();
    const load = new LoadStats();
    const first = strategy.build(createSnapshot('s', instances(4), 1), { load });
    while (first.pick()!.id !== 'i1') {}
    // i2 is next; add an instance: the rotation goes on at i2, not at a random place.
    const second = strategy.build(createSnapshot('s', [...instances(4), ...instances(6).slice(4)], 2), {
      load,
      previous: first,
    });
    expect([second.pick()!.id, second.pick()!.id]).toEqual(['i2', 'i3']);
    // i4 is next; remove it: the rotation goes on with the instance after it.
    const third = strategy.build(
      createSnapshot(
        's',
        instances(6).filter((i) => i.id !== 'i4'),
        3,
      ),
      {
        load,
        previous: second,
      },
    );
    expect(third.pick()!.id).toBe('i5');
  });

  it('skips excluded instances and answers undefined when all are excluded or none exist', () => {
    const picker = roundRobin().build(createSnapshot('s', instances(3), 1), { load: new LoadStats() });
    const excluded = (instance: ServiceInstance) => instance.id !== 'i2';
    for (let i = 0; i < 5; i++) expect(picker.pick({ excluded })!.id).toBe('i2');
    expect(picker.pick({ excluded: () => true })).toBeUndefined();
    expect(
      roundRobin()
        .build(createSnapshot('s', [], 1), { load: new LoadStats() })
        .pick(),
    ).toBeUndefined();
  });
});
