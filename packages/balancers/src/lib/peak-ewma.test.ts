import {
  createSnapshot,
  LoadStats,
  ManualClock,
  type ServiceInstance,
  ValidationError,
} from '@switchyard/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { seedRandom } from './fast-random.ts';
import { peakEwma } from './peak-ewma.ts';

const fleet = (n: number): ServiceInstance[] =>
  Array.from({ length: n }, (_, i) => ({ id: `i${i}`, service: 's', host: '127.0.0.1', port: 1000 + i }));

function setup(n: number, decayMs = 10_000) {
  const clock = new ManualClock(1_000);
  const strategy = peakEwma({ decayMs, clock });
  const load = new LoadStats({ decayMs: strategy.latencyDecayMs });
  const picker = strategy.build(createSnapshot('s', fleet(n), 1), { load });
  return { clock, load, picker };
}

describe('peakEwma', () => {
  // Statistical tests: a fixed seed makes each run the same, so a bound can never fail by luck.
  beforeEach(() => seedRandom(0x5eed));

  it('prefers the faster of two instances', () => {
    const { clock, load, picker } = setup(2);
    load.of('i0').observe(clock.now(), 100);
    load.of('i1').observe(clock.now(), 10);
    for (let i = 0; i < 20; i++) expect(picker.pick()?.id).toBe('i1');
  });

  it('weighs latency by in-flight + 1: a fast instance with a queue loses to a slower idle one', () => {
    const { clock, load, picker } = setup(2);
    load.of('i0').observe(clock.now(), 30); // 30 × 1
    load.of('i1').observe(clock.now(), 10); // 10 × 4
    load.of('i1').inflight = 3;
    expect(picker.pick()?.id).toBe('i0');
  });

  it('reacts to one slow answer at once (the peak), then forgives it as time passes', () => {
    const { clock, load, picker } = setup(2, 1_000);
    load.of('i0').observe(clock.now(), 10);
    load.of('i1').observe(clock.now(), 10);
    load.of('i0').observe(clock.now(), 500);
    expect(picker.pick()?.id).toBe('i1');
    // i1 keeps answering in 10 ms; i0 gets no traffic and its estimate decays below i1's.
    for (let t = 0; t < 10; t++) {
      clock.advance(1_000);
      load.of('i1').observe(clock.now(), 10);
    }
    expect(picker.pick()?.id).toBe('i0');
  });

  it('starts a new instance neutral: neither flooded nor starved', () => {
    const { clock, load, picker } = setup(2);
    load.of('i0').observe(clock.now(), 50); // i1 has no samples yet
    load.of('i0').inflight = 2;
    expect(picker.pick()?.id).toBe('i1'); // idle newcomer beats a busy known instance
    load.of('i0').inflight = 0;
    load.of('i1').inflight = 2;
    expect(picker.pick()?.id).toBe('i0'); // but a busy newcomer is not preferred for its missing samples
  });

  it('still compares in-flight counts when latencies round to zero', () => {
    const { clock, load, picker } = setup(2);
    load.of('i0').observe(clock.now(), 0);
    load.of('i1').observe(clock.now(), 0);
    load.of('i0').inflight = 4;
    expect(picker.pick()?.id).toBe('i1');
  });

  it('honours exclusions, works with one instance, and gives nothing for an empty snapshot', () => {
    const { picker } = setup(3);
    for (let i = 0; i < 50; i++) expect(picker.pick({ excluded: (x) => x.id !== 'i2' })?.id).toBe('i2');
    expect(picker.pick({ excluded: () => true })).toBeUndefined();
    expect(setup(1).picker.pick()?.id).toBe('i0');
    expect(
      peakEwma()
        .build(createSnapshot('s', [], 1), { load: new LoadStats() })
        .pick(),
    ).toBeUndefined();
  });

  it('reads the clock only when an instance it compares has a sample it has not seen', () => {
    const clock = new ManualClock(1_000);
    let reads = 0;
    const counting = {
      now: () => {
        reads++;
        return clock.now();
      },
      setTimeout: clock.setTimeout.bind(clock),
      clearTimeout: clock.clearTimeout.bind(clock),
    };
    const load = new LoadStats();
    const picker = peakEwma({ clock: counting }).build(createSnapshot('s', fleet(10), 1), { load });
    fleet(10).forEach((instance, i) => {
      load.of(instance).observe(clock.now(), 5 + i);
    });
    clock.advance(500);
    for (let i = 0; i < 1_000; i++) picker.pick();
    // Each instance's samples are seen once; a clock read per pick would be 1,000.
    expect(reads).toBeLessThanOrEqual(10);
    load.of('i3').observe(clock.now(), 50);
    reads = 0;
    const before = new Set<string>();
    for (let i = 0; i < 1_000; i++) before.add(picker.pick()!.id);
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThanOrEqual(2);
    // The slow answer counts at once: i3 loses every comparison now.
    expect(before.has('i3')).toBe(false);
  });

  it('exposes its decay for the stats, and rejects a bad decay naming it', () => {
    expect(peakEwma({ decayMs: 2_500 }).latencyDecayMs).toBe(2_500);
    expect(peakEwma().latencyDecayMs).toBe(10_000);
    for (const decayMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      // tried: a decay that is zero, negative, NaN or infinite
      expect(() => peakEwma({ decayMs })).toThrow(ValidationError);
      expect(() => peakEwma({ decayMs })).toThrow(/decayMs/);
    }
  });
});
