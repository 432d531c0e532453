import { describe, expect, it } from 'vitest';
import type { ServiceInstance } from './service-instance.ts';
import { SharedWatches } from './shared-watches.ts';
import { WatchFanout } from './watch-fanout.ts';

class FakeSource {
  readonly fanout = new WatchFanout();
  closed = 0;
  constructor(readonly service: string) {}
  close(): void {
    this.closed++;
  }
}

const noop = (_: readonly ServiceInstance[]) => {};

describe('SharedWatches', () => {
  it('starts one source per service, shares it, and closes it with the last listener', () => {
    const started: FakeSource[] = [];
    const watches = new SharedWatches((service) => {
      const source = new FakeSource(service);
      started.push(source);
      return source;
    });
    const stopA1 = watches.watch('a', noop);
    const stopA2 = watches.watch('a', () => {});
    const stopB = watches.watch('b', noop);
    expect(started.map((s) => s.service)).toEqual(['a', 'b']);
    stopA1();
    expect(started[0]!.closed).toBe(0);
    stopA2();
    stopA2(); // a second call changes nothing
    expect(started[0]!.closed).toBe(1);
    watches.watch('a', noop); // a new listener after the last left: a new source
    expect(started.map((s) => s.service)).toEqual(['a', 'b', 'a']);
    const drained = watches.drain();
    expect(drained).toEqual([started[1], started[2]]);
    stopB(); // after drain the owner closes the sources; the late unsubscribe must not
    expect(started[1]!.closed).toBe(0);
  });
});
