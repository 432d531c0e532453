import { ServiceDiscoveryClient } from '@switchyard/client';
import {
  isUp,
  type Registry,
  type ServiceInstance,
  ServiceNotFoundError,
  validateInstance,
  WatchFanout,
} from '@switchyard/core';
import { createRegistryServer, HttpRegistry, InMemoryRegistry } from '@switchyard/registry';
import { ConsulRegistry } from '@switchyard/registry-consul';
import { mockConsul } from '@switchyard/testing';
import fc from 'fast-check';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * Random instance lists — duplicates, bad ports and hosts, huge and broken weights, down
 * entries, empty lists, several lists in a row (flapping) — fed through real registries into
 * a live client. The client must never crash, and once the last list has landed it must route
 * to at least as many instances as that list has valid, distinct, up entries.
 */

const SERVICE = 'users';
const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
/** Mostly good values, sometimes bad ones: enough valid entries for the property to bite. */
const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: bad, weight: 1 });
const entry = fc.record(
  {
    id: mostly(fc.constantFrom(...ids), fc.constantFrom('bad id', '', 'x/y')),
    host: mostly(
      fc.constantFrom('127.0.0.1', '127.0.0.2', '127.0.0.3', 'localhost'),
      fc.constantFrom('', 'a b'),
    ),
    port: mostly(fc.integer({ min: 1, max: 65_535 }), fc.constantFrom(0, -1, 70_000, 1.5)),
    weight: mostly(
      fc.oneof(fc.double({ min: 0.001, max: 1e300, noNaN: true }), fc.constantFrom(1e308, 200_000)),
      fc.constantFrom(0, -1, Number.POSITIVE_INFINITY, Number.NaN),
    ),
    status: fc.constantFrom('up', 'up', 'up', 'down'),
  },
  { requiredKeys: ['id', 'host', 'port'] },
);
const lists = fc.array(fc.array(entry, { maxLength: 8 }), { minLength: 1, maxLength: 4 });
type Entry = Record<string, unknown> & { id: string };

function valid(list: readonly Entry[]): ServiceInstance[] {
  const out: ServiceInstance[] = [];
  for (const raw of list) {
    try {
      out.push(validateInstance({ ...raw, service: SERVICE }));
    } catch {
      // not valid: not expected to be routed to
    }
  }
  return out;
}

/** Distinct ids with at least one valid `up` entry: what a raw list can serve. */
const distinctUp = (list: readonly Entry[]) =>
  new Set(
    valid(list)
      .filter(isUp)
      .map((i) => i.id),
  ).size;
/** Registries keyed by id keep the last valid registration of each. */
function lastWinsUp(list: readonly Entry[]): number {
  const byId = new Map(valid(list).map((i) => [i.id, i] as const));
  return [...byId.values()].filter(isUp).length;
}

const withService = (list: readonly Entry[]): Entry[] => list.map((raw) => ({ ...raw, service: SERVICE }));

const crashed = vi.fn();
beforeEach(() => {
  crashed.mockReset();
  process.on('uncaughtException', crashed);
  process.on('unhandledRejection', crashed);
});
afterEach(() => {
  process.off('uncaughtException', crashed);
  process.off('unhandledRejection', crashed);
});

const eventually = { timeout: 10_000, interval: 10 };
const RUNS = { numRuns: 20, seed: 1010, endOnFailure: true };

/** Runs the property against one registry: `feed` puts a list in, `expected` says what must be served. */
async function fuzz(
  registry: Registry,
  feed: (list: readonly Entry[]) => Promise<void>,
  expected: (list: readonly Entry[]) => number,
  exact: boolean,
  options: { refreshMs?: number } = {},
): Promise<void> {
  const client = new ServiceDiscoveryClient({ registry, outlierDetection: false, ...options });
  client.on('listenerError', ({ error }) => crashed(error));
  try {
    await feed([]);
    await client.getInstances(SERVICE).catch(() => undefined);
    await fc.assert(
      fc.asyncProperty(lists, async (sequence) => {
        for (const list of sequence) await feed(list as Entry[]);
        const last = sequence.at(-1) as Entry[];
        const want = expected(last);
        await vi.waitFor(async () => {
          const have = await client.getInstances(SERVICE).then(
            (list) => list.length,
            (error: unknown) => {
              if (error instanceof ServiceNotFoundError) return 0; // every entry left
              throw error;
            },
          );
          if (exact) expect(have).toBe(want);
          else expect(have).toBeGreaterThanOrEqual(want);
        }, eventually);
        expect(crashed).not.toHaveBeenCalled();
      }),
      RUNS,
    );
  } finally {
    await client.close();
  }
}

