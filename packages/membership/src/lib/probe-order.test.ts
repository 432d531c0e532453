import { describe, expect, it } from 'vitest';
import { ProbeOrder } from './probe-order.ts';
import { seededRandom } from './simulated-cluster.ts';

describe('ProbeOrder', () => {
  it('visits every member exactly once per round, in a different order each round', () => {
    const order = new ProbeOrder(seededRandom(3));
    const ids = Array.from({ length: 20 }, (_, i) => `n${i}`);
    for (const id of ids) order.add(id);
    const rounds: string[][] = [];
    for (let r = 0; r < 3; r++) rounds.push(ids.map(() => order.next()!));
    for (const round of rounds) expect([...round].sort()).toEqual([...ids].sort());
    expect(rounds[1]).not.toEqual(rounds[2]);
  });

  it('skips members the filter refuses and gives up after a fruitless round', () => {
    const order = new ProbeOrder(seededRandom(1));
    order.add('a');
    order.add('b');
    expect(order.next((id) => id === 'b')).toBe('b');
    expect(order.next(() => false)).toBeUndefined();
  });

  it('forgets removed members and ignores duplicates', () => {
    const order = new ProbeOrder(seededRandom(1));
    order.add('a');
    order.add('a');
    order.add('b');
    order.remove('a');
    expect(order.size).toBe(1);
    expect(order.next()).toBe('b');
    expect(order.next()).toBe('b');
  });
});
