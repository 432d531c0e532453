import { createSnapshot, LoadStats, type ServiceInstance, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { consistentHash } from './consistent-hash.ts';
import { HashRing } from './hash-ring.ts';

const fleet = (n: number): ServiceInstance[] =>
  Array.from({ length: n }, (_, i) => ({ id: `i${i}`, service: 's', host: '127.0.0.1', port: 1000 + i }));

describe('consistentHash', () => {
  it('needs a hash key: a pick without one is a ValidationError naming hashKey', () => {
    const strategy = consistentHash();
    expect(strategy.requiresHashKey).toBe(true);
    const picker = strategy.build(createSnapshot('s', fleet(3), 1), { load: new LoadStats() });
    // tried: no context, no key, an empty key
    expect(() => picker.pick()).toThrow(ValidationError);
    expect(() => picker.pick({})).toThrow(/invalid hashKey/);
    expect(() => picker.pick({ hashKey: '' })).toThrow(/hashKey/);
    try {
      picker.pick({});
    } catch (error) {
      expect((error as ValidationError).field).toBe('hashKey');
      expect((error as ValidationError).service).toBe('s');
    }
    expect.assertions(6);
  });

  it('sends a key to the instance its ring owns, the same across rebuilds', () => {
    const strategy = consistentHash();
    const first = strategy.build(createSnapshot('s', fleet(10), 1), { load: new LoadStats() });
    const second = strategy.build(createSnapshot('s', [...fleet(10)].reverse(), 2), {
      load: new LoadStats(),
    });
    const ring = new HashRing(fleet(10));
    for (let i = 0; i < 2_000; i++) {
      const hashKey = `user-${i}`;
      expect(first.pick({ hashKey })?.id).toBe(ring.get(hashKey)!.id);
      expect(second.pick({ hashKey })?.id).toBe(ring.get(hashKey)!.id);
    }
  });

  it('walks on to the next distinct instance on the ring when the owner is excluded', () => {
    const picker = consistentHash().build(createSnapshot('s', fleet(6), 1), { load: new LoadStats() });
    const ring = new HashRing(fleet(6));
    for (let i = 0; i < 500; i++) {
      const hashKey = `user-${i}`;
      const [owner, second, third] = ring.getN(hashKey, 3);
      expect(picker.pick({ hashKey, excluded: (x) => x.id === owner!.id })?.id).toBe(second!.id);
      const tried = new Set([owner!.id, second!.id]);
      expect(picker.pick({ hashKey, excluded: (x) => tried.has(x.id) })?.id).toBe(third!.id);
    }
    expect(picker.pick({ hashKey: 'k', excluded: () => true })).toBeUndefined();
  });

  it('never lets an instance exceed ⌈c · (in flight + 1) / n⌉ with bounded loads, even on one hot key', () => {
    const load = new LoadStats();
    const n = 8;
    const c = 1.25;
    const picker = consistentHash({ boundedLoad: c }).build(createSnapshot('s', fleet(n), 1), { load });
    const open: ServiceInstance[] = [];
    let inflight = 0;
    let walkedAway = 0;
    const owner = new HashRing(fleet(n)).get('hot')!.id;
    for (let step = 0; step < 5_000; step++) {
      // Mostly one hot key, some others; a third of the time a request finishes.
      const hashKey = step % 4 === 0 ? `k-${step}` : 'hot';
      const capacity = Math.ceil((c * (inflight + 1)) / n);
      const instance = picker.pick({ hashKey })!;
      if (hashKey === 'hot' && instance.id !== owner) walkedAway++;
      load.of(instance).onStart();
      inflight++;
      open.push(instance);
      expect(load.of(instance).inflight).toBeLessThanOrEqual(capacity);
      if (step % 3 === 0) {
        const done = open.splice(Math.floor(Math.random() * open.length), 1)[0]!;
        load.of(done).onEnd(step, 1, true);
        inflight--;
      }
    }
    expect(walkedAway).toBeGreaterThan(0); // the bound did bite
  });

  it('keeps keys on their owner while load is balanced', () => {
    const load = new LoadStats();
    const picker = consistentHash({ boundedLoad: 1.25 }).build(createSnapshot('s', fleet(4), 1), { load });
    const ring = new HashRing(fleet(4));
    for (let i = 0; i < 200; i++) expect(picker.pick({ hashKey: `u${i}` })?.id).toBe(ring.get(`u${i}`)!.id);
  });

  it('still answers under bounded loads when every allowed instance is full', () => {
    const load = new LoadStats();
    const picker = consistentHash({ boundedLoad: 1 }).build(createSnapshot('s', fleet(3), 1), { load });
    load.of('i0').inflight = 10;
    load.of('i1').inflight = 10;
    // Capacity is ⌈21 / 3⌉ = 7: only i2 has room, and it is excluded.
    const answer = picker.pick({ hashKey: 'k', excluded: (x) => x.id === 'i2' });
    expect(answer?.id).toMatch(/i0|i1/);
  });

  it('works with one instance and gives nothing for an empty snapshot', () => {
    expect(
      consistentHash()
        .build(createSnapshot('s', fleet(1), 1), { load: new LoadStats() })
        .pick({ hashKey: 'k' })?.id,
    ).toBe('i0');
    expect(
      consistentHash({ boundedLoad: 2 })
        .build(createSnapshot('s', [], 1), { load: new LoadStats() })
        .pick({ hashKey: 'k' }),
    ).toBeUndefined();
  });

  it('rejects bad options up front, naming them', () => {
    // tried: a bound below 1, NaN, a string; zero virtual nodes
    expect(() => consistentHash({ boundedLoad: 0.9 })).toThrow(/boundedLoad/);
    expect(() => consistentHash({ boundedLoad: Number.NaN })).toThrow(ValidationError);
    expect(() => consistentHash({ boundedLoad: '2' as unknown as number })).toThrow(/boundedLoad/);
    expect(() => consistentHash({ virtualNodes: 0 })).toThrow(/virtualNodes/);
  });

  it('takes relative weights: huge ones build, and scaling every weight changes no pick', () => {
    const weighted = (factor: number) =>
      createSnapshot(
        's',
        Array.from({ length: 8 }, (_, i) => ({
          id: `i${i}`,
          service: 's',
          host: '127.0.0.1',
          port: 1000 + i,
          weight: (1 + (i % 3)) * factor,
        })),
        1,
      );
    const load = new LoadStats();
    const base = consistentHash().build(weighted(1), { load });
    for (const factor of [10, 200_000, 0.005]) {
      const scaled = consistentHash().build(weighted(factor), { load });
      for (let i = 0; i < 2_000; i++) {
        expect(scaled.pick({ hashKey: `k${i}` })?.id).toBe(base.pick({ hashKey: `k${i}` })?.id);
      }
    }
    expect(() => consistentHash({ minRingSize: 0 })).toThrow(/minRingSize/);
    expect(() => consistentHash({ maxRingSize: 9_000_000 })).toThrow(/maxRingSize/);
  });
});
