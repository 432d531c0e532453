import { createSnapshot, LoadStats, type ServiceInstance, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TABLE_CAP, defaultTableSize, maglev } from './maglev.ts';
import { isPrime, MaglevTable } from './maglev-table.ts';
import { murmur3 } from './murmur3.ts';

const fleet = (n: number, weight = (_i: number) => 1): ServiceInstance[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `i${i}`,
    service: 's',
    host: '127.0.0.1',
    port: 1000 + i,
    weight: weight(i),
  }));

const sorted = (instances: ServiceInstance[]) => createSnapshot('s', instances, 1).instances;

describe('MaglevTable', () => {
  it('fills every entry, and equal weights get shares within one entry of each other', () => {
    for (const n of [1, 7, 100]) {
      const counts = new MaglevTable(sorted(fleet(n)), 65_537).counts();
      expect(counts.reduce((a, b) => a + b, 0)).toBe(65_537);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  it('rejects a composite size (its fill could never finish) and handles no members', () => {
    // tried: 65536 (even) and 1001 (7 × 11 × 13)
    expect(() => new MaglevTable(sorted(fleet(3)), 65_536)).toThrow(/tableSize/);
    expect(() => new MaglevTable(sorted(fleet(3)), 1_001)).toThrow(ValidationError);
    expect(new MaglevTable([], 7).ownerAt(3)).toBe(-1);
  });

  it('honours weights', () => {
    const counts = new MaglevTable(sorted(fleet(3, (i) => [1, 2, 5][i]!)), 65_537).counts();
    expect(counts[1]! / counts[0]!).toBeCloseTo(2, 1);
    expect(counts[2]! / counts[0]!).toBeCloseTo(5, 1);
  });

  it('moves few entries when an instance joins, mostly to the newcomer', () => {
    const before = new MaglevTable(sorted(fleet(10)), 65_537);
    const after = new MaglevTable(sorted(fleet(11)), 65_537);
    let moved = 0;
    let toNewcomer = 0;
    for (let slot = 0; slot < 65_537; slot++) {
      const was = before.members[before.ownerAt(slot)]!.id;
      const now = after.members[after.ownerAt(slot)]!.id;
      if (was !== now) moved++;
      if (now === 'i10') toNewcomer++;
    }
    expect(toNewcomer / 65_537).toBeCloseTo(1 / 11, 2);
    expect(moved / 65_537).toBeLessThan(2 / 11);
  });
});

describe('maglev', () => {
  it('needs a hash key: a pick without one is a ValidationError naming hashKey', () => {
    const strategy = maglev();
    expect(strategy.requiresHashKey).toBe(true);
    const picker = strategy.build(createSnapshot('s', fleet(3), 1), { load: new LoadStats() });
    // tried: no context and an empty key
    expect(() => picker.pick()).toThrow(ValidationError);
    expect(() => picker.pick({ hashKey: '' })).toThrow(/hashKey/);
  });

  it('spreads keys near evenly and keeps each key on its instance across rebuilds', () => {
    const strategy = maglev();
    const first = strategy.build(createSnapshot('s', fleet(10), 1), { load: new LoadStats() });
    const again = strategy.build(createSnapshot('s', [...fleet(10)].reverse(), 2), { load: new LoadStats() });
    const counts = new Map<string, number>();
    for (let i = 0; i < 100_000; i++) {
      const hashKey = `user-${i}`;
      const id = first.pick({ hashKey })!.id;
      expect(again.pick({ hashKey })!.id).toBe(id);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(10);
    expect(Math.max(...counts.values()) / 10_000).toBeLessThan(1.05);
  });

  it('sends an excluded instance’s keys to the others, spread out and the same every time', () => {
    const picker = maglev({ tableSize: 10_007 }).build(createSnapshot('s', fleet(5), 1), {
      load: new LoadStats(),
    });
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const hashKey = `user-${i}`;
      const excluded = (x: ServiceInstance) => x.id === 'i0';
      const id = picker.pick({ hashKey, excluded })!.id;
      expect(picker.pick({ hashKey, excluded })!.id).toBe(id);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.has('i0')).toBe(false);
    for (const count of counts.values()) expect(count).toBeGreaterThan(4_000);
    expect(picker.pick({ hashKey: 'k', excluded: (x) => x.id !== 'i3' })?.id).toBe('i3');
    expect(picker.pick({ hashKey: 'k', excluded: () => true })).toBeUndefined();
  });

  it('works with one instance, gives nothing for an empty snapshot, and grows a table smaller than the fleet', () => {
    expect(
      maglev()
        .build(createSnapshot('s', fleet(1), 1), { load: new LoadStats() })
        .pick({ hashKey: 'k' })?.id,
    ).toBe('i0');
    expect(
      maglev()
        .build(createSnapshot('s', [], 1), { load: new LoadStats() })
        .pick({ hashKey: 'k' }),
    ).toBeUndefined();
    const small = maglev({ tableSize: 3 }).build(createSnapshot('s', fleet(5), 1), { load: new LoadStats() });
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) seen.add(small.pick({ hashKey: `k${i}` })!.id);
    expect(seen.size).toBe(5);
  });

  it('rejects a table size that is not a prime in range, naming it', () => {
    // tried: a composite, a fraction, a tiny prime, one past the limit
    for (const tableSize of [65_536, 101.5, 2, 16_777_260]) {
      expect(() => maglev({ tableSize })).toThrow(ValidationError);
      expect(() => maglev({ tableSize })).toThrow(/tableSize/);
    }
    expect(isPrime(65_537)).toBe(true);
    expect(isPrime(1)).toBe(false);
  });

  it('sizes its default table to the fleet: a prime of a fixed ladder, ≥ 100 entries an instance, within the cap', () => {
    expect(defaultTableSize(1)).toBe(257);
    expect(defaultTableSize(10)).toBe(1_031);
    expect(defaultTableSize(11)).toBe(2_053);
    expect(defaultTableSize(655)).toBe(65_537);
    // Past 655 instances 65,537 breaks Maglev's M ≥ 100·N: the table grows.
    expect(defaultTableSize(656)).toBe(131_101);
    expect(defaultTableSize(1_000)).toBe(131_101);
    expect(defaultTableSize(10_485)).toBe(DEFAULT_TABLE_CAP);
    expect(defaultTableSize(50_000)).toBe(DEFAULT_TABLE_CAP);
    for (const n of [1, 2, 5, 11, 21, 41, 82, 164, 328, 656, 1_311, 2_622, 5_243, 10_485]) {
      const size = defaultTableSize(n);
      expect(isPrime(size)).toBe(true);
      expect(size).toBeGreaterThanOrEqual(100 * n);
    }
    // The picker uses it: 1,000 instances route as a 131,101-entry table does.
    const instances = sorted(fleet(1_000));
    const picker = maglev().build(createSnapshot('s', instances, 1), { load: new LoadStats() });
    const table = new MaglevTable(instances, 131_101);
    for (let i = 0; i < 2_000; i++) {
      const hashKey = `user-${i}`;
      expect(picker.pick({ hashKey })).toBe(table.members[table.ownerAt(murmur3(hashKey) % table.size)]);
    }
  });
});
