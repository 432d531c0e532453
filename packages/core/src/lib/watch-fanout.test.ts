import { describe, expect, it, vi } from 'vitest';
import type { ServiceInstance } from './service-instance.ts';
import { WatchFanout } from './watch-fanout.ts';

const a: ServiceInstance = { id: 'a', service: 's', host: 'h', port: 1 };
const b: ServiceInstance = { id: 'b', service: 's', host: 'h', port: 2 };
const tick = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('WatchFanout', () => {
  it('tells every listener each real change, once, as a frozen list', () => {
    const fanout = new WatchFanout();
    const one: string[][] = [];
    const two: string[][] = [];
    fanout.add((list) => one.push(list.map((i) => i.id)));
    fanout.add((list) => two.push(list.map((i) => i.id)));
    expect(fanout.publish([a])).toBe(true);
    expect(fanout.publish([{ ...a }])).toBe(false); // equal field by field: no news
    expect(fanout.publish([a, b])).toBe(true);
    expect(one).toEqual([['a'], ['a', 'b']]);
    expect(two).toEqual(one);
    expect(Object.isFrozen(fanout.current)).toBe(true);
  });

  it('a late listener hears the current list on a microtask, unless it left or newer news came', async () => {
    const fanout = new WatchFanout();
    fanout.publish([a]);
    const late: string[][] = [];
    const listener = (list: readonly ServiceInstance[]) => late.push(list.map((i) => i.id));
    fanout.add(listener);
    expect(late).toEqual([]); // not inside add(): the caller has no unsubscribe function yet
    await tick();
    expect(late).toEqual([['a']]);

    const gone: unknown[] = [];
    const leaver = (list: readonly ServiceInstance[]) => gone.push(list);
    fanout.add(leaver);
    fanout.remove(leaver);
    const fresh: string[][] = [];
    fanout.add((list) => fresh.push(list.map((i) => i.id)));
    fanout.publish([b]); // before the microtask: the listener hears [b] once, not the older [a]
    await tick();
    expect(gone).toEqual([]);
    expect(fresh).toEqual([['b']]);
    expect(fanout.size).toBe(2);
  });

  it('a throwing listener stops neither the others nor the publisher, nor the process', async () => {
    const seen: number[] = [];
    const crashed = vi.fn();
    const warned = vi.fn();
    process.on('uncaughtException', crashed);
    process.on('warning', warned);
    try {
      const fanout = new WatchFanout();
      fanout.add(() => {
        throw new Error('listener bug');
      });
      fanout.add((list) => seen.push(list.length));
      // Tried: a listener that throws on every list.
      expect(fanout.publish([a])).toBe(true);
      expect(seen).toEqual([1]);
      await vi.waitFor(() =>
        expect(warned).toHaveBeenCalledWith(
          expect.objectContaining({ message: expect.stringMatching(/listener bug/) }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(crashed).not.toHaveBeenCalled();
      fanout.clear();
      expect(fanout.size).toBe(0);

      const errors: unknown[] = [];
      const reported = new WatchFanout({ onListenerError: (error) => errors.push(error) });
      reported.add(() => {
        throw new Error('again');
      });
      reported.publish([b]);
      expect(errors).toEqual([expect.objectContaining({ message: 'again' })]);
    } finally {
      process.off('uncaughtException', crashed);
      process.off('warning', warned);
    }
  });
});
