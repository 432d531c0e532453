import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { Balancer, PickContext } from './balancer.ts';
import { consistentHash } from './consistent-hash.ts';
import { leastConnections } from './least-connections.ts';
import { maglev } from './maglev.ts';
import { peakEwma } from './peak-ewma.ts';
import { powerOfTwoChoices } from './power-of-two-choices.ts';
import { random } from './random.ts';
import { roundRobin } from './round-robin.ts';
import { weightedRandom } from './weighted-random.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

const fleet = (n: number, from = 0): ServiceInstance[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `i${from + i}`,
    service: 's',
    host: '127.0.0.1',
    port: 1000 + from + i,
    weight: 1 + ((from + i) % 3),
  }));

const strategies: Record<string, () => Balancer> = {
  roundRobin,
  weightedRoundRobin,
  random,
  weightedRandom,
  leastConnections,
  powerOfTwoChoices,
  peakEwma: () => peakEwma(),
  consistentHash: () => consistentHash(),
  'consistentHash bounded': () => consistentHash({ boundedLoad: 1.25 }),
  maglev: () => maglev({ tableSize: 1_009 }),
};

/** The contract every strategy keeps, checked the same way for each. */
describe.each(Object.entries(strategies))('%s keeps the balancer contract', (_name, make) => {
  const keyed = (context: PickContext, i: number): PickContext =>
    make().requiresHashKey ? { ...context, hashKey: `key-${i}` } : context;

  it('gives no pick for an empty snapshot, and always the instance of a single-instance one', () => {
    const load = new LoadStats();
    expect(
      make()
        .build(createSnapshot('s', [], 1), { load })
        .pick(keyed({}, 0)),
    ).toBeUndefined();
    const one = make().build(createSnapshot('s', fleet(1), 1), { load });
    for (let i = 0; i < 20; i++) expect(one.pick(keyed({}, i))?.id).toBe('i0');
  });

  it('never returns an excluded instance, and returns another while one is allowed', () => {
    const picker = make().build(createSnapshot('s', fleet(6), 1), { load: new LoadStats() });
    const tried = new Set<string>();
    const context = { excluded: (instance: ServiceInstance) => tried.has(instance.id) };
    for (let i = 0; i < 300; i++) {
      tried.clear();
      // A failover sequence: each attempt excludes every instance tried before it.
      for (let attempt = 0; attempt < 6; attempt++) {
        const instance = picker.pick(keyed(context, i));
        expect(instance).toBeDefined();
        expect(tried.has(instance!.id)).toBe(false);
        tried.add(instance!.id);
      }
      expect(picker.pick(keyed(context, i))).toBeUndefined();
    }
  });

  it('keeps serving from an old picker after a new snapshot is built, and the new one sees the shared load', () => {
    const strategy = make();
    const load = new LoadStats();
    const first = strategy.build(createSnapshot('s', fleet(4), 1), { load });
    const inFlight = Array.from({ length: 40 }, (_, i) => first.pick(keyed({}, i))!);
    for (const instance of inFlight) load.of(instance).onStart();
    // Membership changes mid-flight: i0 and i1 leave, i4 and i5 join.
    const next = fleet(6).slice(2);
    load.retain(next);
    const second = strategy.build(createSnapshot('s', next, 2), { load, previous: first });
    for (let i = 0; i < 40; i++) {
      expect(fleet(4).map((x) => x.id)).toContain(first.pick(keyed({}, i))!.id);
      expect(next.map((x) => x.id)).toContain(second.pick(keyed({}, i))!.id);
    }
    for (const instance of inFlight) load.of(instance).onEnd(1, 1, true);
    for (const instance of fleet(6)) expect(load.of(instance).inflight).toBe(0);
  });
});
