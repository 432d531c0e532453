import { ManualClock, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { RetryBudget } from './retry-budget.ts';

describe('RetryBudget', () => {
  it('allows ratio × calls + floor retries in the window, then refuses', () => {
    const clock = new ManualClock(1_000);
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000 }, clock);
    expect(budget.floor).toBe(10);
    for (let i = 0; i < 100; i++) budget.deposit();
    let allowed = 0;
    while (budget.tryWithdraw()) allowed++;
    expect(allowed).toBe(30); // 0.2 × 100 + 10
    expect(budget.available).toBe(0);
  });

  it('forgets calls and retries once they leave the window', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, windowMs: 1_000 }, clock);
    for (let i = 0; i < 10; i++) budget.deposit();
    expect(budget.available).toBe(5);
    while (budget.tryWithdraw()) {}
    clock.advance(500);
    expect(budget.tryWithdraw()).toBe(false);
    clock.advance(600); // everything from t=0 has left the window
    expect(budget.available).toBe(0);
    for (let i = 0; i < 4; i++) budget.deposit();
    expect(budget.available).toBe(2);
  });

  it('slides bucket by bucket', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, windowMs: 1_000 }, clock);
    budget.deposit(); // bucket [0, 100)
    clock.advance(500);
    budget.deposit(); // bucket [500, 600)
    expect(budget.available).toBe(2);
    clock.advance(550); // t = 1050: the first bucket left, the second stays
    expect(budget.available).toBe(1);
    clock.advance(10_000);
    expect(budget.available).toBe(0);
  });

  it('rejects bad options with a ValidationError naming the field', () => {
    // Tried: a negative ratio, NaN floor, a window shorter than its ten buckets.
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(ValidationError);
    expect(() => new RetryBudget({ minRetriesPerSecond: Number.NaN })).toThrow(/minRetriesPerSecond/);
    expect(() => new RetryBudget({ windowMs: 5 })).toThrow(/windowMs/);
  });
});
