import { ValidationError } from '@switchyard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing, MAX_RING_SIZE, type RingMember } from './hash-ring.ts';
import { murmur3, murmur3Int } from './murmur3.ts';

const members = (n: number, from = 0): RingMember[] =>
  Array.from({ length: n }, (_, i) => ({ id: `node-${from + i}` }));
const keys = (n: number) => Array.from({ length: n }, (_, i) => `key-${i}`);

describe('HashRing', () => {
  it('maps the same key to the same member across rebuilds, whatever the member order', () => {
    const a = new HashRing(members(20));
    const b = new HashRing([...members(20)].reverse());
    for (const key of keys(5_000)) expect(b.get(key)!.id).toBe(a.get(key)!.id);
  });

  it('moves about 1/(n+1) of the keys when one member joins, all of them to the newcomer', () => {
    for (const n of [10, 50]) {
      const before = new HashRing(members(n));
      const after = new HashRing(members(n + 1));
      let moved = 0;
      for (const key of keys(50_000)) {
        const was = before.get(key)!.id;
        const now = after.get(key)!.id;
        if (was !== now) {
          moved++;
          expect(now).toBe(`node-${n}`);
        }
      }
      const expected = 50_000 / (n + 1);
      expect(moved).toBeGreaterThan(expected * 0.7);
      expect(moved).toBeLessThan(expected * 1.3);
    }
  });

  it.each([10, 3])('moves only the leaving member’s keys when one of %i leaves', (n) => {
    // Also in a small fleet: no minimum ring size rescales the members that stay.
    const before = new HashRing(members(n));
    const after = new HashRing(members(n).filter((m) => m.id !== 'node-1'));
    for (const key of keys(20_000)) {
      const was = before.get(key)!.id;
      if (was !== 'node-1') expect(after.get(key)!.id).toBe(was);
    }
  });

  it('returns n distinct replicas in ring order, the owner first', () => {
    const ring = new HashRing(members(8));
    for (const key of keys(500)) {
      const replicas = ring.getN(key, 3);
      expect(replicas).toHaveLength(3);
      expect(new Set(replicas.map((m) => m.id)).size).toBe(3);
      expect(replicas[0]).toBe(ring.get(key));
    }
    expect(ring.getN('k', 20)).toHaveLength(8); // no more than there are members
    expect(ring.getN('k', 0)).toEqual([]);
    // tried: a negative count and a fractional one
    expect(() => ring.getN('k', -1)).toThrow(ValidationError);
    expect(() => ring.getN('k', 1.5)).toThrow(/invalid n/);
  });

  it('reports ownership summing to 1, near even at 160 points, and scaled by weight', () => {
    const even = new HashRing(members(10)).ownership();
    expect([...even.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    for (const share of even.values()) {
      expect(share).toBeGreaterThan(0.075);
      expect(share).toBeLessThan(0.125);
    }
    const weighted = new HashRing([{ id: 'a' }, { id: 'b' }, { id: 'c', weight: 2 }]);
    // 160 points a member of mean weight, shared 1 : 1 : 2.
    expect(weighted.pointCount).toBe(480);
    const shares = weighted.ownership();
    expect(shares.get('c')! / shares.get('a')!).toBeGreaterThan(1.6);
    expect(shares.get('c')! / shares.get('a')!).toBeLessThan(2.5);
  });

  it('agrees with its ownership: key counts follow the owned fractions', () => {
    const ring = new HashRing(members(5), { virtualNodes: 20 });
    const counts = new Map<string, number>();
    for (const key of keys(100_000)) counts.set(ring.get(key)!.id, (counts.get(ring.get(key)!.id) ?? 0) + 1);
    for (const [id, share] of ring.ownership()) expect(counts.get(id)! / 100_000).toBeCloseTo(share, 2);
  });

  it('handles an empty ring, a single member and multi-byte keys', () => {
    expect(new HashRing([]).get('k')).toBeUndefined();
    expect(new HashRing([]).getN('k', 2)).toEqual([]);
    const one = new HashRing([{ id: 'solo' }]);
    expect(one.get('🌈 clé')?.id).toBe('solo');
    expect(one.ownership().get('solo')).toBe(1);
  });

  it('rejects bad options and members with a ValidationError naming them', () => {
    // tried: zero, fractional and huge virtual node counts; duplicate and empty ids; a zero weight
    expect(() => new HashRing(members(2), { virtualNodes: 0 })).toThrow(/virtualNodes/);
    expect(() => new HashRing(members(2), { virtualNodes: 2.5 })).toThrow(ValidationError);
    expect(() => new HashRing(members(2), { virtualNodes: 1e6 })).toThrow(/virtualNodes/);
    expect(() => new HashRing([{ id: 'a' }, { id: 'a' }])).toThrow(/members\[1\]\.id.*duplicate/);
    expect(() => new HashRing([{ id: '' }])).toThrow(/members\[0\]\.id/);
    expect(() => new HashRing([{ id: 'a', weight: 0 }])).toThrow(/members\[0\]\.weight/);
  });

  it('finds the owner of the first point at or after the key’s hash, as a brute-force search does (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.string(), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 40 }),
        (ids, sample, virtualNodes) => {
          const ring = new HashRing(
            ids.map((id) => ({ id })),
            { virtualNodes, minRingSize: 1 },
          );
          // The ring's definition, spelled out: member i owns murmur3Int(v, murmur3(id)) for v < vnodes.
          const points = ids.flatMap((id, owner) =>
            Array.from({ length: virtualNodes }, (_, v) => ({ point: murmur3Int(v, murmur3(id)), owner })),
          );
          points.sort((a, b) => a.point - b.point || a.owner - b.owner);
          for (const key of sample) {
            const hash = murmur3(key);
            const first = points.find((p) => p.point >= hash) ?? points[0]!;
            expect(ring.get(key)!.id).toBe(ids[first.owner]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps a key on its member when another member leaves (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 12 }),
        fc.array(fc.string(), { minLength: 1, maxLength: 20 }),
        fc.nat(),
        (ids, sample, leaver) => {
          const all = new HashRing(
            ids.map((id) => ({ id })),
            { virtualNodes: 16, minRingSize: 1 },
          );
          const gone = ids[leaver % ids.length]!;
          const rest = new HashRing(
            ids.filter((id) => id !== gone).map((id) => ({ id })),
            { virtualNodes: 16, minRingSize: 1 },
          );
          for (const key of sample) {
            const owner = all.get(key)!.id;
            if (owner !== gone) expect(rest.get(key)!.id).toBe(owner);
            else expect(rest.get(key)!.id).toBe(all.getN(key, 2)[1]!.id); // its keys go to the next replica
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  describe('weights are relative (Envoy, gRFC A42)', () => {
    it('builds the same ring when every weight is scaled by a constant', () => {
      const base = members(12).map((member, i) => ({ ...member, weight: 1 + (i % 3) }));
      const ring = new HashRing(base);
      for (const factor of [10, 120, 0.005]) {
        const scaled = new HashRing(base.map((member) => ({ ...member, weight: member.weight * factor })));
        expect(scaled.pointCount).toBe(ring.pointCount);
        for (const key of keys(5_000)) expect(scaled.get(key)!.id).toBe(ring.get(key)!.id);
      }
    });

    it('takes any valid weight without throwing or starving a member', () => {
      // A Consul weight of 200,000 beside two of 1: the light ones keep their share.
      const heavy = new HashRing([{ id: 'a', weight: 200_000 }, { id: 'b' }, { id: 'c' }]);
      expect(heavy.ownership().get('b')).toBeGreaterThan(0);
      // 1,000 instances of weight 120: the same ring as weight 1, 160 points each.
      const many = new HashRing(members(1_000).map((member) => ({ ...member, weight: 120 })));
      expect(many.pointCount).toBe(160_000);
      // Five of weight 0.005: 160 points each, an even spread.
      const tiny = new HashRing(members(5).map((member) => ({ ...member, weight: 0.005 })));
      expect(tiny.pointCount).toBe(800);
      const shares = [...tiny.ownership().values()];
      expect(Math.max(...shares) / Math.min(...shares)).toBeLessThan(1.6);
      // The extremes of a double: capped, and the lightest keeps a point.
      const extreme = new HashRing([
        { id: 'a', weight: Number.MAX_VALUE },
        { id: 'b', weight: Number.MIN_VALUE },
      ]);
      expect(extreme.pointCount).toBeLessThanOrEqual(MAX_RING_SIZE + 2);
      expect(extreme.getN('k', 2)).toHaveLength(2);
    });

    it('sizes the ring between minRingSize and maxRingSize, and rejects bad sizes naming them', () => {
      expect(new HashRing(members(3)).pointCount).toBe(480);
      expect(new HashRing(members(100)).pointCount).toBe(16_000);
      expect(new HashRing(members(100), { maxRingSize: 2_000 }).pointCount).toBe(2_000);
      // Envoy's minimum: 1,024 points between three.
      expect(new HashRing(members(3), { minRingSize: 1_024 }).pointCount).toBe(1_023);
      // tried: above the cap, zero, a fraction, a minimum above the maximum
      expect(() => new HashRing([], { maxRingSize: MAX_RING_SIZE + 1 })).toThrow(/maxRingSize/);
      expect(() => new HashRing([], { minRingSize: 0 })).toThrow(/minRingSize/);
      expect(() => new HashRing([], { minRingSize: 1.5 })).toThrow(ValidationError);
      expect(() => new HashRing([], { minRingSize: 5_000, maxRingSize: 4_000 })).toThrow(/minRingSize/);
    });
  });
});
