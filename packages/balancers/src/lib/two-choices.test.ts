import type { ServiceInstance } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { drawTwo } from './two-choices.ts';

const fleet = (n: number): ServiceInstance[] =>
  Array.from({ length: n }, (_, i) => ({ id: `i${i}`, service: 's', host: '127.0.0.1', port: 1000 + i }));

describe('drawTwo', () => {
  it('draws two distinct instances, every pair possible', () => {
    const pair = new Int32Array(2);
    const pairs = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      expect(drawTwo(fleet(4), undefined, pair)).toBe(2);
      expect(pair[0]).not.toBe(pair[1]);
      pairs.add([pair[0], pair[1]].sort().join());
    }
    expect(pairs.size).toBe(6);
  });

  it('replaces excluded draws with allowed ones and counts what it found', () => {
    const pair = new Int32Array(2);
    const instances = fleet(5);
    for (let i = 0; i < 500; i++) {
      expect(drawTwo(instances, (x) => x.id === 'i0' || x.id === 'i1' || x.id === 'i2', pair)).toBe(2);
      expect([pair[0], pair[1]].sort()).toEqual([3, 4]);
      expect(drawTwo(instances, (x) => x.id !== 'i2', pair)).toBe(1);
      expect(pair[0]).toBe(2);
    }
    expect(drawTwo(instances, () => true, pair)).toBe(0);
    expect(drawTwo(fleet(1), () => true, pair)).toBe(0);
    expect(drawTwo(fleet(1), undefined, pair)).toBe(1);
  });
});
