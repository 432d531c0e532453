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

function setup(n: number, decayMs = 10_000, maxLoadFactor?: number) {
  const clock = new ManualClock(1_000);
  const strategy = peakEwma({ decayMs, clock, maxLoadFactor });
  const load = new LoadStats({ decayMs: strategy.latencyDecayMs });
  const picker = strategy.build(createSnapshot('s', fleet(n), 1), { load });
  return { clock, load, picker };
}

/**
 * Keeps `inflight` requests in flight for `durationMs` against simulated instances, on the
 * ManualClock in 0.1 ms steps: each answers after `latencyMs(id, t)` times a jitter of 1–1.5
 * from a fixed sequence, and the picker's stats are updated as the executor would. Returns how
 * many requests each instance got in each whole second.
 */
function simulate(
  { clock, load, picker }: ReturnType<typeof setup>,
  inflight: number,
  durationMs: number,
  latencyMs: (id: string, t: number) => number,
): Map<string, number[]> {
  const perSecond = new Map<string, number[]>();
  const pending: { id: string; start: number; end: number }[] = [];
  const t0 = clock.now();
  let jitter = 0x2545f491;
  for (let step = 0; step * 0.1 < durationMs; step++) {
    const now = t0 + step * 0.1;
    clock.advance(now - clock.now());
    for (let k = pending.length - 1; k >= 0; k--) {
      const request = pending[k]!;
      if (request.end > now) continue;
      load.of(request.id).onEnd(now, now - request.start, true);
      pending.splice(k, 1);
    }
    while (pending.length < inflight) {
      const id = picker.pick()!.id;
      jitter = (Math.imul(jitter, 1_103_515_245) + 12_345) | 0;
      const factor = 1 + ((jitter >>> 8) / 2 ** 24) * 0.5;
      load.of(id).onStart();
      pending.push({ id, start: now, end: now + latencyMs(id, now - t0) * factor });
      const counts = perSecond.get(id) ?? [];
      const second = Math.floor((now - t0) / 1_000);
      counts[second] = (counts[second] ?? 0) + 1;
      perSecond.set(id, counts);
    }
  }
  return perSecond;
}

/** Instance `id`'s share of the requests started in seconds [from, to). */
function share(counts: Map<string, number[]>, id: string, from: number, to: number): number {
  let mine = 0;
  let all = 0;
  for (const [who, seconds] of counts) {
    for (let s = from; s < to; s++) {
      all += seconds[s] ?? 0;
      if (who === id) mine += seconds[s] ?? 0;
    }
  }
  return mine / all;
}

const oneSlow = (slowMs: number) => (id: string) => (id === 'i1' ? slowMs : 6);

