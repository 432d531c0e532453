import { describe, expect, it } from 'vitest';
import { DeadlineHeap } from './deadline-heap.ts';

describe('DeadlineHeap', () => {
  it('pops deadlines earliest first, whatever the push order', () => {
    const heap = new DeadlineHeap<number>();
    // A fixed pseudo-random order (LCG), so the test is the same every run.
    let seed = 42;
    const values: number[] = [];
    for (let i = 0; i < 1000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      values.push(seed % 10_000);
      heap.push(seed % 10_000, i);
    }
    const popped: number[] = [];
    for (let top = heap.pop(); top; top = heap.pop()) popped.push(top.at);
    expect(popped).toEqual([...values].sort((a, b) => a - b));
    expect(heap.size).toBe(0);
  });

  it('rebuild replaces the content', () => {
    const heap = new DeadlineHeap<string>();
    heap.push(5, 'old');
    heap.rebuild([
      { at: 9, item: 'b' },
      { at: 3, item: 'a' },
    ]);
    expect(heap.size).toBe(2);
    expect(heap.pop()).toEqual({ at: 3, item: 'a' });
    expect(heap.peek()).toEqual({ at: 9, item: 'b' });
  });
});
