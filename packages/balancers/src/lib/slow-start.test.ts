import {
  createSnapshot,
  LoadStats,
  ManualClock,
  type ServiceInstance,
  ValidationError,
} from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { Picker } from './balancer.ts';
import { slowStart, slowStartFactor } from './slow-start.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

const instance = (id: string): ServiceInstance => ({
  id,
  service: 's',
  host: '127.0.0.1',
  port: 4000 + id.length,
});
const old = ['a', 'b', 'c', 'd'].map(instance);
const newcomer = instance('new');

function shareOf(picker: Picker, id: string, picks = 10_000): number {
  let n = 0;
  for (let i = 0; i < picks; i++) if (picker.pick()?.id === id) n++;
  return n / picks;
}

describe('slowStart', () => {
  it('ramps a newcomer along weight × max(min%, (age/window)^(1/aggression)) within 1 %', () => {
    for (const aggression of [1, 2]) {
      const clock = new ManualClock();
      const balancer = slowStart(weightedRoundRobin(), { windowMs: 10_000, aggression, clock });
      const load = new LoadStats();
      let picker = balancer.build(createSnapshot('s', old, 1), { load });
      picker = balancer.build(createSnapshot('s', [...old, newcomer], 2), { load, previous: picker });
      for (const age of [0, 1_000, 2_500, 5_000, 7_500, 10_000]) {
        clock.advance(age - clock.now());
        picker = balancer.build(createSnapshot('s', [...old, newcomer], 3), { load, previous: picker });
        const f = slowStartFactor(age, 10_000, aggression, 10);
        expect(Math.abs(shareOf(picker, 'new') - f / (4 + f))).toBeLessThan(0.01);
      }
      expect(picker.refreshAfterMs).toBeUndefined(); // the ramp is over
    }
  });

  it('asks to be rebuilt while a ramp runs, and returns the instances themselves', () => {
    const clock = new ManualClock();
    const balancer = slowStart(weightedRoundRobin(), { windowMs: 5_000, clock });
    const load = new LoadStats();
    const first = balancer.build(createSnapshot('s', old, 1), { load });
    const snapshot = createSnapshot('s', [...old, newcomer], 2);
    const ramping = balancer.build(snapshot, { load, previous: first });
    expect(ramping.refreshAfterMs).toBe(500);
    for (let i = 0; i < 50; i++) {
      const picked = ramping.pick();
      expect(picked).toBe(snapshot.byId.get(picked?.id ?? ''));
    }
  });

  it('does nothing when every instance is new (a first list, a whole-fleet restart)', () => {
    const balancer = slowStart(weightedRoundRobin(), { windowMs: 60_000, clock: new ManualClock() });
    const picker = balancer.build(createSnapshot('s', [...old, newcomer], 1), { load: new LoadStats() });
    expect(picker.refreshAfterMs).toBeUndefined();
    expect(shareOf(picker, 'new')).toBeCloseTo(0.2, 2);
  });

  it('ramps an instance back from an ejection', () => {
    const clock = new ManualClock();
    const balancer = slowStart(weightedRoundRobin(), { windowMs: 10_000, minWeightPercent: 10, clock });
    const load = new LoadStats();
    const all = [...old, newcomer];
    let picker = balancer.build(createSnapshot('s', all, 1), { load });
    clock.advance(60_000);
    picker = balancer.build(createSnapshot('s', all, 2), {
      load,
      previous: picker,
      isHealthy: (i) => i.id !== 'new',
    });
    picker = balancer.build(createSnapshot('s', all, 3), { load, previous: picker });
    expect(Math.abs(shareOf(picker, 'new') - 0.1 / 4.1)).toBeLessThan(0.01);
  });

  it('rejects a bad window, aggression or minimum', () => {
    expect(() => slowStart(weightedRoundRobin(), { windowMs: 0 })).toThrow(ValidationError);
    expect(() => slowStart(weightedRoundRobin(), { windowMs: 1, aggression: 0 })).toThrow(ValidationError);
    expect(() => slowStart(weightedRoundRobin(), { windowMs: 1, minWeightPercent: 0 })).toThrow(
      ValidationError,
    );
  });
});
