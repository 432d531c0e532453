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
