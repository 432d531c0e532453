import type { Balancer } from '@switchyard/balancers';
import { roundRobin } from '@switchyard/balancers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientEvents } from './client-events.ts';
import { ServiceDiscoveryClient } from './service-discovery-client.ts';
import { instance, PushRegistry, resolveOnly } from './test-registry.test-support.ts';

const ids = (list: readonly { id: string }[]) => list.map((i) => i.id).sort();
const eventually = { timeout: 5_000, interval: 5 };

let client: ServiceDiscoveryClient | undefined;
const crashed = vi.fn();
const warned = vi.fn();

beforeEach(() => {
  crashed.mockReset();
  warned.mockReset();
  process.on('uncaughtException', crashed);
  process.on('unhandledRejection', crashed);
  process.on('warning', warned);
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  process.off('uncaughtException', crashed);
  process.off('unhandledRejection', crashed);
  process.off('warning', warned);
});

function start(registry: PushRegistry | ReturnType<typeof resolveOnly>, balancer?: Balancer) {
  client = new ServiceDiscoveryClient({ registry, balancer, healthCheck: undefined });
  const invalid: ClientEvents['invalidInstance'][] = [];
  const rejectedUpdates: ClientEvents['updateRejected'][] = [];
  client.on('invalidInstance', (event) => invalid.push(event));
  client.on('updateRejected', (event) => rejectedUpdates.push(event));
  return { client, invalid, rejectedUpdates };
}

/** Lets queued microtasks and timers run, where a re-thrown error would surface. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('ServiceView apply path', () => {
  it('a watch that brings duplicate ids neither crashes nor empties the service; each duplicate is reported once', async () => {
    // Tried: Consul's default Service.ID is the service name, so 3 nodes answer 3 × "users-1".
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1'), instance('users-2')]);
    const { client, invalid } = start(registry);
    expect(ids(await client.getInstances('users'))).toEqual(['users-1', 'users-2']);

    const dupes = [instance('users-1'), instance('users-1', { host: '127.0.0.2' }), instance('users-2')];
    registry.push('users', dupes);
    await settle();
    expect(crashed).not.toHaveBeenCalled();
    expect(ids(await client.getInstances('users'))).toEqual(['users-1', 'users-2']);
    expect(invalid).toEqual([
      expect.objectContaining({ service: 'users', reason: expect.stringMatching(/duplicate id "users-1"/) }),
    ]);

    // The same bad entry in the next answers: not reported again. A new one is.
    registry.push('users', [...dupes, instance('users-3')]);
    registry.push('users', [...dupes, instance('users-3'), instance('users-2', { port: 9 })]);
    await settle();
    expect(invalid).toHaveLength(2);
    expect(ids(await client.getInstances('users'))).toEqual(['users-1', 'users-2', 'users-3']);
    expect(crashed).not.toHaveBeenCalled();
  });

  it('resolve-only: a list with duplicate ids serves its distinct instances, not none', async () => {
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1'), instance('users-1', { port: 9001 }), instance('users-2')]);
    const { client, invalid } = start(resolveOnly(registry));
    expect(ids(await client.getInstances('users'))).toEqual(['users-1', 'users-2']);
    expect(invalid).toHaveLength(1);
  });

  it('drops malformed entries (bad port, bad weight, not an object) and serves the rest', async () => {
    const registry = new PushRegistry();
    registry.push('users', [
      instance('users-1'),
      instance('users-2', { port: 0 }),
      instance('users-3', { weight: Number.NaN }),
      null,
      instance('users-4', { weight: 1e300 }),
    ]);
    const { client, invalid } = start(registry);
    expect(ids(await client.getInstances('users'))).toEqual(['users-1', 'users-4']);
    expect(invalid.map((e) => e.reason)).toEqual([
      expect.stringMatching(/port/),
      expect.stringMatching(/weight/),
      expect.stringMatching(/instance/),
    ]);
  });

  it('a balancer that throws while building keeps the last good snapshot and says why', async () => {
    const inner = roundRobin();
    const fragile: Balancer = {
      name: 'fragile',
      build(snapshot, context) {
        if (snapshot.instances.length === 3) throw new RangeError('cannot build for 3');
        return inner.build(snapshot, context);
      },
    };
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1'), instance('users-2')]);
    const { client, rejectedUpdates } = start(registry, fragile);
    expect(ids(await client.getInstances('users'))).toEqual(['users-1', 'users-2']);

    registry.push('users', [instance('users-1'), instance('users-2'), instance('users-3')]);
    await settle();
    expect(crashed).not.toHaveBeenCalled();
    expect(rejectedUpdates).toEqual([
      expect.objectContaining({ service: 'users', reason: 'cannot build for 3', kept: 2 }),
    ]);
    expect(ids(await client.getInstances('users'))).toEqual(['users-1', 'users-2']);
    const used = new Set<string>();
    for (let i = 0; i < 4; i++) {
      used.add(await client.callService('users', async (picked) => picked.id));
    }
    expect([...used].sort()).toEqual(['users-1', 'users-2']);

    registry.push('users', [instance('users-1')]);
    await vi.waitFor(
      async () => expect(ids(await client.getInstances('users'))).toEqual(['users-1']),
      eventually,
    );
  });

  it('a listener that throws is reported as listenerError; the client and the other listeners carry on', async () => {
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1')]);
    const { client } = start(registry);
    const errors: ClientEvents['listenerError'][] = [];
    const versions: number[] = [];
    client.on('instancesChanged', () => {
      throw new Error('user bug');
    });
    client.on('instancesChanged', (event) => versions.push(event.version));
    client.on('listenerError', (event) => errors.push(event));
    await client.getInstances('users');
    registry.push('users', [instance('users-1'), instance('users-2')]);
    await settle();
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toMatchObject({
      event: 'instancesChanged',
      error: expect.objectContaining({ message: 'user bug' }),
    });
    expect(ids(await client.getInstances('users'))).toEqual(['users-1', 'users-2']);
    expect(crashed).not.toHaveBeenCalled();
  });

  it('without a listenerError listener, a throwing listener becomes a process warning, not a crash', async () => {
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1')]);
    const { client } = start(registry);
    client.on('instancesChanged', () => {
      throw new Error('user bug');
    });
    await client.getInstances('users');
    await vi.waitFor(() => expect(warned).toHaveBeenCalled(), eventually);
    await settle();
    expect(crashed).not.toHaveBeenCalled();
  });
});
