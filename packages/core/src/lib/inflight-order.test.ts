import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InflightOrder } from './inflight-order.ts';
import { LoadStats } from './load-stats.ts';

const instance = (id: string) => ({ id, service: 's', host: 'h', port: 1 });

/** Checks what the order promises: exactly the known slots, sorted by their live counts. */
function expectSorted(load: LoadStats, ids: readonly string[]): void {
  const order = load.inflightOrder();
  const counts = load.inflightCounts;
  const slots = Array.from(order.order.subarray(0, order.size));
  expect(slots.sort((x, y) => x - y)).toEqual(ids.map((id) => load.slotOf(id)).sort((x, y) => x - y));
  for (let at = 1; at < order.size; at++) {
    expect(counts[order.order[at]!]).toBeGreaterThanOrEqual(counts[order.order[at - 1]!]!);
  }
  // Every run ends where the next count starts.
  for (let at = 0; at < order.size; ) {
    const count = counts[order.order[at]!]!;
    const end = order.end(count);
    for (let k = at; k < end; k++) expect(counts[order.order[k]!]).toBe(count);
    expect(end === order.size || counts[order.order[end]!]! > count).toBe(true);
    at = end;
  }
}

describe('InflightOrder', () => {
  it('sorts slots by count in runs, and moves one slot a run up or down per start or end', () => {
    const counts = Int32Array.of(2, 0, 1, 0);
    const sorted = new InflightOrder(counts, [0, 1, 2, 3]);
    const runs = () => Array.from(sorted.order.subarray(0, sorted.size), (slot) => counts[slot]);
    expect(runs()).toEqual([0, 0, 1, 2]);
    expect(sorted.end(0)).toBe(2);
    expect(sorted.end(1)).toBe(3);
    expect(sorted.end(2)).toBe(4);
    sorted.raise(1, counts[1]!++);
    expect(runs()).toEqual([0, 1, 1, 2]);
    sorted.raise(0, counts[0]!++); // a new highest count
    expect(runs()).toEqual([0, 1, 1, 3]);
    expect(sorted.end(3)).toBe(4);
    sorted.lower(2, counts[2]!--);
    expect(runs()).toEqual([0, 0, 1, 3]);
    expect(new Set(sorted.order.subarray(0, 2))).toEqual(new Set([2, 3]));
  });

  it('takes in a new slot at count 0 and drops one at count 0, whatever the other counts', () => {
    const counts = new Int32Array(8);
    counts.set([3, 1, 0]);
    const sorted = new InflightOrder(counts, [0, 1, 2]);
    sorted.insert(5);
    expect(Array.from(sorted.order.subarray(0, sorted.size), (slot) => counts[slot])).toEqual([0, 0, 1, 3]);
    expect(sorted.end(0)).toBe(2);
    sorted.remove(2);
    expect(Array.from(sorted.order.subarray(0, sorted.size))).toEqual([5, 1, 0]);
    expect(sorted.end(0)).toBe(1);
  });
});

describe('LoadStats.inflightOrder', () => {
  it('keeps a departed instance with requests in flight in its slot until they end', () => {
    const load = new LoadStats();
    const leaving = load.of('leaving');
    leaving.onStart();
    load.inflightOrder();
    load.retain([]);
    expect(load.inflightCounts[load.slotOf('leaving')]).toBe(1);
    expectSorted(load, ['leaving']);
    leaving.onEnd(0, 1, true);
    expectSorted(load, ['leaving']);
    load.retain([]);
    expectSorted(load, []);
  });

  it('sorts the instances it already knows, then keeps them sorted through starts and ends', () => {
    const load = new LoadStats();
    const ids = ['a', 'b', 'c', 'd'];
    ids.forEach((id, i) => {
      load.of(id).inflight = 3 - i;
    });
    expectSorted(load, ids);
    expect(load.inflightCounts[load.inflightOrder().order[0]!]).toBe(0);
    load.of('d').onStart();
    load.of('d').onStart();
    expectSorted(load, ids);
    load.of('a').onEnd(0, 1, true);
    load.of('a').onEnd(0, 1, true);
    load.of('a').onEnd(0, 1, true);
    expectSorted(load, ids);
    expect(load.slotOf('a')).toBe(load.inflightOrder().order[0]);
  });

  it('stays exact through any sequence of starts, ends, arrivals, departures and direct sets', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('start' as const), id: fc.nat(11) }),
      fc.record({ kind: fc.constant('end' as const), id: fc.nat(11) }),
      fc.record({ kind: fc.constant('set' as const), id: fc.nat(11), value: fc.nat(6) }),
      fc.record({ kind: fc.constant('retain' as const), keep: fc.array(fc.nat(11), { maxLength: 12 }) }),
      fc.record({ kind: fc.constant('order' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const load = new LoadStats();
        const known = new Set<string>();
        const expected = new Map<string, number>();
        for (const step of ops) {
          if (step.kind === 'retain') {
            const keep = new Set(step.keep.map((i) => `i${i}`));
            load.retain([...keep].map(instance));
            for (const id of [...known]) {
              if (!keep.has(id) && (expected.get(id) ?? 0) === 0) {
                known.delete(id);
                expected.delete(id);
              }
            }
          } else if (step.kind === 'order') {
            load.inflightOrder();
          } else {
            const id = `i${step.id}`;
            const stats = load.of(id);
            known.add(id);
            const before = expected.get(id) ?? 0;
            if (step.kind === 'start') stats.onStart();
            if (step.kind === 'end') stats.onEnd(0, 1, true);
            if (step.kind === 'set') stats.inflight = step.value;
            const after =
              step.kind === 'start' ? before + 1 : step.kind === 'end' ? Math.max(before - 1, 0) : step.value;
            expected.set(id, after);
          }
        }
        for (const id of known) expect(load.of(id).inflight).toBe(expected.get(id) ?? 0);
        expectSorted(load, [...known]);
      }),
      { seed: 13, numRuns: 300 },
    );
  });
});
