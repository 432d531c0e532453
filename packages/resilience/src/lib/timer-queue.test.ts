import { ManualClock } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { TimerQueue } from './timer-queue.ts';

const target = (log: string[], name: string) => ({ onTimer: () => log.push(name) });

describe('TimerQueue', () => {
  it('fires entries in order after the delay, on one clock timer', () => {
    const clock = new ManualClock();
    const queue = new TimerQueue(clock, 100);
    const log: string[] = [];
    queue.add(target(log, 'a'));
    clock.advance(30);
    queue.add(target(log, 'b'));
    queue.add(target(log, 'c'));
    expect(clock.pendingTimers).toBe(1);
    clock.advance(69);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['a']);
    clock.advance(30);
    expect(log).toEqual(['a', 'b', 'c']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('never fires cancelled entries and drops them', () => {
    const clock = new ManualClock();
    const queue = new TimerQueue(clock, 50);
    const log: string[] = [];
    const entries = Array.from({ length: 1000 }, (_, i) => queue.add(target(log, `t${i}`)));
    for (const entry of entries.slice(0, 999)) entry.cancel();
    queue.add(target(log, 'late'));
    expect(queue.size).toBe(2); // cancelled heads are dropped on add
    clock.advance(50);
    expect(log).toEqual(['t999', 'late']);
    expect(queue.size).toBe(0);
  });

  it('does not pile up cancelled entries behind one that is still pending (a hung request)', () => {
    const clock = new ManualClock();
    const queue = new TimerQueue(clock, 15_000);
    const log: string[] = [];
    queue.add(target(log, 'hung')); // the head: nothing behind it reaches the head for 15 s
    // 100,000 calls that ended at once, each cancelling its entry: dead weight unless swept.
    for (let i = 0; i < 100_000; i++) queue.add(target(log, `ok${i}`)).cancel();
    const live = Array.from({ length: 10 }, (_, i) => queue.add(target(log, `live${i}`)));
    expect(queue.size).toBeLessThanOrEqual(8_192);
    live[3]!.cancel();
    clock.advance(15_000);
    expect(log).toEqual(['hung', ...[0, 1, 2, 4, 5, 6, 7, 8, 9].map((i) => `live${i}`)]);
    expect(queue.size).toBe(0);
  });

  it('clear() stops the timer and forgets everything', () => {
    const clock = new ManualClock();
    const queue = new TimerQueue(clock, 10);
    const log: string[] = [];
    queue.add(target(log, 'x'));
    queue.clear();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(100);
    expect(log).toEqual([]);
  });
});
