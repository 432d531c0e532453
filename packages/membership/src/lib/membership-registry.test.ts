import type { ServiceInstance } from '@switchyard/core';
import { ValidationError } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { memberToInstance } from './member-instance.ts';
import { freezeRecord } from './member-state.ts';
import { MembershipRegistry, type MembershipRegistryEvents } from './membership-registry.ts';
import { SimulatedCluster } from './simulated-cluster.ts';
import { encodeState } from './state-sync.ts';

const PERIOD = 100;
const node = { probeIntervalMs: PERIOD, probeTimeoutMs: 40, gossipIntervalMs: 20, reapDelayMs: 5_000 };
let sim: SimulatedCluster | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('memberToInstance', () => {
  const base = { id: 'cache-1', host: '10.0.0.7', port: 7946, incarnation: 0, state: 'alive' as const };

  it('maps service metadata to a validated instance, passing other keys through', () => {
    const instance = memberToInstance(
      freezeRecord({
        ...base,
        metadata: { service: 'cache', port: '6379', weight: '2.5', zone: 'eu-1', secure: 'true', shard: '3' },
      }),
    );
    expect(instance).toEqual({
      id: 'cache-1',
      service: 'cache',
      host: '10.0.0.7',
      port: 6379,
      weight: 2.5,
      zone: 'eu-1',
      secure: true,
      metadata: { shard: '3' },
    });
  });

  it('ignores members that name no service', () => {
    expect(memberToInstance(freezeRecord({ ...base, metadata: { role: 'x' } }))).toBeUndefined();
  });

  it.each([
    [{ service: 'cache' }, 'port'],
    [{ service: 'cache', port: 'http' }, 'port'],
    [{ service: 'cache', port: '70000' }, 'port'],
    [{ service: 'cache', port: '80', weight: '-1' }, 'weight'],
    [{ service: 'has space', port: '80' }, 'service'],
    [{ service: 'cache', port: '80', secure: 'yes' }, 'secure'],
  ])('rejects %o with a ValidationError on %s', (metadata, field) => {
    try {
      memberToInstance(freezeRecord({ ...base, metadata }));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
    }
  });
});

describe('MembershipRegistry', () => {
  it('follows joins, failures and leaves of a service’s members through watch', async () => {
    sim = await SimulatedCluster.start({ size: 1, seed: 1, node });
    const client = sim.nodes[0]!;
    const registry = new MembershipRegistry(client);
    const views: string[][] = [];
    const stop = registry.watch('cache', (instances) => views.push(instances.map((i) => i.id).sort()));
    expect(views).toEqual([[]]);

    const seed = `${client.address.host}:${client.address.port}`;
    const members = [];
    for (const name of ['cache-a', 'cache-b', 'cache-c']) {
      const m = await sim.add(name, { metadata: { service: 'cache', port: '6379' } });
      await sim.settle(m.join([seed]));
      members.push(m);
    }
    const other = await sim.add('web-1', { metadata: { service: 'web', port: '80' } });
    await sim.settle(other.join([seed]));
    await sim.runUntil(() => views.at(-1)?.length === 3, 20 * PERIOD);
    expect(views.at(-1)).toEqual(['cache-a', 'cache-b', 'cache-c']);
    expect((await registry.resolve('web')).map((i: ServiceInstance) => i.port)).toEqual([80]);

    await members[0]!.close(); // crash
    expect(await sim.runUntil(() => views.at(-1)?.length === 2, 200 * PERIOD)).toBeDefined();
    expect(views.at(-1)).toEqual(['cache-b', 'cache-c']);

    await sim.settle(members[1]!.leave()); // graceful
    expect(await sim.runUntil(() => views.at(-1)?.length === 1, 20 * PERIOD)).toBeDefined();
    expect(views.at(-1)).toEqual(['cache-c']);
    // No duplicate notifications: each list differs from the one before.
    for (let i = 1; i < views.length; i++) expect(views[i]).not.toEqual(views[i - 1]);

    stop();
    await registry.close();
  });

  it('skips members with invalid service metadata and reports each once', async () => {
    sim = await SimulatedCluster.start({ size: 1, seed: 2, node });
    const registry = new MembershipRegistry(sim.nodes[0]!);
    const invalid: string[] = [];
    const events: MembershipRegistryEvents['invalidInstance'][] = [];
    registry.on('invalidInstance', (event) => {
      invalid.push(`${event.memberId}:${event.error.field}`);
      events.push(event);
    });
    const seed = `${sim.nodes[0]!.address.host}:${sim.nodes[0]!.address.port}`;
    const good = await sim.add('good', { metadata: { service: 'cache', port: '6379' } });
    const bad = await sim.add('bad', { metadata: { service: 'cache', port: 'not-a-port' } });
    await sim.settle(Promise.all([good.join([seed]), bad.join([seed])]));
    await sim.run(5 * PERIOD);
    expect((await registry.resolve('cache')).map((i) => i.id)).toEqual(['good']);
    await registry.resolve('cache');
    expect(invalid).toEqual(['bad:port']);
    expect(events[0]).toMatchObject({ service: 'cache', reason: expect.stringMatching(/port/) });
    expect(events[0]?.entry.metadata.port).toBe('not-a-port');
    // Tried: an invalid service name.
    await expect(registry.resolve('no spaces allowed')).rejects.toThrow(ValidationError);
    await registry.close();
  });

  it('close() stops watches and can close the node too', async () => {
    sim = await SimulatedCluster.start({ size: 1, seed: 3, node });
    const watching = new MembershipRegistry(sim.nodes[0]!);
    let calls = 0;
    watching.watch('cache', () => calls++);
    await watching.close();
    sim.nodes[0]!.updateMetadata({ service: 'cache', port: '1' });
    expect(calls).toBe(1); // the first, immediate call only

    const owning = new MembershipRegistry(sim.nodes[0]!, { closeMembership: true });
    await owning.close();
    expect(() => sim!.nodes[0]!.updateMetadata({})).toThrow(/closed/);
    await expect(owning.close()).resolves.toBeUndefined();
  });

  it('rebuilds a watched list once per push-pull merge, not once per member it adds', async () => {
    sim = await SimulatedCluster.start({ size: 2, seed: 4, node: { ...node, maxNewMembersPerMerge: 500 } });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    const registry = new MembershipRegistry(sim.nodes[0]!);
    const sizes: number[] = [];
    const stop = registry.watch('cache', (instances) => sizes.push(instances.length));
    const members = Array.from({ length: 300 }, (_, i) =>
      freezeRecord({
        id: `cache-${i}`,
        host: `10.1.${i >> 8}.${i & 255}`,
        port: 7946,
        incarnation: 0,
        state: 'alive',
        metadata: { service: 'cache', port: '6379' },
      }),
    );
    const sender = sim.network.createTransport('10.9.9.9');
    sender.listen(
      () => {},
      async () => undefined,
    );
    await sim.settle(
      sender.request(sim.nodes[0]!.address, encodeState('peer', members, false, { label: '' }), {
        timeoutMs: 5_000,
      }),
    );
    await sim.run(PERIOD);
    expect(sizes).toEqual([0, 300]);
    stop();
    await registry.close();
    await sender.close();
  });
});
