import { ServiceDiscoveryClient } from '@switchyard/client';
import { registerSelf, type SelfRegistration } from '@switchyard/registry';
import { type Backends, startBackends } from '@switchyard/testing';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdCluster, hasEtcd, requireBinary, startEtcd } from '../../test-support/etcd-server.ts';
import { waitFor } from '../../test-support/wait-for.ts';
import { EtcdRegistry } from './etcd-registry.ts';

const run = requireBinary('etcd', hasEtcd);

describe.skipIf(!run)(
  'end to end: backends registered in etcd, a client routing over it, the leader killed',
  () => {
    let etcd: EtcdCluster;
    let backends: Backends;
    beforeAll(async () => {
      [etcd, backends] = await Promise.all([startEtcd(3), startBackends(3, { service: 'users' })]);
    }, 60_000);
    afterAll(async () => {
      await backends?.close();
      await etcd?.close();
    });

    it('registerSelf keeps every backend registered and the client keeps serving through the election', async () => {
      const writers = backends.instances().map(() => new EtcdRegistry({ hosts: etcd.hosts }));
      const selves: SelfRegistration[] = backends
        .instances()
        .map((instance, i) => registerSelf(writers[i]!, instance, { ttlMs: 2_000 }));
      const discovery = new EtcdRegistry({ hosts: etcd.hosts });
      const client = new ServiceDiscoveryClient({ registry: discovery, timeoutMs: 2_000 });
      try {
        await Promise.all(selves.map((self) => self.ready));
        await waitFor(
          'client sees 3 instances',
          async () => (await client.getInstances('users')).length === 3,
        );

        const failures: unknown[] = [];
        let served = 0;
        const callOnce = async () => {
          try {
            const response = await client.request('users', { path: '/hello' });
            await response.body.dump();
            if (response.statusCode === 200) served++;
            else failures.push(response.statusCode);
          } catch (error) {
            failures.push(error);
          }
        };
        for (let i = 0; i < 30; i++) await callOnce();
        const leader = await etcd.leader();
        await leader.stop();
        // Keep calling for longer than the registrations' TTL while the cluster elects a new leader.
        const until = Date.now() + 3_000;
        while (Date.now() < until) await callOnce();
        expect(failures).toEqual([]);
        expect(served).toBeGreaterThan(30);
        // The registrations survived: etcd still holds all three and the client still balances over them.
        const survivors = new EtcdRegistry({
          hosts: etcd.members.filter((m) => m.running).map((m) => m.url),
        });
        expect((await survivors.resolve('users')).length).toBe(3);
        await survivors.close();
        expect((await client.getInstances('users')).length).toBe(3);
        expect(Object.values(backends.counts()).every((count) => count > 0)).toBe(true);
      } finally {
        await client.close();
        await Promise.all(selves.map((self) => self.close()));
        await Promise.all([discovery.close(), ...writers.map((writer) => writer.close())]);
      }
    }, 90_000);

    it('registerSelf over etcd recovers from a lease revoked behind its back', async () => {
      const running = etcd.members.filter((m) => m.running).map((m) => m.url);
      const writer = new EtcdRegistry({ hosts: running });
      const admin = new Etcd3({ hosts: running });
      const instance = { id: 'lonely-1', service: 'lonely', host: '127.0.0.1', port: 9999 };
      const self = registerSelf(writer, instance, { ttlMs: 3_000, heartbeatMs: 200 });
      try {
        await self.ready;
        const first = writer.leaseOf('lonely', 'lonely-1') as string;
        await admin.leaseClient.leaseRevoke({ ID: first });
        // Whichever notices first (the adapter's lease check or a heartbeat's ServiceNotFoundError)
        // writes the key again, on a new lease that the registry keeps alive.
        await waitFor('key back on a new lease', async () => {
          const kv = (await admin.get('/services/lonely/lonely-1').exec()).kvs[0];
          return kv !== undefined && kv.lease !== first && kv.lease === writer.leaseOf('lonely', 'lonely-1');
        });
        await writer.heartbeat('lonely', 'lonely-1');
      } finally {
        await self.close();
        expect((await admin.get('/services/lonely/lonely-1').exec()).kvs).toEqual([]);
        admin.close();
        await writer.close();
      }
    }, 30_000);
  },
);
