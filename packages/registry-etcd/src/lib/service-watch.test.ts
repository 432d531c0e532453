import type { ServiceInstance } from '@switchyard/core';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdCluster, hasEtcd, requireBinary, startEtcd } from '../../test-support/etcd-server.ts';
import { waitFor } from '../../test-support/wait-for.ts';
import { EtcdRegistry } from './etcd-registry.ts';

const run = requireBinary('etcd', hasEtcd);
const service = 'orders';

function instance(id: string, weight: number): ServiceInstance {
  return { id, service, host: '10.0.0.2', port: 7000, weight };
}

/** Records every list a watcher publishes and checks, as they come, that no older write reappears. */
function recorder() {
  const highest = new Map<string, number>();
  const regressions: string[] = [];
  let last: readonly ServiceInstance[] = [];
  const listener = (list: readonly ServiceInstance[]) => {
    for (const item of list) {
      const weight = item.weight ?? 1;
      if (weight < (highest.get(item.id) ?? 0))
        regressions.push(`${item.id}: ${weight} after ${highest.get(item.id)}`);
      highest.set(item.id, Math.max(weight, highest.get(item.id) ?? 0));
    }
    last = list;
  };
  const view = () => new Map(last.map((item) => [item.id, item.weight ?? 1] as const));
  return { listener, regressions, view };
}

describe.skipIf(!run)('EtcdRegistry on a 3-member etcd cluster: leader killed', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd(3);
  }, 60_000);
  afterAll(async () => {
    await etcd?.close();
  });

  it('loses no watch event, applies none twice, and keeps the registration alive', async () => {
    const leader = await etcd.leader();
    const followers = etcd.members.filter((member) => member !== leader).map((member) => member.url);
    const writer = new EtcdRegistry({ hosts: etcd.hosts });
    // Pinned to the leader: after the kill it can only resume from its revision once the member is back.
    const pinned = new EtcdRegistry({ hosts: [leader.url] });
    const roaming = new EtcdRegistry({ hosts: etcd.hosts });
    const admin = new Etcd3({ hosts: followers });
    const expected = new Map<string, number>();
    let weight = 0;
    const write = async (id: string) => {
      weight++;
      // Writes during the election may fail; retry until the new leader takes them.
      await waitFor(`write ${id}=${weight}`, () =>
        admin
          .put(`/services/${service}/${id}`)
          .value(JSON.stringify(instance(id, weight)))
          .then(
            () => true,
            () => false,
          ),
      );
      expected.set(id, weight);
    };
    const remove = async (id: string) => {
      await waitFor(`delete ${id}`, () =>
        admin
          .delete()
          .key(`/services/${service}/${id}`)
          .then(
            () => true,
            () => false,
          ),
      );
      expected.delete(id);
    };
    try {
      await writer.register(instance('self', 1000), { ttlMs: 2_000 });
      expected.set('self', 1000);
      const lease = writer.leaseOf(service, 'self');
      const pinnedView = recorder();
      const roamingView = recorder();
      pinned.watch(service, pinnedView.listener);
      roaming.watch(service, roamingView.listener);
      for (let i = 0; i < 10; i++) await write(`i${i % 4}`);
      await waitFor(
        'watchers caught up',
        () => pinnedView.view().size === 5 && roamingView.view().size === 5,
      );

      await leader.stop();
      for (let i = 0; i < 12; i++) await write(`i${i % 6}`);
      await remove('i0');
      await remove('i5');
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // longer than the lease TTL
      leader.start();
      await write('i0'); // re-created after its delete: the tombstone must not hide it
      for (let i = 0; i < 5; i++) await write(`i${i + 1}`);

      const matches = (view: Map<string, number>) =>
        view.size === expected.size && [...expected].every(([id, w]) => view.get(id) === w);
      await waitFor('roaming watcher converged', () => matches(roamingView.view()), 30_000);
      await waitFor('pinned watcher resumed and converged', () => matches(pinnedView.view()), 30_000);
      expect(pinnedView.regressions).toEqual([]);
      expect(roamingView.regressions).toEqual([]);
      // The registration rode out the election on its original lease.
      await writer.heartbeat(service, 'self');
      expect(writer.leaseOf(service, 'self')).toBe(lease);
    } finally {
      admin.close();
      await Promise.all([writer.close(), pinned.close(), roaming.close()]);
    }
  }, 90_000);
});
