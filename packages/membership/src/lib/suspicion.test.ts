import { ManualClock } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { minSuspicionTimeout, Suspicion, suspicionTimeout } from './suspicion.ts';

describe('suspicion timeout', () => {
  it('follows max(min, max − (max−min)·log(c+1)/log(k+1))', () => {
    expect(suspicionTimeout(0, 3, 1000, 6000)).toBe(6000);
    expect(suspicionTimeout(1, 3, 1000, 6000)).toBe(Math.floor(6000 - 5000 * (Math.log(2) / Math.log(4))));
    expect(suspicionTimeout(3, 3, 1000, 6000)).toBe(1000);
    expect(suspicionTimeout(0, 0, 1000, 6000)).toBe(1000);
  });

  it('scales the minimum with log10 of the cluster size', () => {
    expect(minSuspicionTimeout(4, 1, 1000)).toBe(4000);
    expect(minSuspicionTimeout(4, 10, 1000)).toBe(4000);
    expect(minSuspicionTimeout(4, 100, 1000)).toBe(8000);
  });
});

describe('Suspicion', () => {
  it('fires at the max timeout without confirmations', () => {
    const clock = new ManualClock();
    let fired = 0;
    new Suspicion('a', 3, 1000, 6000, clock, () => fired++);
    clock.advance(5999);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
  });

  it('fires sooner as independent members confirm, never below the minimum', () => {
    const clock = new ManualClock();
    let firedAt = -1;
    const s = new Suspicion('a', 3, 1000, 6000, clock, () => {
      firedAt = clock.now();
    });
    clock.advance(500);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false); // the same member twice is one confirmation
    expect(s.confirm('a')).toBe(false); // the first suspecter does not confirm itself
    expect(s.confirm('c')).toBe(true);
    expect(s.confirm('d')).toBe(true);
    expect(s.confirm('e')).toBe(false); // k reached: more confirmations are not news
    expect(s.timeoutMs).toBe(1000);
    clock.advance(500);
    expect(firedAt).toBe(1000);
  });

  it('fires immediately when confirmations bring the timeout below the time already waited', () => {
    const clock = new ManualClock();
    let fired = 0;
    const s = new Suspicion('a', 1, 1000, 6000, clock, () => fired++);
    clock.advance(3000);
    s.confirm('b');
    clock.advance(0);
    expect(fired).toBe(1);
  });

  it('does nothing after cancel and leaves no timer behind', () => {
    const clock = new ManualClock();
    let fired = 0;
    const s = new Suspicion('a', 3, 1000, 6000, clock, () => fired++);
    s.cancel();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10_000);
    expect(fired).toBe(0);
  });
});
