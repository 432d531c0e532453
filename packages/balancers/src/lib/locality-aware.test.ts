import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { seedRandom } from './fast-random.ts';
import { leastConnections } from './least-connections.ts';
import { localityAware, priorityLoads, zoneShares } from './locality-aware.ts';
import { roundRobin } from './round-robin.ts';

const ZONES = ['a', 'b', 'c'];
/** 3 zones × 4 instances, ids `a0…c3`. */
const fleet = (): ServiceInstance[] =>
  ZONES.flatMap((zone) =>
    Array.from({ length: 4 }, (_, i) => ({
      id: `${zone}${i}`,
      service: 's',
      host: '127.0.0.1',
      port: 2000 + i,
      zone,
    })),
  );

/**
 * Callers in `callerZones` each send `picks` requests through a client in their zone; the
 * ejected instances are unhealthy (and excluded, as the client excludes them). Returns requests
 * per instance and the local share of zone `a`'s callers.
 */
function simulate(ejected: ReadonlySet<string>, callerZones: readonly string[], picks = 20_000) {
  const counts = new Map<string, number>();
  let localOfA = 0;
  for (const zone of callerZones) {
    const picker = localityAware(roundRobin(), { localZone: zone }).build(createSnapshot('s', fleet(), 1), {
      load: new LoadStats(),
      isHealthy: (instance) => !ejected.has(instance.id),
    });
    const context = { excluded: (instance: ServiceInstance) => ejected.has(instance.id) };
    for (let i = 0; i < picks; i++) {
      const instance = picker.pick(context);
      if (!instance) throw new Error('no pick');
      counts.set(instance.id, (counts.get(instance.id) ?? 0) + 1);
      if (zone === 'a' && instance.zone === 'a') localOfA++;
    }
  }
  return { counts, localShareOfA: localOfA / picks };
}

describe('localityAware: zone-aware routing (3 zones × 4 instances, callers in zone a)', () => {
  beforeEach(() => seedRandom(0x20e5));

  it('keeps ≥ 95 % of traffic local while every instance is healthy (here: all of it)', () => {
    const { localShareOfA } = simulate(new Set(), ['a']);
    expect(localShareOfA).toBeGreaterThanOrEqual(0.95);
    expect(localShareOfA).toBe(1);
  });

  it('spills in proportion as zone a loses instances, and never overloads anyone', () => {
    const figures: string[] = [];
    for (const lost of [1, 2, 3, 4]) {
      const ejected = new Set(Array.from({ length: lost }, (_, i) => `a${i}`));
      // Zone a keeps healthy_a/healthy ÷ total_a/total of its callers' traffic: 1 − lost/(12 − lost) × 3 …
      const healthyA = 4 - lost;
      const expectedLocal = Math.min(1, healthyA / (12 - lost) / (4 / 12));
      const { localShareOfA } = simulate(ejected, ['a']);
      expect(Math.abs(localShareOfA - expectedLocal)).toBeLessThan(0.015);
      // With callers in every zone (as many as instances), each healthy instance carries its fair share.
      const all = simulate(ejected, ZONES);
      const fair = (3 * 20_000) / (12 - lost);
      const loads = [...all.counts.entries()].filter(([id]) => !ejected.has(id)).map(([, n]) => n);
      expect(Math.max(...loads) / fair).toBeLessThan(1.05);
      expect([...all.counts.keys()].some((id) => ejected.has(id))).toBe(false);
      figures.push(
        `${lost} lost: local ${(localShareOfA * 100).toFixed(1)} %, max/fair ${(Math.max(...loads) / fair).toFixed(3)}`,
      );
    }
    expect(figures).toHaveLength(4);
  });

  it('falls back fully to other zones when the local zone has no healthy instance', () => {
    const { localShareOfA, counts } = simulate(new Set(['a0', 'a1', 'a2', 'a3']), ['a']);
    expect(localShareOfA).toBe(0);
    expect(counts.size).toBe(8);
  });

  it('is off below minClusterSize healthy instances and for a caller without a zone', () => {
    expect(
      zoneShares(
        [
          { name: 'a', total: 2, healthy: 1 },
          { name: 'b', total: 2, healthy: 2 },
        ],
        'a',
        6,
      ),
    ).toBeUndefined();
    expect(zoneShares([{ name: 'a', total: 4, healthy: 4 }], 'a', 1)).toBeUndefined();
    const picker = localityAware(roundRobin()).build(createSnapshot('s', fleet(), 1), {
      load: new LoadStats(),
    });
    const zones = new Set<string | undefined>();
    for (let i = 0; i < 12; i++) zones.add(picker.pick()?.zone);
    expect(zones.size).toBe(3);
  });

  it('works around any strategy and keeps its state across builds', () => {
    const balancer = localityAware(leastConnections(), { localZone: 'b' });
    const load = new LoadStats();
    const first = balancer.build(createSnapshot('s', fleet(), 1), { load });
    expect(first.pick()?.zone).toBe('b');
    const second = balancer.build(createSnapshot('s', fleet(), 2), { load, previous: first });
    expect(second.pick()?.zone).toBe('b');
  });
});

describe('localityAware: priority levels (overprovisioning 1.4)', () => {
  beforeEach(() => seedRandom(0x9a1));
  const levels = (): ServiceInstance[] =>
    ['p0', 'p1'].flatMap((level, priority) =>
      Array.from({ length: 4 }, (_, i) => ({
        id: `${level}-${i}`,
        service: 's',
        host: '127.0.0.1',
        port: 3000 + i,
        metadata: { priority: String(priority) },
      })),
    );
  const shareOfP0 = (unhealthy: number) => {
    const down = new Set(Array.from({ length: unhealthy }, (_, i) => `p0-${i}`));
    const picker = localityAware(roundRobin()).build(createSnapshot('s', levels(), 1), {
      load: new LoadStats(),
      isHealthy: (instance) => !down.has(instance.id),
    });
    const context = { excluded: (instance: ServiceInstance) => down.has(instance.id) };
    let p0 = 0;
    for (let i = 0; i < 20_000; i++) if (picker.pick(context)?.id.startsWith('p0')) p0++;
    return p0 / 20_000;
  };

  it('keeps priority 0 while ≥ 1/1.4 healthy, then shifts to priority 1 in proportion', () => {
    expect(shareOfP0(0)).toBe(1);
    expect(shareOfP0(1)).toBe(1); // 75 % healthy × 1.4 ≥ 100 %
    expect(Math.abs(shareOfP0(2) - 0.7)).toBeLessThan(0.015); // 50 % × 1.4 = 70 %
    expect(Math.abs(shareOfP0(3) - 0.35)).toBeLessThan(0.015);
    expect(shareOfP0(4)).toBe(0);
  });

  it('computes Envoy’s loads, scaling up when the levels’ health sums below 100 %', () => {
    expect(
      priorityLoads(
        [
          { total: 4, healthy: 2 },
          { total: 4, healthy: 4 },
        ],
        1.4,
      ),
    ).toEqual([0.7, 0.30000000000000004]);
    const scaled = priorityLoads(
      [
        { total: 10, healthy: 2 },
        { total: 10, healthy: 3 },
      ],
      1.4,
    );
    expect(scaled[0]).toBeCloseTo(0.28 / 0.7, 6);
    expect(scaled[1]).toBeCloseTo(0.42 / 0.7, 6);
    expect(priorityLoads([{ total: 2, healthy: 0 }], 1.4)).toEqual([1]);
  });
});
