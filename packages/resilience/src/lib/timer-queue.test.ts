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
