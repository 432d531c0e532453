import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedRandom } from './fast-random.ts';
import { EXACT_SCAN_LIMIT, leastConnections, SAMPLES, STRANGER_LIMIT } from './least-connections.ts';

function fleet(n: number, weight = (_i: number) => 1): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `i${i}`,
    service: 's',
    host: '127.0.0.1',
    port: 1000 + i,
    weight: weight(i),
  }));
}

describe('leastConnections', () => {
  // Statistical tests: a fixed seed makes each run the same, so a bound can never fail by luck.
  beforeEach(() => seedRandom(0x5eed));

  it('picks the instance with the fewest requests in flight', () => {
    const load = new LoadStats();
    const picker = leastConnections().build(createSnapshot('s', fleet(3), 1), { load });
    load.of('i0').inflight = 2;
    load.of('i1').inflight = 1;
    load.of('i2').inflight = 3;
    expect(picker.pick()?.id).toBe('i1');
    load.of('i1').inflight = 4;
    expect(picker.pick()?.id).toBe('i0');
  });

  it('breaks ties at random, not always the first', () => {
    const picker = leastConnections().build(createSnapshot('s', fleet(4), 1), { load: new LoadStats() });
    const counts = new Map<string, number>();
    for (let i = 0; i < 4_000; i++) {
      const id = picker.pick()!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(4);
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
  });

  it('honours weights: in-flight per unit of weight, and ties drawn by weight', () => {
    const load = new LoadStats();
    const picker = leastConnections().build(
      createSnapshot(
        's',
        fleet(2, (i) => (i === 0 ? 3 : 1)),
        1,
      ),
      { load },
    );
    load.of('i0').inflight = 2; // 2 / 3 < 1 / 1
    load.of('i1').inflight = 1;
    expect(picker.pick()?.id).toBe('i0');
    load.of('i0').inflight = 0;
    load.of('i1').inflight = 0;
    let heavy = 0;
    for (let i = 0; i < 4_000; i++) if (picker.pick()!.id === 'i0') heavy++;
    expect(heavy / 4_000).toBeGreaterThan(0.7);
    expect(heavy / 4_000).toBeLessThan(0.8);
  });

  it('fills the fleet evenly as requests start', () => {
    const load = new LoadStats();
    const picker = leastConnections().build(createSnapshot('s', fleet(5), 1), { load });
    for (let i = 0; i < 100; i++) load.of(picker.pick()!).onStart();
    expect(fleet(5).map((instance) => load.of(instance).inflight)).toEqual([20, 20, 20, 20, 20]);
  });

  it('carries in-flight counts into the picker of the next snapshot', () => {
    const strategy = leastConnections();
    const load = new LoadStats();
    const first = strategy.build(createSnapshot('s', fleet(2), 1), { load });
    for (let i = 0; i < 6; i++) load.of(first.pick()!).onStart(); // 3 each on i0 and i1
    const second = strategy.build(createSnapshot('s', fleet(3), 2), { load, previous: first });
    // The newcomer i2 is idle: it takes the next three before anyone else gets a fourth.
    for (let i = 0; i < 3; i++) {
      const instance = second.pick()!;
      expect(instance.id).toBe('i2');
      load.of(instance).onStart();
    }
  });

  it('skips excluded instances even when they are the least loaded', () => {
    const load = new LoadStats();
    const picker = leastConnections().build(createSnapshot('s', fleet(3), 1), { load });
    load.of('i1').inflight = 9;
    load.of('i2').inflight = 9;
    expect(picker.pick({ excluded: (x) => x.id === 'i0' })?.id).toMatch(/i1|i2/);
    expect(picker.pick({ excluded: () => true })).toBeUndefined();
  });

  describe('equal weights: exact at any size, from the order LoadStats keeps', () => {
    it('always picks among the least loaded, every one of them in turn', () => {
      const load = new LoadStats();
      const instances = fleet(10_000);
      const picker = leastConnections().build(createSnapshot('s', instances, 1), { load });
      instances.forEach((instance, i) => {
        load.of(instance).inflight = (i % 100) + 1;
      });
      load.of('i4242').inflight = 0;
      expect(picker.pick()?.id).toBe('i4242');
      load.of('i4242').inflight = 1; // now tied with the 99 others at 1
      const counts = new Map<string, number>();
      for (let i = 0; i < 20_000; i++) {
        const instance = picker.pick()!;
        expect(load.of(instance).inflight).toBe(1);
        counts.set(instance.id, (counts.get(instance.id) ?? 0) + 1);
      }
      expect(counts.size).toBe(101);
      for (const count of counts.values()) expect(count).toBeGreaterThan(100); // ≈ 198 each on average
    });

    it('fills a fleet exactly evenly as requests start and end', () => {
      const load = new LoadStats();
      const instances = fleet(1_000);
      const picker = leastConnections().build(createSnapshot('s', instances, 1), { load });
      const started: string[] = [];
      for (let i = 0; i < 20_000; i++) {
        const instance = picker.pick()!;
        load.of(instance).onStart();
        started.push(instance.id);
        // Every third request ends again, somewhere in the fleet.
        if (i % 3 === 2) load.of(started[(i * 7919) % started.length]!).onEnd(0, 1, true);
      }
      const counts = instances.map((instance) => load.of(instance).inflight);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(2);
    });

    it('skips excluded instances, and still finds the one allowed', () => {
      const load = new LoadStats();
      const instances = fleet(1_000);
      const picker = leastConnections().build(createSnapshot('s', instances, 1), { load });
      for (let i = 0; i < 2_000; i++) {
        const instance = picker.pick({ excluded: (x) => Number(x.id.slice(1)) % 2 === 0 })!;
        expect(Number(instance.id.slice(1)) % 2).toBe(1);
        load.of(instance).onStart();
      }
      // The odd half took everything, evenly: 4 each.
      expect(instances.filter((_, i) => i % 2 === 1).every((x) => load.of(x).inflight === 4)).toBe(true);
      // The least loaded (the idle even half) all excluded: the next run up decides.
      expect(picker.pick({ excluded: (x) => x.id !== 'i777' })?.id).toBe('i777');
      expect(picker.pick({ excluded: () => true })).toBeUndefined();
    });

    it('never picks a departed instance still in flight, and gives its slot to a newcomer', () => {
      const strategy = leastConnections();
      const load = new LoadStats();
      const first = fleet(4);
      strategy.build(createSnapshot('s', first, 1), { load });
      for (const instance of first) load.of(instance).onStart();
      load.of('i0').onStart();
      // i0 leaves with two requests in flight; the figures keep it until they end.
      const second = first.slice(1);
      load.retain(second);
      const picker = strategy.build(createSnapshot('s', second, 2), { load });
      load.of('i0').onEnd(0, 1, true);
      load.of('i0').onEnd(0, 1, true); // i0 is now the least loaded of the service, at 0
      for (let i = 0; i < 200; i++) expect(picker.pick()?.id).not.toBe('i0');
      const slot = load.slotOf('i0');
      load.retain(second); // forgotten now: its slot is free
      expect(load.size).toBe(3);
      const third = [...second, ...fleet(10).slice(9)]; // i9 arrives, in i0's old slot
      const next = strategy.build(createSnapshot('s', third, 3), { load });
      expect(load.slotOf('i9')).toBe(slot);
      expect(next.pick()?.id).toBe('i9');
      load.of('i9').onStart();
      const counts = new Set<string>();
      for (let i = 0; i < 200; i++) counts.add(next.pick()!.id);
      expect(counts).toEqual(new Set(['i1', 'i2', 'i3', 'i9']));
    });

    it('follows snapshot changes: a newcomer takes the picks until it has caught up', () => {
      const strategy = leastConnections();
      const load = new LoadStats();
      const first = strategy.build(createSnapshot('s', fleet(200), 1), { load });
      for (let i = 0; i < 600; i++) load.of(first.pick()!).onStart(); // 3 each
      const second = strategy.build(createSnapshot('s', fleet(210), 2), { load, previous: first });
      for (let i = 0; i < 30; i++) {
        const instance = second.pick()!;
        expect(Number(instance.id.slice(1))).toBeGreaterThanOrEqual(200);
        load.of(instance).onStart();
      }
      expect(fleet(210).every((instance) => load.of(instance).inflight === 3)).toBe(true);
    });
  });

  describe(`above ${EXACT_SCAN_LIMIT} instances, unequal weights: the least loaded of ${SAMPLES} sampled by weight`, () => {
    // One instance of weight 2 makes the weights unequal; the rest draw (almost) uniformly.
    const weight = (i: number) => (i === 0 ? 2 : 1);

    it('picks from the least loaded part of the fleet, never from the top half but by a long chance', () => {
      const load = new LoadStats();
      const instances = fleet(10_000, weight);
      const picker = leastConnections().build(createSnapshot('s', instances, 1), { load });
      instances.forEach((instance, i) => {
        load.of(instance).inflight = i % 100;
      });
      let sum = 0;
      let topHalf = 0;
      for (let i = 0; i < 20_000; i++) {
        const inflight = load.of(picker.pick()!).inflight;
        sum += inflight;
        if (inflight >= 50) topHalf++;
      }
      // The least of 8 uniform draws from 0..99 averages ≈ 11 (a random pick: 49.5); top half: 0.4 %.
      expect(sum / 20_000).toBeLessThan(14);
      expect(topHalf / 20_000).toBeLessThan(0.01);
    });

    it('keeps a fleet even per unit of weight as requests start, and still finds the one allowed instance', () => {
      const load = new LoadStats();
      const instances = fleet(1_000, weight);
      const picker = leastConnections().build(createSnapshot('s', instances, 1), { load });
      for (let i = 0; i < 20_000; i++) load.of(picker.pick()!).onStart();
      const perWeight = instances.map((instance, i) => load.of(instance).inflight / weight(i));
      expect(Math.max(...perWeight) - Math.min(...perWeight)).toBeLessThanOrEqual(4);
      expect(picker.pick({ excluded: (x) => x.id !== 'i777' })?.id).toBe('i777');
      expect(picker.pick({ excluded: () => true })).toBeUndefined();
    });
  });

  it(`samples when the service's figures hold more than ${STRANGER_LIMIT} instances outside the snapshot`, () => {
    // A zone's picker in localityAware: the rest of the service, idle, sorts before it.
    const load = new LoadStats();
    const instances = fleet(1_000);
    for (const instance of instances) load.of(instance);
    const zone = instances.slice(0, 300);
    const picker = leastConnections().build(createSnapshot('s', zone, 1), { load });
    for (const instance of zone) load.of(instance).inflight = 1;
    load.of('i123').inflight = 0;
    const seen = new Set<string>();
    for (let i = 0; i < 3_000; i++) {
      const instance = picker.pick()!;
      expect(Number(instance.id.slice(1))).toBeLessThan(300);
      seen.add(instance.id);
    }
    expect(seen.has('i123')).toBe(true);
    expect(picker.pick({ excluded: (x) => x.id !== 'i42' })?.id).toBe('i42');
  });

  it('works with one instance and gives nothing for an empty snapshot', () => {
    expect(
      leastConnections()
        .build(createSnapshot('s', fleet(1), 1), { load: new LoadStats() })
        .pick()?.id,
    ).toBe('i0');
    expect(
      leastConnections()
        .build(createSnapshot('s', [], 1), { load: new LoadStats() })
        .pick(),
    ).toBeUndefined();
  });

  describe('with real backends, one of them slow', () => {
    const servers: Server[] = [];
    const instances: ServiceInstance[] = [];
    const agent = new Agent({ connections: 16 });

    beforeAll(async () => {
      for (let i = 0; i < 3; i++) {
        const delayMs = i === 0 ? 50 : 0;
        const server = createServer((_req, res) => {
          const answer = () => res.end('ok');
          if (delayMs > 0) setTimeout(answer, delayMs);
          else answer();
        });
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        servers.push(server);
        const { port } = server.address() as AddressInfo;
        instances.push({ id: `b${i}`, service: 'backends', host: '127.0.0.1', port });
      }
    });

    afterAll(async () => {
      await agent.close();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    });

    it('sends the slow backend clearly less traffic than each fast one', async () => {
      const load = new LoadStats();
      const picker = leastConnections().build(createSnapshot('backends', instances, 1), { load });
      const served = new Map<string, number>();
      const total = 240;
      let issued = 0;
      // Six callers in parallel, each sending its next request when the last one answers.
      const caller = async () => {
        while (issued < total) {
          issued++;
          const instance = picker.pick()!;
          const stats = load.of(instance);
          const started = performance.now();
          stats.onStart();
          let ok = false;
          try {
            const response = await request(`http://127.0.0.1:${instance.port}/`, { dispatcher: agent });
            await response.body.text();
            ok = response.statusCode === 200;
          } finally {
            stats.onEnd(performance.now(), performance.now() - started, ok);
          }
          served.set(instance.id, (served.get(instance.id) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 6 }, caller));
      const slow = served.get('b0') ?? 0;
      const fast = Math.min(served.get('b1') ?? 0, served.get('b2') ?? 0);
      expect(slow + (served.get('b1') ?? 0) + (served.get('b2') ?? 0)).toBe(total);
      expect(slow).toBeLessThan(fast / 2);
    });
  });
});
