import { ServiceDiscoveryClient } from '@switchyard/client';
import { type Registry, type ServiceInstance, WatchFanout } from '@switchyard/core';
import { type Backends, startBackends } from '@switchyard/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';

const eventually = { timeout: 10_000, interval: 20 };
let backends: Backends | undefined;
let client: ServiceDiscoveryClient | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await backends?.close();
  backends = undefined;
});

/** A watch registry the test moves by hand. */
function handRegistry(initial: readonly ServiceInstance[]) {
  const fanout = new WatchFanout();
  let current = initial;
  fanout.publish(current);
  const registry: Registry = {
    resolve: async () => current,
    watch(_service, listener) {
      fanout.add(listener);
      return () => fanout.remove(listener);
    },
  };
  return {
    registry,
    set(list: readonly ServiceInstance[]) {
      current = list;
      fanout.publish(list);
    },
  };
}

const ids = async (c: ServiceDiscoveryClient) => (await c.getInstances('users')).map((i) => i.id);

describe('instances that left discovery but pass their health checks', () => {
  it('keep serving for departedGraceMs only, then are dropped', async () => {
    backends = await startBackends(2, { service: 'users' });
    const hand = handRegistry(backends.instances());
    client = new ServiceDiscoveryClient({
      registry: hand.registry,
      healthCheck: { type: 'http', path: '/health', intervalMs: 50, healthyThreshold: 1 },
      departedGraceMs: 500,
    });
    const healthy = new Set<string>();
    client.on('healthy', (e) => healthy.add(e.instanceId));
    await client.getInstances('users');
    await vi.waitFor(() => expect(healthy.size).toBe(2), eventually);

    // Tried: users-2 deregistered while its process keeps answering its health checks.
    hand.set(backends.instances().filter((i) => i.id === 'users-1'));
    expect(await ids(client)).toEqual(['users-1', 'users-2']); // Envoy's rule: kept for now
    await vi.waitFor(async () => expect(await ids(client!)).toEqual(['users-1']), eventually);
  });

  it('are kept at most maxDeparted at a time', async () => {
    backends = await startBackends(4, { service: 'users' });
    const hand = handRegistry(backends.instances());
    client = new ServiceDiscoveryClient({
      registry: hand.registry,
      healthCheck: { type: 'http', path: '/health', intervalMs: 50, healthyThreshold: 1 },
      maxDeparted: 1,
    });
    const healthy = new Set<string>();
    client.on('healthy', (e) => healthy.add(e.instanceId));
    await client.getInstances('users');
    await vi.waitFor(() => expect(healthy.size).toBe(4), eventually);
    hand.set(backends.instances().filter((i) => i.id === 'users-1'));
    expect(await ids(client)).toHaveLength(2);
  });
});
