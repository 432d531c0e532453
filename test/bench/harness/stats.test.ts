import { describe, expect, it } from 'vitest';
import { interleavedRounds, roundOrder } from './stats.ts';

/** How often each variant runs right after each other one, over `rounds` rounds. */
function followCounts(n: number, rounds: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    const order = roundOrder(n, round);
    for (let j = 1; j < n; j++) {
      const pair = `${order[j - 1]}→${order[j]}`;
      counts.set(pair, (counts.get(pair) ?? 0) + 1);
    }
  }
  return counts;
}

describe('roundOrder', () => {
  for (const n of [2, 3, 4, 5, 6, 7]) {
    const cycle = n % 2 === 0 ? n : 2 * n;

    it(`runs each of ${n} variants once per round, and once in each position per cycle`, () => {
      const byPosition = Array.from({ length: n }, () => new Map<number, number>());
      for (let round = 0; round < cycle; round++) {
        const order = roundOrder(n, round);
        expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        order.forEach((variant, position) => {
          byPosition[position]!.set(variant, (byPosition[position]!.get(variant) ?? 0) + 1);
        });
      }
      for (const counts of byPosition) {
        expect(counts.size).toBe(n);
        expect(new Set(counts.values())).toEqual(new Set([cycle / n]));
      }
    });

    it(`has each of ${n} variants follow every other one equally often over a cycle`, () => {
      const counts = followCounts(n, cycle);
      // Every ordered pair of distinct variants, and each as often: a rotation would give each
      // variant one predecessor only.
      expect(counts.size).toBe(n * (n - 1));
      expect(new Set(counts.values())).toEqual(new Set([cycle / n]));
    });
  }

  it('repeats with its cycle, also for the negative numbers of warm-up rounds', () => {
    expect(roundOrder(4, 5)).toEqual(roundOrder(4, 1));
    expect(roundOrder(5, 12)).toEqual(roundOrder(5, 2));
    expect(roundOrder(4, -1)).toEqual(roundOrder(4, 3));
    expect(roundOrder(1, 7)).toEqual([0]);
  });
});

describe('interleavedRounds', () => {
  it('runs the variants in roundOrder, calls beforeRound first, and keeps results by round', async () => {
    const ran: string[] = [];
    const variants = ['a', 'b', 'c'].map((name) => ({
      name,
      run: async (round: number) => {
        ran.push(`${name}${round}`);
        return round;
      },
    }));
    const results = await interleavedRounds(2, variants, 1, (round) => ran.push(`before${round}`));
    const names = (round: number) => roundOrder(3, round).map((k) => variants[k]!.name);
    expect(ran).toEqual([
      'before-1',
      ...names(0).map((name) => `${name}-1`),
      'before0',
      ...names(0).map((name) => `${name}0`),
      'before1',
      ...names(1).map((name) => `${name}1`),
    ]);
    expect(results.get('b')).toEqual([0, 1]);
  });
});
