import {
  ManualClock,
  RegistryProtocolError,
  RegistryUnavailableError,
  type ServiceInstance,
  ServiceNotFoundError,
  ValidationError,
} from '@switchyard/core';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdCluster, hasEtcd, requireBinary, startEtcd } from '../../test-support/etcd-server.ts';
import { waitFor } from '../../test-support/wait-for.ts';
import type { EtcdRegistryEvents } from './etcd-events.ts';
import { EtcdRegistry } from './etcd-registry.ts';

const run = requireBinary('etcd', hasEtcd);

const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id).sort();

function instance(id: string, extra: Partial<ServiceInstance> = {}): ServiceInstance {
  return { id, service: extra.service ?? 'users', host: '10.0.0.1', port: 8080, ...extra };
}

describe.skipIf(!run)('EtcdRegistry against a real etcd', () => {
  let etcd: EtcdCluster;
  let admin: Etcd3;
  const open: EtcdRegistry[] = [];
  let serial = 0;
  // Each test works on its own service so that leftovers of one cannot satisfy another.
  const fresh = () => `svc-${++serial}`;
  const registry = (options: Partial<ConstructorParameters<typeof EtcdRegistry>[0]> = {}) => {
    const created = new EtcdRegistry({ hosts: etcd.hosts, requestTimeoutMs: 2_000, ...options });
    open.push(created);
    return created;
  };
  const put = (service: string, id: string, value: unknown) =>
    admin.put(`/services/${service}/${id}`).value(typeof value === 'string' ? value : JSON.stringify(value));

  beforeAll(async () => {
    etcd = await startEtcd(1);
    admin = new Etcd3({ hosts: etcd.hosts });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close()));
  });
  afterAll(async () => {
    admin?.close();
    await etcd?.close();
  });

  it('resolves the instances stored under the service prefix, and nothing else', async () => {
    const service = fresh();
    await put(service, 'a', instance('a', { service, weight: 3, metadata: { zone: 'z1' } }));
    await put(service, 'b', instance('b', { service, port: 9090 }));
    await put(`${service}x`, 'c', instance('c', { service: `${service}x` }));
    const found = await registry().resolve(service);
    expect([...found].sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      instance('a', { service, weight: 3, metadata: { zone: 'z1' } }),
      instance('b', { service, port: 9090 }),
    ]);
  });

  it('rejects an unknown service with ServiceNotFoundError and a bad name with ValidationError', async () => {
    const r = registry();
    await expect(r.resolve('never-registered')).rejects.toBeInstanceOf(ServiceNotFoundError);
    // Tried: a name with a space and a slash, which would escape the key prefix.
    await expect(r.resolve('bad name/x')).rejects.toBeInstanceOf(ValidationError);
  });

  it('drops malformed entries one by one with an event naming the key, and serves the rest', async () => {
    const service = fresh();
    await put(service, 'good', instance('good', { service }));
    await put(service, 'json', '{"id":"json", broken');
    await put(service, 'port', instance('port', { service, port: 0 }));
    const r = registry();
    const events: EtcdRegistryEvents['invalidInstance'][] = [];
    r.on('invalidInstance', (event) => events.push(event));
    const found = await r.resolve(service);
    expect(found.map((i) => i.id)).toEqual(['good']);
    expect(events.map((e) => e.key).sort()).toEqual([
      `/services/${service}/json`,
      `/services/${service}/port`,
    ]);
    expect(events.find((e) => e.key.endsWith('/json'))?.reason).toMatch(/not JSON/);
    expect(events.find((e) => e.key.endsWith('/port'))?.reason).toMatch(/port/);
  });

  it('watch: brings the current list, then adds, weight and status changes, removals; only on change', async () => {
    const service = fresh();
    await put(service, 'a', instance('a', { service }));
    const r = registry();
    const seen: (readonly ServiceInstance[])[] = [];
    const stop = r.watch(service, (list) => seen.push(list));
    const last = () => seen.at(-1) ?? [];
    const byId = (id: string) => last().find((i) => i.id === id);
    await waitFor('initial list', () => last().length === 1);

    await put(service, 'b', instance('b', { service }));
    await waitFor('b added', () => byId('b'));
    await put(service, 'a', instance('a', { service, weight: 7 }));
    await waitFor('a weight 7', () => byId('a')?.weight === 7);
    await put(service, 'b', instance('b', { service, status: 'down' }));
    await waitFor('b down', () => byId('b')?.status === 'down');
    const calls = seen.length;
    await put(service, 'b', instance('b', { service, status: 'down' })); // same value again
    await admin.delete().key(`/services/${service}/a`);
    await waitFor('a removed', () => !byId('a'));
    expect(seen.length).toBe(calls + 1); // the identical rewrite notified nobody
    expect(last()).toEqual([instance('b', { service, status: 'down' })]);
    stop();
  });

  it('watch: a malformed put drops that entry with an event; the others stay', async () => {
    const service = fresh();
    await put(service, 'a', instance('a', { service }));
    await put(service, 'b', instance('b', { service }));
    const r = registry();
    const invalid: string[] = [];
    r.on('invalidInstance', (event) => invalid.push(event.key));
    let last: readonly ServiceInstance[] = [];
    r.watch(service, (list) => {
      last = list;
    });
    await waitFor('two instances', () => last.length === 2);
    await put(service, 'b', '{not json');
    await waitFor('b dropped', () => last.length === 1);
    expect(last[0]?.id).toBe('a');
    expect(invalid).toEqual([`/services/${service}/b`]);
  });

  it('refuses more than maxInstances keys: resolve rejects; a watch keeps its last list, registryStale, then recovers', async () => {
    const service = fresh();
    for (const id of ['a', 'b', 'c']) await put(service, id, instance(id, { service }));
    const r = registry({ maxInstances: 3 });
    const states: string[] = [];
    r.on('registryStale', ({ error }) => states.push(`stale:${(error as Error).message}`));
    r.on('registryRecovered', () => states.push('recovered'));
    const seen: (readonly ServiceInstance[])[] = [];
    r.watch(service, (list) => seen.push(list));
    await waitFor('initial list', () => seen.at(-1)?.length === 3);

    await put(service, 'd', instance('d', { service }));
    await waitFor('registryStale', () => states.length === 1);
    expect(states[0]).toMatch(/more than maxInstances \(3\) keys/);
    await expect(r.resolve(service)).rejects.toBeInstanceOf(RegistryProtocolError);
    expect(ids(seen.at(-1)!)).toEqual(['a', 'b', 'c']); // the last good list stays
    await put(service, 'e', instance('e', { service })); // still too many: nothing published
    await admin.delete().key(`/services/${service}/a`);
    await admin.delete().key(`/services/${service}/b`);
    await waitFor('recovered', () => states.includes('recovered'));
    await waitFor('new list', () => ids(seen.at(-1)!).join() === 'c,d,e');
    expect(seen.every((list) => list.length <= 3)).toBe(true);
    expect(ids(await r.resolve(service))).toEqual(['c', 'd', 'e']);
  });

  it('reports a bad key once across resolve, repeated resolves and watch; again after it was fixed and broke', async () => {
    const service = fresh();
    await put(service, 'a', instance('a', { service }));
    await put(service, 'bad', instance('bad', { service, port: 0 }));
    const r = registry();
    const invalid: string[] = [];
    r.on('invalidInstance', (event) => invalid.push(event.key.slice(-3)));
    await r.resolve(service);
    await r.resolve(service);
    let last: readonly ServiceInstance[] = [];
    r.watch(service, (list) => {
      last = list;
    });
    await waitFor('watch list', () => last.length === 1);
    await r.resolve(service);
    expect(invalid).toEqual(['bad']);
    await put(service, 'bad', instance('bad', { service }));
    await waitFor('fixed', () => last.length === 2);
    await put(service, 'bad', '{broken');
    await waitFor('broken again', () => last.length === 1);
    await r.resolve(service);
    expect(invalid).toEqual(['bad', 'bad']);
  });

  it('watch: stays right under churn (1,152 keys written in transactions, then deleted at once)', async () => {
    const service = fresh();
    let last: readonly ServiceInstance[] = [];
    registry().watch(service, (list) => {
      last = list;
    });
    await put(service, 'keep', instance('keep', { service }));
    await waitFor('first key', () => last.length === 1);
    for (let batch = 0; batch < 9; batch++) {
      const puts = Array.from({ length: 128 }, (_, i) => {
        const id = `churn-${batch}-${i}`;
        return admin.put(`/services/${service}/${id}`).value(JSON.stringify(instance(id, { service })));
      });
      await admin
        .if(`/services/${service}/keep`, 'Version', '>', 0)
        .then(...puts)
        .commit();
    }
    await waitFor('all keys', () => last.length === 1_153);
    await admin.delete().prefix(`/services/${service}/churn-`); // 1,152 deletes in one revision
    await put(service, 'late', instance('late', { service }));
    await waitFor('only the survivors', () => last.length === 2);
    expect(ids(last)).toEqual(['keep', 'late']);
    await put(service, 'churn-0-0', instance('churn-0-0', { service })); // a deleted id comes back
    await waitFor('re-created id', () => last.length === 3);
  });

  it('register, heartbeat, deregister: the key lives on a lease and goes with it', async () => {
    const service = fresh();
    const r = registry();
    await r.register(instance('me', { service }), { ttlMs: 3_000 });
    expect(await registry().resolve(service)).toEqual([instance('me', { service })]);
    const kv = (await admin.get(`/services/${service}/me`).exec()).kvs[0];
    expect(kv?.lease).toBe(r.leaseOf(service, 'me'));
    expect(kv?.lease).not.toBe('0');
    await r.heartbeat(service, 'me');
    // Registering again updates in place (same lease); a new TTL moves the key to a new lease.
    const first = r.leaseOf(service, 'me') as string;
    await r.register(instance('me', { service, weight: 4 }), { ttlMs: 3_000 });
    expect((await r.resolve(service))[0]?.weight).toBe(4);
    expect(r.leaseOf(service, 'me')).toBe(first);
    await r.register(instance('me', { service, weight: 4 }), { ttlMs: 6_000 });
    const second = r.leaseOf(service, 'me') as string;
    expect(second).not.toBe(first);
    expect((await admin.get(`/services/${service}/me`).exec()).kvs[0]?.lease).toBe(second);
    expect(Number((await admin.leaseClient.leaseTimeToLive({ ID: first })).TTL)).toBe(-1); // revoked
    expect(Number((await admin.leaseClient.leaseTimeToLive({ ID: second })).grantedTTL)).toBe(6);
    await r.deregister(service, 'me');
    await expect(r.resolve(service)).rejects.toBeInstanceOf(ServiceNotFoundError);
    await expect(r.heartbeat(service, 'me')).rejects.toBeInstanceOf(ServiceNotFoundError);
    await r.deregister(service, 'me'); // unknown: a no-op
  });

  it('rejects bad registrations before touching etcd', async () => {
    const r = registry();
    // Tried: port 70000, a negative TTL, ids with a slash or empty, then heartbeat for an id
    // never registered here.
    await expect(r.register(instance('x', { port: 70_000 }))).rejects.toMatchObject({ field: 'port' });
    await expect(r.register(instance('x'), { ttlMs: -5 })).rejects.toMatchObject({ field: 'ttlMs' });
    await expect(r.deregister('users', 'a/b')).rejects.toMatchObject({ field: 'id' });
    await expect(r.heartbeat('users', '')).rejects.toMatchObject({ field: 'id' });
    await expect(r.heartbeat('users', 'nobody')).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  it('TTL expiry: a registration whose keepalives stop disappears from watchers', async () => {
    const service = fresh();
    const writer = new EtcdRegistry({ hosts: etcd.hosts, revokeOnClose: false });
    await writer.register(instance('brief', { service }), { ttlMs: 1_000 });
    let last: readonly ServiceInstance[] = [];
    registry().watch(service, (list) => {
      last = list;
    });
    await waitFor('registered', () => last.length === 1);
    await writer.close(); // releases the lease without revoking: etcd must expire it
    await waitFor('expired', () => last.length === 0, 10_000);
  });

  it('heartbeat reports a key deleted behind its back, and register brings it back', async () => {
    const service = fresh();
    const r = registry();
    await r.register(instance('me', { service }), { ttlMs: 5_000 });
    await admin.delete().key(`/services/${service}/me`);
    await expect(r.heartbeat(service, 'me')).rejects.toBeInstanceOf(ServiceNotFoundError);
    await r.register(instance('me', { service }), { ttlMs: 5_000 });
    await r.heartbeat(service, 'me');
    expect((await r.resolve(service)).map((i) => i.id)).toEqual(['me']);
  });

  it('a lease revoked elsewhere is noticed by the keepalive, re-granted and the key re-written', async () => {
    const service = fresh();
    const r = registry();
    const events: string[] = [];
    r.on('leaseLost', () => events.push('lost'));
    r.on('reregistered', () => events.push('reregistered'));
    await r.register(instance('me', { service }), { ttlMs: 2_000 });
    const first = r.leaseOf(service, 'me');
    await admin.leaseClient.leaseRevoke({ ID: first as string });
    await waitFor('re-registered', () => events.includes('reregistered'), 10_000);
    expect(events).toEqual(['lost', 'reregistered']);
    expect(r.leaseOf(service, 'me')).not.toBe(first);
    const kv = (await admin.get(`/services/${service}/me`).exec()).kvs[0];
    expect(kv?.lease).toBe(r.leaseOf(service, 'me'));
  });

  it('the periodic TTL check finds a lost lease long before the next keepalive would', async () => {
    const service = fresh();
    const clock = new ManualClock();
    const r = registry({ clock, leaseCheckMs: 1_000 });
    const lost: string[] = [];
    r.on('leaseLost', (event) => lost.push(event.id));
    // TTL 60 s: etcd3 sends its next keepalive after 20 s, so only the TTL check can be this quick.
    await r.register(instance('me', { service }), { ttlMs: 60_000 });
    await admin.leaseClient.leaseRevoke({ ID: r.leaseOf(service, 'me') as string });
    expect(lost).toEqual([]);
    clock.advance(1_000);
    await waitFor('loss detected', () => lost.length === 1, 5_000);
    await waitFor(
      'key back',
      async () => (await admin.get(`/services/${service}/me`).exec()).kvs.length === 1,
    );
  });

  it('an aborted resolve rejects with the abort reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(registry().resolve('users', { signal: controller.signal })).rejects.toThrow(
      'caller gave up',
    );
  });

  it('survives an etcd restart: registryStale, then registryRecovered; watch and registration carry on', async () => {
    const service = fresh();
    const writer = registry();
    await writer.register(instance('me', { service }), { ttlMs: 3_000 });
    const watcher = registry();
    const states: string[] = [];
    const staleErrors: unknown[] = [];
    const staleFor: number[] = [];
    watcher.on('registryStale', ({ service: from, error }) => {
      states.push(`stale:${from}`);
      staleErrors.push(error);
    });
    watcher.on('registryRecovered', ({ service: from, staleForMs }) => {
      states.push(`recovered:${from}`);
      staleFor.push(staleForMs);
    });
    let last: readonly ServiceInstance[] = [];
    watcher.watch(service, (list) => {
      last = list;
    });
    await waitFor('registered', () => last.length === 1);

    const member = etcd.members[0]!;
    await member.stop();
    await expect(writer.resolve(service)).rejects.toBeInstanceOf(RegistryUnavailableError);
    await waitFor('registryStale', () => states.includes(`stale:${service}`));
    expect(staleErrors[0]).toBeInstanceOf(RegistryUnavailableError);
    member.start();
    await etcd.waitHealthy();
    await waitFor('registryRecovered', () => states.includes(`recovered:${service}`), 20_000);
    await put(service, 'other', instance('other', { service }));
    await waitFor('new instance seen after restart', () => last.length === 2, 20_000);
    // The lease outlived the outage (etcd restores leases with a fresh TTL).
    await waitFor(
      'heartbeat works again',
      () =>
        writer.heartbeat(service, 'me').then(
          () => true,
          () => false,
        ),
      20_000,
    );
    expect(states.slice(0, 2)).toEqual([`stale:${service}`, `recovered:${service}`]);
    expect(staleFor[0]).toBeGreaterThanOrEqual(0);
  });

  it('a hung etcd makes heartbeat and resolve fail within their deadline, then work again', async () => {
    const service = fresh();
    const r = registry({ requestTimeoutMs: 1_000 });
    await r.register(instance('me', { service }), { ttlMs: 10_000 });
    const member = etcd.members[0]!;
    await member.pause();
    try {
      // Tried: a heartbeat (a keepalive stream: no gRPC deadline of its own) and a resolve.
      await expect(r.heartbeat(service, 'me')).rejects.toBeInstanceOf(RegistryUnavailableError);
      await expect(r.resolve(service)).rejects.toBeInstanceOf(RegistryUnavailableError);
    } finally {
      member.resume();
    }
    await waitFor('heartbeat works again', () =>
      r.heartbeat(service, 'me').then(
        () => true,
        () => false,
      ),
    );
  }, 30_000);

  it('close revokes owned leases, so the instances vanish at once', async () => {
    const service = fresh();
    const r = new EtcdRegistry({ hosts: etcd.hosts });
    await r.register(instance('me', { service }), { ttlMs: 60_000 });
    await r.close();
    expect((await admin.get(`/services/${service}/me`).exec()).kvs).toEqual([]);
    await expect(r.resolve(service)).rejects.toBeInstanceOf(ValidationError);
  });
});
