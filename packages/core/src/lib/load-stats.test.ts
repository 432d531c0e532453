import { describe, expect, it } from 'vitest';
import { type InstanceStats, LoadStats } from './load-stats.ts';

const instance = (id: string) => ({ id, service: 's', host: 'h', port: 1 });

describe('LoadStats in-flight counts', () => {
  it('keeps every count in one compact array, at the slot of each instance', () => {
    const load = new LoadStats();
    const a = load.of(instance('a'));
    const b = load.of('b');
    a.onStart();
    a.onStart();
    b.onStart();
    expect(load.inflightCounts[load.slotOf('a')]).toBe(2);
    expect(load.inflightCounts[load.slotOf(instance('b'))]).toBe(1);
    b.inflight = 5;
    expect(load.inflightCounts[load.slotOf('b')]).toBe(5);
    b.inflight = -3;
    expect(b.inflight).toBe(0);
  });

  it('grows the array as instances arrive, keeping the counts it had', () => {
    const load = new LoadStats();
    for (let i = 0; i < 100; i++) load.of(`i${i}`).inflight = i;
    for (let i = 0; i < 100; i++) {
      expect(load.inflightCounts[load.slotOf(`i${i}`)]).toBe(i);
      expect(load.of(`i${i}`).inflight).toBe(i);
    }
  });

  it('gives a forgotten instance’s slot to a newcomer, while the old stats keep counting apart', () => {
    const load = new LoadStats();
    const gone = load.of('gone');
    const slot = load.slotOf('gone');
    load.retain([]);
    const newcomer = load.of('new');
    expect(load.slotOf('new')).toBe(slot);
    newcomer.onStart();
    // Someone still holding the forgotten stats: its figures are its own, and the total still adds up.
    gone.onStart();
    gone.onStart();
    expect(gone.inflight).toBe(2);
    expect(newcomer.inflight).toBe(1);
    expect(load.totalInflight).toBe(3);
    gone.onEnd(0, 1, true);
    expect(gone.inflight).toBe(1);
    expect(load.totalInflight).toBe(2);
  });

  it('a standalone InstanceStats counts on its own', async () => {
    const { InstanceStats } = await import('./load-stats.ts');
    const stats: InstanceStats = new InstanceStats();
    stats.onStart();
    stats.onStart();
    stats.onEnd(0, 1, true);
    expect(stats.inflight).toBe(1);
  });
});

describe('relativeLatency', () => {
  const DECAY = 10_000;
  const ratio = (a: InstanceStats, b: InstanceStats) => a.relativeLatency / b.relativeLatency;
  const estimateRatio = (a: InstanceStats, b: InstanceStats, now: number) =>
    a.latencyEstimate(now) / b.latencyEstimate(now);

  it('compares two instances as their decayed estimates at any common time would', () => {
    const load = new LoadStats({ decayMs: DECAY });
    const a = load.of(instance('a'));
    const b = load.of(instance('b'));
    expect(a.relativeLatency).toBe(0); // no sample yet
    a.observe(1_000, 8);
    b.observe(4_000, 20);
    a.observe(6_500, 5);
    for (const now of [6_500, 9_000, 60_000]) {
      expect(ratio(a, b)).toBeCloseTo(estimateRatio(a, b, now), 12);
    }
  });

  it('stays finite and keeps the ratios over days of samples (the epoch moves up)', () => {
    const load = new LoadStats({ decayMs: DECAY });
    const a = load.of(instance('a'));
    const b = load.of(instance('b'));
    const idle = load.of(instance('idle'));
    idle.observe(0, 3);
    // tried: samples for three days, ~2,600 decay times, far past e^709
    for (let now = 0; now <= 3 * 86_400_000; now += 600_000) {
      a.observe(now, 6);
      b.observe(now + 1, 12);
    }
    expect(Number.isFinite(a.relativeLatency)).toBe(true);
    expect(a.relativeLatency).toBeGreaterThan(0);
    expect(ratio(b, a)).toBeCloseTo(estimateRatio(b, a, 3 * 86_400_000 + 1), 9);
    // Idle for three days: its estimate has decayed to nothing, and compares so.
    expect(idle.relativeLatency).toBe(0);
  });

  it('floors a sample below 1 µs, so two instances answering at once tie', () => {
    const load = new LoadStats({ decayMs: DECAY });
    const a = load.of(instance('a'));
    const b = load.of(instance('b'));
    a.observe(100, 0);
    b.observe(100, 0.0001);
    expect(a.relativeLatency).toBeGreaterThan(0);
    expect(ratio(a, b)).toBe(1);
  });

  it('a standalone InstanceStats takes its first sample as its epoch', async () => {
    const { InstanceStats } = await import('./load-stats.ts');
    const stats: InstanceStats = new InstanceStats(DECAY);
    stats.observe(5_000_000, 7);
    expect(stats.relativeLatency).toBe(7);
  });
});

describe('LoadStats.relativeLatencies', () => {
  it("holds each instance's relativeLatency at its slot, through growth, rebases and reuse", () => {
    const load = new LoadStats({ decayMs: 1_000 });
    const all = Array.from({ length: 40 }, (_, i) => load.of(instance(`i${i}`)));
    all.forEach((stats, i) => {
      stats.observe(10, 1 + i);
    });
    const matches = () =>
      all.every((stats, i) => load.relativeLatencies[load.slotOf(`i${i}`)] === stats.relativeLatency);
    expect(matches()).toBe(true);
    // Far past the epoch: every instance is rebased, and the array follows.
    const before = all[5]!.relativeLatency;
    all[0]!.observe(10 + 600 * 1_000, 5);
    expect(all[5]!.relativeLatency).not.toBe(before);
    expect(matches()).toBe(true);
    // A slot given back and reused starts with no latency.
    load.retain([instance('i0')]);
    load.of(instance('newcomer'));
    expect(load.relativeLatencies[load.slotOf('newcomer')]).toBe(0);
  });
});