describe('random discovery lists never crash the client nor hide valid instances', () => {
  it('InMemoryRegistry (watch)', async () => {
    const registry = new InMemoryRegistry();
    const feed = async (list: readonly Entry[]) => {
      const keep = new Set<string>();
      for (const raw of list) {
        try {
          await registry.register({ ...raw, service: SERVICE } as unknown as ServiceInstance);
          keep.add(raw.id);
        } catch {
          // the registry refused it: fine
        }
      }
      for (const instance of await registry.resolve(SERVICE).catch(() => [])) {
        if (!keep.has(instance.id)) await registry.deregister(SERVICE, instance.id);
      }
    };
    await fuzz(registry, feed, lastWinsUp, true);
    await registry.close();
  });

  it('a resolve-only registry handing out raw lists (refreshed in the background)', async () => {
    let current: readonly Entry[] = [];
    const registry: Registry = { resolve: async () => current as unknown as ServiceInstance[] };
    await fuzz(
      registry,
      async (list) => {
        current = withService(list);
      },
      distinctUp,
      true,
      { refreshMs: 1 },
    );
  });

  it('a watching registry handing out raw lists', async () => {
    const fanout = new WatchFanout();
    let current: readonly Entry[] = [];
    const registry: Registry = {
      resolve: async () => current as unknown as ServiceInstance[],
      watch(_service, listener) {
        fanout.add(listener);
        return () => fanout.remove(listener);
      },
    };
    await fuzz(
      registry,
      async (list) => {
        current = withService(list);
        fanout.publish(current as unknown as ServiceInstance[]);
      },
      distinctUp,
      true,
    );
  });

  it('HttpRegistry against the embedded registry server (long-poll watch)', async () => {
    const server = await createRegistryServer();
    const registry = new HttpRegistry({ url: server.url });
    const feed = async (list: readonly Entry[]) => {
      const keep = new Set<string>();
      for (const raw of list) {
        // Raw bodies, past HttpRegistry's own checks: the server is the gatekeeper here.
        const res = await fetch(`${server.url}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...raw, service: SERVICE }),
        });
        await res.arrayBuffer();
        if (res.ok) keep.add(raw.id);
      }
      const res = await fetch(`${server.url}/services/${SERVICE}`);
      const listed = res.ok ? ((await res.json()) as { id: string }[]) : [];
      for (const { id } of listed) {
        if (!keep.has(id))
          await (
            await fetch(`${server.url}/services/${SERVICE}/instances/${id}`, { method: 'DELETE' })
          ).arrayBuffer();
      }
    };
    try {
      await fuzz(registry, feed, lastWinsUp, true);
    } finally {
      await registry.close();
      await server.close();
    }
  });

  describe('ConsulRegistry against the msw Consul mock', () => {
    const URL_ = 'http://consul-fuzz.test:8500';
    const consul = mockConsul({ url: URL_ });
    const msw = setupServer(...consul.handlers);
    beforeAll(() => msw.listen({ onUnhandledRequest: 'error' }));
    afterAll(() => {
      consul.close();
      msw.close();
    });

    it('blocking-query watch', async () => {
      const registry = new ConsulRegistry({ url: URL_, waitMs: 1_000 });
      const feed = async (list: readonly Entry[]) => {
        consul.setInstances(SERVICE, asConsul(list) as never);
      };
      try {
        // Identity in Consul includes the node: at least the distinct valid ids must route.
        await fuzz(registry, feed, (list) => distinctUp(asConsul(list)), false);
      } finally {
        await registry.close();
      }
    });

    /**
     * What Consul itself would store: it refuses ports outside 0..65535 and non-finite weights
     * at registration, but keeps port 0 and lets one ID live on several nodes.
     */
    function asConsul(list: readonly Entry[]): Entry[] {
      return list
        .filter((raw) => {
          const { port, weight, id } = raw as { port: number; weight?: number; id: string };
          return (
            id !== '' &&
            Number.isInteger(port) &&
            port >= 0 &&
            port <= 65_535 &&
            (weight === undefined || Number.isFinite(weight))
          );
        })
        .map((raw, index) => ({ ...raw, node: `node-${index % 3}` }));
    }
  });
});
