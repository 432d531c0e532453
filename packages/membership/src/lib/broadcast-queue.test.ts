import { describe, expect, it } from 'vitest';
import { BroadcastQueue, retransmitLimit } from './broadcast-queue.ts';

const bytes = (tag: number, size = 10) => new Uint8Array(size).fill(tag);

describe('BroadcastQueue', () => {
  it('computes the retransmit limit as λ·⌈log10(n+1)⌉', () => {
    expect(retransmitLimit(4, 1)).toBe(4);
    expect(retransmitLimit(4, 9)).toBe(4);
    expect(retransmitLimit(4, 10)).toBe(8);
    expect(retransmitLimit(3, 100)).toBe(9);
  });

  it('retires an item after the limit of transmissions', () => {
    const queue = new BroadcastQueue(2, () => 5); // limit 2
    queue.enqueue('a', bytes(1));
    expect(queue.take(100)).toHaveLength(1);
    expect(queue.take(100)).toHaveLength(1);
    expect(queue.take(100)).toHaveLength(0);
    expect(queue.size).toBe(0);
  });

  it('sends the least-sent first and, among equals, the newest first', () => {
    const queue = new BroadcastQueue(10, () => 5);
    queue.enqueue('old', bytes(1));
    queue.take(100); // 'old' sent once
    queue.enqueue('a', bytes(2));
    queue.enqueue('b', bytes(3));
    // One item per take (10-byte budget): never-sent news first, newest first among equals.
    expect(queue.take(10).map((b) => b[0])).toEqual([3]);
    expect(queue.take(10).map((b) => b[0])).toEqual([2]);
    // Now all were sent once: the newest goes again first, the oldest last.
    expect(queue.take(30).map((b) => b[0])).toEqual([3, 2, 1]);
  });

  it('replaces older news about the same member (a refutation never queues behind the suspicion)', () => {
    const queue = new BroadcastQueue(10, () => 5);
    queue.enqueue('b', bytes(1));
    queue.enqueue('b', bytes(2));
    expect(queue.size).toBe(1);
    expect(queue.take(100).map((b) => b[0])).toEqual([2]);
  });

  it('fits what it can in the byte budget and leaves the rest queued', () => {
    const queue = new BroadcastQueue(10, () => 5);
    queue.enqueue('big', bytes(1, 50));
    queue.enqueue('small', bytes(2, 10));
    expect(queue.take(30).map((b) => b[0])).toEqual([2]);
    expect(queue.has('big')).toBe(true);
    expect(queue.transmitsLeft('big')).toBe(10);
    expect(queue.take(0)).toEqual([]);
  });
});
