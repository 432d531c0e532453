import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type InstanceStats, LoadStats } from './load-stats.ts';

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

describe('LoadStats in-flight counts', () => {
  it('keeps every count in one compact array, at the slot of each instance', () => {
    const load = new LoadStats();
    const a = load.of(instance('a'));
    const b = load.of('b');
    a.onStart();
    a.onStart();
    b.onStart();
    expect(load.inflightCounts[load.slotOf('a')]).toBe(2);
    expect(load.inflightCounts[load.slotOf(instance('b'))]).toBe(1);
    b.inflight = 5;
    expect(load.inflightCounts[load.slotOf('b')]).toBe(5);
    b.inflight = -3;
    expect(b.inflight).toBe(0);
  });

  it('grows the array as instances arrive, keeping the counts it had', () => {
    const load = new LoadStats();
    for (let i = 0; i < 100; i++) load.of(`i${i}`).inflight = i;
    for (let i = 0; i < 100; i++) {
      expect(load.inflightCounts[load.slotOf(`i${i}`)]).toBe(i);
      expect(load.of(`i${i}`).inflight).toBe(i);
    }
  });

  it('gives a forgotten instance’s slot to a newcomer, while the old stats keep counting apart', () => {
    const load = new LoadStats();
    const gone = load.of('gone');
    const slot = load.slotOf('gone');
    load.retain([]);
    const newcomer = load.of('new');
    expect(load.slotOf('new')).toBe(slot);
    newcomer.onStart();
    // Someone still holding the forgotten stats: its figures are its own, and the total still adds up.
    gone.onStart();
    gone.onStart();
    expect(gone.inflight).toBe(2);
    expect(newcomer.inflight).toBe(1);
    expect(load.totalInflight).toBe(3);
    gone.onEnd(0, 1, true);
    expect(gone.inflight).toBe(1);
    expect(load.totalInflight).toBe(2);
  });

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

  it('a standalone InstanceStats counts on its own', async () => {
    const { InstanceStats } = await import('./load-stats.ts');
    const stats: InstanceStats = new InstanceStats();
    stats.onStart();
    stats.onStart();
    stats.onEnd(0, 1, true);
    expect(stats.inflight).toBe(1);
  });
});

describe('LoadStats.inflightOrder', () => {
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