describe('peakEwma', () => {
  // Statistical tests: a fixed seed makes each run the same, so a bound can never fail by luck.
  beforeEach(() => seedRandom(0x5eed));

  it('prefers the faster of two instances', () => {
    const { clock, load, picker } = setup(2);
    load.of('i0').observe(clock.now(), 100);
    load.of('i1').observe(clock.now(), 10);
    for (let i = 0; i < 20; i++) expect(picker.pick()?.id).toBe('i1');
  });

  it('weighs latency by its share of the requests in flight: a fast instance with a queue loses to a slightly slower idle one', () => {
    const { clock, load, picker } = setup(2);
    load.of('i0').observe(clock.now(), 14); // 14 × (1 + 1/5)
    load.of('i1').observe(clock.now(), 10); // 10 × (1 + 4/5)
    for (let k = 0; k < 3; k++) load.of('i1').onStart();
    expect(picker.pick()?.id).toBe('i0');
    // More than maxLoadFactor (2) slower, it loses however busy its rival is.
    load.of('i0').observe(clock.now(), 30);
    expect(picker.pick()?.id).toBe('i1');
  });

  it("with maxLoadFactor: Infinity, is Finagle's latency × (in flight + 1)", () => {
    const { clock, load, picker } = setup(2, 10_000, Number.POSITIVE_INFINITY);
    load.of('i0').observe(clock.now(), 30); // 30 × 1
    load.of('i1').observe(clock.now(), 10); // 10 × 4
    for (let k = 0; k < 3; k++) load.of('i1').onStart();
    expect(picker.pick()?.id).toBe('i0');
    const latencyOnly = setup(2, 10_000, 1);
    latencyOnly.load.of('i0').observe(latencyOnly.clock.now(), 10.5);
    latencyOnly.load.of('i1').observe(latencyOnly.clock.now(), 10);
    for (let k = 0; k < 30; k++) latencyOnly.load.of('i1').onStart();
    expect(latencyOnly.picker.pick()?.id).toBe('i1');
  });

  it('leaves a 20 ms instance beside two 6 ms ones nearly alone at 64 in flight, where the product sent it several %', () => {
    const ours = simulate(setup(3), 64, 5_000, oneSlow(20));
    // Only probes: one comparison in 256 it loses in a row, ~0.26 %.
    expect(share(ours, 'i1', 1, 5)).toBeLessThan(0.004);
    const finagle = simulate(setup(3, 10_000, Number.POSITIVE_INFINITY), 64, 5_000, oneSlow(20));
    expect(share(finagle, 'i1', 1, 5)).toBeGreaterThan(0.02);
    // The two fast ones still split the rest evenly.
    expect(share(ours, 'i0', 1, 5)).toBeGreaterThan(0.45);
    expect(share(ours, 'i2', 1, 5)).toBeGreaterThan(0.45);
  });

  it('still leaves the 20 ms instance alone when the fast ones hiccup (2 % of answers 10–40 ms late)', () => {
    let x = 12_345;
    const next = () => {
      x = (Math.imul(x, 1_103_515_245) + 12_345) | 0;
      return (x >>> 8) / 2 ** 24;
    };
    const counts = simulate(setup(3), 64, 5_000, (id) =>
      id === 'i1' ? 20 : 6 + (next() < 0.02 ? 10 + 30 * next() : 0),
    );
    // A hiccup raises a fast instance's estimate to at most twice its mean: still below 20 ms.
    expect(share(counts, 'i1', 1, 5)).toBeLessThan(0.004);
  });

  it('keeps probing a slow instance and returns to it once it is fast again', () => {
    // i1 answers in 20 ms for 20 s, then in 6 ms like the others.
    const counts = simulate(setup(3), 64, 40_000, (id, t) => (id === 'i1' && t < 20_000 ? 20 : 6));
    // Probed every second, but too rarely to matter.
    for (let second = 1; second < 20; second++) expect(counts.get('i1')![second]).toBeGreaterThan(0);
    expect(share(counts, 'i1', 1, 20)).toBeLessThan(0.004);
    // The probes' fast answers bring it back within a second or two, not a decay time (10 s).
    expect(share(counts, 'i1', 22, 40)).toBeGreaterThan(0.3);
  });

  it('does not shun a fast instance for one slow answer', () => {
    // i0 answers once in 40 ms at 2 s, otherwise all answer in 6 ms.
    let spiked = false;
    const counts = simulate(setup(3), 64, 4_000, (id, t) => {
      if (id === 'i0' && t >= 2_000 && !spiked) {
        spiked = true;
        return 40;
      }
      return 6;
    });
    expect(share(counts, 'i0', 2, 3)).toBeGreaterThan(0.25);
    expect(share(counts, 'i0', 3, 4)).toBeGreaterThan(0.3);
    // At 6 in flight few answers follow the spike: the probes' answers bring it back.
    spiked = false;
    const quiet = simulate(setup(3), 6, 6_000, (id, t) => {
      if (id === 'i0' && t >= 2_000 && !spiked) {
        spiked = true;
        return 40;
      }
      return 6;
    });
    expect(share(quiet, 'i0', 3, 6)).toBeGreaterThan(0.3);
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

  it('reads no clock, and still counts a new slow answer at once', () => {
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
    const before = new Map<string, number>();
    for (let i = 0; i < 1_000; i++) {
      const id = picker.pick()!.id;
      before.set(id, (before.get(id) ?? 0) + 1);
    }
    expect(before.get('i3')).toBeGreaterThan(0);
    load.of('i3').observe(clock.now(), 50);
    const after = new Set<string>();
    for (let i = 0; i < 1_000; i++) after.add(picker.pick()!.id);
    expect(reads).toBe(0);
    // The slow answer counts at once: i3 loses every comparison now.
    expect(after.has('i3')).toBe(false);
  });

  it('exposes its decay for the stats, and rejects a bad decay naming it', () => {
    expect(peakEwma({ decayMs: 2_500 }).latencyDecayMs).toBe(2_500);
    expect(peakEwma().latencyDecayMs).toBe(10_000);
    for (const decayMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      // tried: a decay that is zero, negative, NaN or infinite
      expect(() => peakEwma({ decayMs })).toThrow(ValidationError);
      expect(() => peakEwma({ decayMs })).toThrow(/decayMs/);
    }
    for (const maxLoadFactor of [0.5, 0, -1, Number.NaN]) {
      // tried: a factor below 1, or NaN
      expect(() => peakEwma({ maxLoadFactor })).toThrow(ValidationError);
      expect(() => peakEwma({ maxLoadFactor })).toThrow(/maxLoadFactor/);
    }
    expect(() => peakEwma({ maxLoadFactor: Number.POSITIVE_INFINITY })).not.toThrow();
  });
});
