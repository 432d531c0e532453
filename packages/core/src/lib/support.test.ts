import { describe, expect, it, vi } from 'vitest';
import { sleep } from './abort.ts';
import { ManualClock } from './clock.ts';
import { createSnapshot, sameInstances } from './instance-snapshot.ts';
import { LoadStats } from './load-stats.ts';
import { TypedEmitter } from './typed-emitter.ts';

const a = { id: 'a', service: 's', host: 'h', port: 1 };
const b = { id: 'b', service: 's', host: 'h', port: 2 };

describe('createSnapshot', () => {
  it('sorts by id, indexes by id and freezes', () => {
    const snapshot = createSnapshot('s', [b, a], 3);
    expect(snapshot.instances.map((i) => i.id)).toEqual(['a', 'b']);
    expect(snapshot.byId.get('b')).toBe(b);
    expect(snapshot.version).toBe(3);
    expect(Object.isFrozen(snapshot.instances)).toBe(true);
  });

  it('compares instance sets field by field', () => {
    expect(sameInstances([a, b], [b, { ...a }])).toBe(true);
    expect(sameInstances([a, b], [b, { ...a, weight: 2 }])).toBe(false);
    expect(sameInstances([a], [a, b])).toBe(false);
  });
});

describe('TypedEmitter', () => {
  it('delivers to listeners until they unsubscribe', () => {
    const emitter = new TypedEmitter<{ tick: number }>();
    const seen: number[] = [];
    const off = emitter.on('tick', (n) => seen.push(n));
    emitter.emit('tick', 1);
    off();
    emitter.emit('tick', 2);
    expect(seen).toEqual([1]);
    expect(emitter.hasListeners('tick')).toBe(false);
  });

  it('keeps delivering when one listener throws, and reports it as a warning, not a crash', async () => {
    const emitter = new TypedEmitter<{ tick: number }>();
    const seen: number[] = [];
    const crashed = vi.fn();
    const warned = vi.fn();
    process.on('uncaughtException', crashed);
    process.on('warning', warned);
    try {
      emitter.on('tick', () => {
        throw new Error('listener bug');
      });
      emitter.on('tick', (n) => seen.push(n));
      emitter.emit('tick', 7);
      expect(seen).toEqual([7]);
      await vi.waitFor(() =>
        expect(warned).toHaveBeenCalledWith(
          expect.objectContaining({
            name: 'SwitchyardListenerWarning',
            message: expect.stringMatching(/tick.*listener bug/),
          }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(crashed).not.toHaveBeenCalled();
    } finally {
      process.off('uncaughtException', crashed);
      process.off('warning', warned);
    }
  });

  it('hands a throwing listener to onListenerError, and a throwing handler to the warning', async () => {
    const errors: [unknown, string][] = [];
    const emitter = new TypedEmitter<{ tick: number }>({
      onListenerError: (error, event) => errors.push([error, event]),
    });
    emitter.on('tick', () => {
      throw new Error('bug');
    });
    emitter.emit('tick', 1);
    expect(errors).toEqual([[expect.objectContaining({ message: 'bug' }), 'tick']]);

    const warned = vi.fn();
    process.on('warning', warned);
    try {
      const broken = new TypedEmitter<{ tick: number }>({
        onListenerError: () => {
          throw new Error('handler bug');
        },
      });
      broken.on('tick', () => {
        throw new Error('bug');
      });
      expect(() => broken.emit('tick', 1)).not.toThrow();
      await vi.waitFor(() => expect(warned).toHaveBeenCalled());
    } finally {
      process.off('warning', warned);
    }
  });
});

describe('ManualClock', () => {
  it('runs due timers in time order and skips cleared ones', () => {
    const clock = new ManualClock();
    const order: string[] = [];
    clock.setTimeout(() => order.push('late'), 20);
    const cleared = clock.setTimeout(() => order.push('cleared'), 5);
    clock.setTimeout(() => order.push('early'), 10);
    clock.clearTimeout(cleared);
    clock.advance(15);
    expect(order).toEqual(['early']);
    expect(clock.now()).toBe(15);
    clock.advance(5);
    expect(order).toEqual(['early', 'late']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('drives sleep, and an abort rejects it at once', async () => {
    const clock = new ManualClock();
    const done = vi.fn();
    const pending = sleep(100, undefined, clock).then(done);
    clock.advance(99);
    await Promise.resolve();
    expect(done).not.toHaveBeenCalled();
    clock.advance(1);
    await pending;
    expect(done).toHaveBeenCalledOnce();

    const controller = new AbortController();
    const aborted = sleep(100, controller.signal, clock);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('InstanceStats', () => {
  it('counts in-flight attempts and tracks latency peaks at once, decaying afterwards', () => {
    const load = new LoadStats({ decayMs: 1000 });
    const stats = load.of(a);
    stats.onStart();
    stats.onStart();
    expect(stats.inflight).toBe(2);
    stats.onEnd(0, 10, true);
    expect(stats.latencyEstimate(0)).toBe(10);
    stats.onEnd(0, 15, false);
    expect(stats.latencyEstimate(0)).toBe(15); // a peak replaces the average at once
    expect(stats.failed).toBe(1);
    expect(stats.latencyEstimate(1000)).toBeCloseTo(15 / Math.E, 5);
    stats.observe(5000, 10);
    expect(stats.latencyEstimate(5000)).toBeLessThan(11);
  });

  it('forgets a lone spike after a few dozen faster answers, however busy, but stays at a persistent peak', () => {
    const spiked = new LoadStats({ decayMs: 10_000 }).of(a);
    spiked.observe(0, 6);
    spiked.observe(0.1, 40); // one 40 ms answer among 6 ms ones, 10,000 answers a second
    for (let i = 1; i <= 48; i++) spiked.observe(0.1 + i * 0.1, 6);
    // A weight from time alone (1 − e^(−0.1/10,000) per answer) would still read ~40 ms.
    expect(spiked.latencyEstimate(5)).toBeLessThan(8);
    const slow = new LoadStats({ decayMs: 10_000 }).of(b);
    for (let i = 0; i < 48; i++) slow.observe(i * 0.1, 20 + (i % 3));
    expect(slow.latencyEstimate(5)).toBeGreaterThan(20);
  });

  it('counts a burst of slow answers as at most twice its mean, below an instance that is slow all the time', () => {
    const stalled = new LoadStats({ decayMs: 10_000 }).of(a);
    const slow = new LoadStats({ decayMs: 10_000 }).of(b);
    for (let t = 0; t < 1_000; t++) {
      stalled.observe(t, 6);
      slow.observe(t, 20);
    }
    // A 30 ms stall: every answer in flight comes back at once, slow.
    for (let k = 0; k < 30; k++) stalled.observe(1_000, 36 - k);
    expect(stalled.latencyEstimate(1_000)).toBeGreaterThan(10); // it loses to its 6 ms peers at once
    expect(stalled.latencyEstimate(1_000)).toBeLessThan(12.5); // but not to a 20 ms one
    expect(slow.latencyEstimate(1_000)).toBeCloseTo(20, 2);
  });

  it('keeps a service-wide in-flight total in step with every instance', () => {
    const load = new LoadStats();
    load.of(a).onStart();
    load.of(a).onStart();
    load.of(b).onStart();
    expect(load.totalInflight).toBe(3);
    load.of(a).onEnd(0, 1, true);
    load.of(b).onEnd(0, 1, false);
    load.of(b).onEnd(0, 1, false); // an extra end never drives counts below zero
    expect(load.totalInflight).toBe(1);
    expect(load.of(b).inflight).toBe(0);
  });

  it('keeps stats of instances with calls in flight when the snapshot drops them', () => {
    const load = new LoadStats();
    load.of(a).onStart();
    load.of(b);
    load.retain([]);
    expect(load.of(a).inflight).toBe(1);
    expect(load.of(b).completed).toBe(0);
  });
});
