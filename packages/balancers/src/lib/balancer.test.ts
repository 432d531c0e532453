import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Balancer, PickContext } from './balancer.ts';
import { consistentHash } from './consistent-hash.ts';
import { seedRandom } from './fast-random.ts';
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
  maglev: () => maglev({ tableSize: 10_007 }),
  'maglev (default table)': () => maglev(),
};

/** Strategies that take turns in a fixed order. */
const rotations = new Set(['roundRobin', 'weightedRoundRobin']);

/** Strategies that spread evenly by design, whatever the weights. */
const ignoresWeights = new Set(['roundRobin', 'random']);

/** The contract every strategy keeps, checked the same way for each. */
describe.each(Object.entries(strategies))('%s keeps the balancer contract', (name, make) => {
  const requiresHashKey = make().requiresHashKey === true;
  const keyed = (context: PickContext, i: number): PickContext =>
    requiresHashKey ? { ...context, hashKey: `key-${i}` } : context;
  // Statistical tests: a fixed seed makes each run the same, so a bound can never fail by luck.
  beforeEach(() => seedRandom(0x5eed));

  /**
   * Shares of `picks` idle picks (each with its own key for hash strategies) over the instances,
   * with `excludedIds` excluded, against the shares their weights (or an even split) call for.
   */
  function spread(instances: ServiceInstance[], excludedIds: readonly string[], picks = 40_000) {
    const picker = make().build(createSnapshot('s', instances, 1), { load: new LoadStats() });
    const context: PickContext = { excluded: (instance) => excludedIds.includes(instance.id) };
    const counts = new Map<string, number>();
    for (let i = 0; i < picks; i++) {
      const id = picker.pick(keyed(context, i))!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const allowed = instances.filter((instance) => !excludedIds.includes(instance.id));
    const weight = (instance: ServiceInstance) => (ignoresWeights.has(name) ? 1 : (instance.weight ?? 1));
    const total = allowed.reduce((sum, instance) => sum + weight(instance), 0);
    return allowed.map((instance) => ({
      id: instance.id,
      share: (counts.get(instance.id) ?? 0) / picks,
      expected: weight(instance) / total,
    }));
  }

  // 40,000 random picks pin a share within a percent or two. A hash strategy's spread is fixed by
  // its table (≥ 100 entries an instance) or ring, whose points follow weight / total as in Envoy:
  // beside a weight-100 instance a weight-1 one holds ~6 of 640 points, so its share of the
  // heavy one's keys is proportional only up to about ±1/√6. Bounds say what each can promise.
  const tolerance = name.startsWith('consistentHash') ? 0.6 : requiresHashKey ? 0.2 : 0.05;

  it('spreads over the allowed instances by weight when the heaviest is excluded (100/1/1/1)', () => {
    const instances = fleet(4).map((instance, i) => ({ ...instance, weight: i === 0 ? 100 : 1 }));
    for (const { share, expected } of spread(instances, ['i0'])) {
      expect(Math.abs(share / expected - 1)).toBeLessThanOrEqual(tolerance);
    }
  });

  it('spreads over the allowed instances by weight when a zone of contiguous ids is excluded (8 of 10)', () => {
    const excludedIds = fleet(8).map((instance) => instance.id);
    for (const { share, expected } of spread(fleet(10), excludedIds)) {
      expect(Math.abs(share / expected - 1)).toBeLessThanOrEqual(tolerance);
    }
  });

  it("spreads an excluded instance's share over all the others by weight, not onto its neighbour", () => {
    for (const { share, expected } of spread(fleet(10), ['i4'])) {
      expect(Math.abs(share / expected - 1)).toBeLessThanOrEqual(tolerance);
    }
    // Rotations hand a retry the rotation's next turn, which is no extra load (the cursor moves
    // on); for every other strategy, where the excluded instance's own keys or draws go must be
    // spread as well.
    if (rotations.has(name)) return;
    const picker = make().build(createSnapshot('s', fleet(10), 1), { load: new LoadStats() });
    const moved = new Map<string, number>();
    let count = 0;
    for (let i = 0; i < 40_000; i++) {
      if (picker.pick(keyed({}, i))!.id !== 'i4') continue;
      const id = picker.pick(keyed({ excluded: (instance) => instance.id === 'i4' }, i))!.id;
      moved.set(id, (moved.get(id) ?? 0) + 1);
      count++;
    }
    // Nine others share it; the largest takes no more than a third (weights 1–3, so ≈ 3/17 each at most).
    expect(moved.size).toBe(9);
    expect(Math.max(...moved.values()) / count).toBeLessThan(1 / 3);
  });

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
