import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ManualClock,
  RegistryProtocolError,
  RegistryUnavailableError,
  type ServiceInstance,
  ServiceNotFoundError,
  SwitchyardError,
  ValidationError,
} from '@switchyard/core';
import { mockConsul } from '@switchyard/testing';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsulRegistryEvents } from './consul-events.ts';
import type { ConsulRegistryOptions } from './consul-options.ts';
import { ConsulRegistry } from './consul-registry.ts';

// Captured before msw patches it: one test talks to a real HTTP server on loopback.
const realFetch = globalThis.fetch.bind(globalThis);
const URL_ = 'http://consul.test:8500';
const TTL_URL = 'http://consul-ttl.test:8500';
const users = [
  { id: 'u1', host: '10.0.0.1', port: 8080, weight: 3, metadata: { version: '2' }, zone: 'z1' },
  { id: 'u2', host: '', port: 8081, nodeAddress: '10.9.9.9', node: 'node-2' },
  { id: 'u3', host: '10.0.0.3', port: 8082, tags: ['canary'] },
];
const consul = mockConsul({ url: URL_, services: { users } });
const ttlClock = new ManualClock();
const ttlConsul = mockConsul({ url: TTL_URL, clock: ttlClock });
const server = setupServer(...consul.handlers, ...ttlConsul.handlers);

async function waitFor<T>(what: string, check: () => T, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id).sort();
/** The `Service.ID`s of a list (ids are `<node>:<Service.ID>`). */
const serviceIds = (list: readonly ServiceInstance[]) =>
  list.map((i) => i.metadata?.['consul.serviceId']).sort();

describe('ConsulRegistry against Consul’s wire format (msw)', () => {
  const open: ConsulRegistry[] = [];
  const registry = (options: Partial<ConsulRegistryOptions> = {}) => {
    const created = new ConsulRegistry({ url: URL_, minBackoffMs: 10, maxBackoffMs: 50, ...options });
    open.push(created);
    return created;
  };
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close()));
    server.resetHandlers();
    consul.reset();
  });
  afterAll(() => {
    consul.close();
    ttlConsul.close();
    server.close();
  });

  it('resolves passing instances: Service.Address or Node.Address, Weights.Passing, Meta, zone', async () => {
    const found = await registry().resolve('users');
    expect(ids(found)).toEqual(['node-1:u1', 'node-1:u3', 'node-2:u2']);
    expect(found.find((i) => i.id === 'node-1:u1')).toEqual({
      id: 'node-1:u1',
      service: 'users',
      host: '10.0.0.1',
      port: 8080,
      weight: 3,
      zone: 'z1',
      metadata: { version: '2', zone: 'z1', 'consul.node': 'node-1', 'consul.serviceId': 'u1' },
    });
    expect(found.find((i) => i.id === 'node-2:u2')?.host).toBe('10.9.9.9');
    consul.setHealth('u2', 'critical');
    expect(serviceIds(await registry().resolve('users'))).toEqual(['u1', 'u3']);
    expect(await registry().resolve('nobody')).toEqual([]);
  });

  it('filters by tag and datacenter, and reads stale when asked', async () => {
    consul.setInstances('users', [...users, { id: 'far', host: '10.5.0.1', port: 80, datacenter: 'dc2' }]);
    expect(serviceIds(await registry({ tag: 'canary' }).resolve('users'))).toEqual(['u3']);
    expect(serviceIds(await registry({ datacenter: 'dc2' }).resolve('users'))).toEqual(['far']);
    consul.setLeader(false);
    // Without a leader only stale reads answer.
    await expect(registry().resolve('users')).rejects.toBeInstanceOf(RegistryUnavailableError);
    await expect(registry({ consistency: 'consistent' }).resolve('users')).rejects.toBeInstanceOf(
      RegistryUnavailableError,
    );
    expect(serviceIds(await registry({ consistency: 'stale' }).resolve('users'))).toEqual(['u1', 'u2', 'u3']);
  });

  it('sends the ACL token; without it Consul refuses', async () => {
    const secured = mockConsul({ url: 'http://secure.test:8500', token: 's3cret', services: { users } });
    server.use(...secured.handlers);
    const url = 'http://secure.test:8500';
    // Tried: no token, then a wrong one.
    await expect(registry({ url }).resolve('users')).rejects.toBeInstanceOf(RegistryProtocolError);
    await expect(registry({ url, token: 'nope' }).resolve('users')).rejects.toThrow(/403/);
    expect(serviceIds(await registry({ url, token: 's3cret' }).resolve('users'))).toEqual(['u1', 'u2', 'u3']);
    secured.close();
  });

  it('drops entries with missing fields one by one, with an event each, and serves the rest', async () => {
    const good = {
      Node: { Node: 'n1', Address: '10.0.0.1' },
      Service: { ID: 'ok', Service: 'users', Address: '', Port: 80 },
    };
    server.use(
      http.get(`${URL_}/v1/health/service/users`, () =>
        HttpResponse.json(
          [
            good,
            { Node: { Node: 'n2', Address: '10.0.0.2' }, Service: { Service: 'users', Port: 81 } },
            {
              Node: { Node: 'n3', Address: '10.0.0.3' },
              Service: { ID: 'noport', Service: 'users', Address: '' },
            },
            { Node: { Node: 'n4' }, Service: { ID: 'noaddr', Service: 'users', Address: '', Port: 82 } },
            { Node: { Node: 'n5', Address: '10.0.0.4' } },
            { Node: { Node: 'n6', Address: '10.0.0.5' }, Service: { ID: 'p0', Service: 'users', Port: 0 } },
            { Node: { Address: '10.0.0.6' }, Service: { ID: 'nonode', Service: 'users', Port: 83 } },
          ],
          { headers: { 'X-Consul-Index': '7' } },
        ),
      ),
    );
    const r = registry();
    const events: ConsulRegistryEvents['invalidInstance'][] = [];
    r.on('invalidInstance', (event) => events.push(event));
    const found = await r.resolve('users');
    expect(found).toEqual([
      {
        id: 'n1:ok',
        service: 'users',
        host: '10.0.0.1',
        port: 80,
        metadata: { 'consul.node': 'n1', 'consul.serviceId': 'ok' },
      },
    ]);
    expect(events.map((e) => [e.index, e.id])).toEqual([
      [1, undefined],
      [2, 'noport'],
      [3, 'noaddr'],
      [4, undefined],
      [5, 'p0'],
      [6, 'nonode'],
    ]);
    expect(events[0]?.reason).toMatch(/Service\.ID/);
    expect(events[1]?.reason).toMatch(/Service\.Port/);
    expect(events[3]?.reason).toMatch(/no Service object/);
    expect(events[4]?.reason).toMatch(/port/);
    expect(events[5]?.reason).toMatch(/Node\.Node/);
    expect(events.every((e) => e.service === 'users')).toBe(true);
    expect(events[4]?.entry).toEqual({
      Node: { Node: 'n6', Address: '10.0.0.5' },
      Service: { ID: 'p0', Service: 'users', Port: 0 },
    });
  });

  it('watch reports a bad entry once, however many answers still carry it', async () => {
    consul.setInstances('users', [...users, { id: 'p0', host: '10.0.0.9', port: 0 }]);
    const r = registry({ waitMs: 10_000 });
    const dropped: (string | undefined)[] = [];
    r.on('invalidInstance', (event) => dropped.push(event.id));
    let last: readonly ServiceInstance[] = [];
    r.watch('users', (list) => {
      last = list;
    });
    await waitFor('blocking query parked', () => consul.blockedQueries === 1);
    consul.removeInstance('users', 'u1');
    await waitFor('u1 removed', () => last.length === 2);
    consul.removeInstance('users', 'u2');
    await waitFor('u2 removed', () => last.length === 1);
    expect(dropped).toEqual(['p0']);
    expect(serviceIds(last)).toEqual(['u3']);
  });

  it('watch: a wait that is not a multiple of 16 ms still makes a working blocking query', async () => {
    // Tried: waitMs 1,000, whose deadline (wait + wait/16 + request timeout) is fractional.
    const r = registry({ waitMs: 1_000 });
    const stale: unknown[] = [];
    r.on('registryStale', ({ error }) => stale.push(error));
    let last: readonly ServiceInstance[] = [];
    r.watch('users', (list) => {
      last = list;
    });
    await waitFor('blocking query parked', () => consul.blockedQueries === 1);
    consul.removeInstance('users', 'u1');
    await waitFor('u1 removed', () => last.length === 2);
    expect(stale).toEqual([]);
  });

  it('rejects answers that are not a JSON array with RegistryProtocolError', async () => {
    // Tried: an HTML error page with 200, then a JSON object instead of an array.
    server.use(http.get(`${URL_}/v1/health/service/users`, () => HttpResponse.text('<html>oops</html>')));
    await expect(registry().resolve('users')).rejects.toBeInstanceOf(RegistryProtocolError);
    server.use(http.get(`${URL_}/v1/health/service/users`, () => HttpResponse.json({ Service: {} })));
    await expect(registry().resolve('users')).rejects.toBeInstanceOf(RegistryProtocolError);
  });

  it('network failures → RegistryUnavailableError; aborts reject with the reason; bad names → ValidationError', async () => {
    consul.failNext(1, { networkError: true });
    await expect(registry().resolve('users')).rejects.toBeInstanceOf(RegistryUnavailableError);
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(registry().resolve('users', { signal: controller.signal })).rejects.toThrow(
      'caller gave up',
    );
    await expect(registry().resolve('no/slash')).rejects.toBeInstanceOf(ValidationError);
  });

  it('watch: blocking queries follow adds, removals, weight and health changes; only real changes notify', async () => {
    const r = registry({ waitMs: 10_000 });
    const seen: (readonly ServiceInstance[])[] = [];
    r.watch('users', (list) => seen.push(list));
    const last = () => seen.at(-1) ?? [];
    await waitFor('first list', () => seen.length === 1);
    await waitFor('blocking query parked', () => consul.blockedQueries === 1);

    consul.setInstances('users', [...users, { id: 'u4', host: '10.0.0.4', port: 80 }]);
    await waitFor('u4 added', () => last().some((i) => i.id === 'node-1:u4'));
    consul.setInstances('users', [
      { ...users[0]!, weight: 9 },
      users[1]!,
      users[2]!,
      { id: 'u4', host: '10.0.0.4', port: 80 },
    ]);
    await waitFor('u1 weight 9', () => last().find((i) => i.id === 'node-1:u1')?.weight === 9);
    consul.setHealth('u4', 'critical');
    await waitFor('u4 failing → gone', () => !last().some((i) => i.id === 'node-1:u4'));
    consul.removeInstance('users', 'u3');
    await waitFor('u3 removed', () => !last().some((i) => i.id === 'node-1:u3'));
    const calls = seen.length;
    consul.setHealth('u4', 'warning'); // still not passing: the answer does not change
    await waitFor('blocking again', () => consul.blockedQueries === 1);
    expect(seen.length).toBe(calls);
    expect(serviceIds(last())).toEqual(['u1', 'u2']);
  });

  it('watch: an index that goes backwards restarts from 0 and keeps following', async () => {
    const r = registry({ waitMs: 10_000 });
    const resets: number[] = [];
    r.on('indexReset', (event) => resets.push(event.to));
    let last: readonly ServiceInstance[] = [];
    r.watch('users', (list) => {
      last = list;
    });
    await waitFor('blocking query parked', () => consul.blockedQueries === 1);
    consul.resetIndex(1); // as after a snapshot restore
    await waitFor('reset seen', () => resets.length === 1);
    await waitFor('blocking again', () => consul.blockedQueries === 1);
    consul.removeInstance('users', 'u1');
    await waitFor('change after the reset', () => last.length === 2);
  });

  it('watch: errors keep the last list, emit registryStale once, back off, then registryRecovered', async () => {
    const r = registry({ waitMs: 10_000 });
    const states: string[] = [];
    const staleErrors: unknown[] = [];
    const staleFor: number[] = [];
    r.on('registryStale', ({ service, error }) => {
      states.push(`stale:${service}`);
      staleErrors.push(error);
    });
    r.on('registryRecovered', ({ service, staleForMs }) => {
      states.push(`recovered:${service}`);
      staleFor.push(staleForMs);
    });
    const seen: (readonly ServiceInstance[])[] = [];
    r.watch('users', (list) => seen.push(list));
    await waitFor('blocking query parked', () => consul.blockedQueries === 1);
    consul.failNext(3, { status: 500, path: '/v1/health/service/users' });
    consul.failNext(2, { networkError: true, path: '/v1/health/service/users' });
    consul.removeInstance('users', 'u3'); // wakes the parked query; the next five fail
    await waitFor('registryStale', () => states.includes('stale:users'));
    expect(staleErrors[0]).toBeInstanceOf(SwitchyardError);
    // Once the faults are used up, the watch parks a blocking query again; a change wakes it.
    await waitFor('blocking again after the faults', () => consul.blockedQueries === 1);
    expect(consul.requests().filter((request) => request.fault).length).toBe(5);
    consul.removeInstance('users', 'u2');
    await waitFor('registryRecovered', () => states.includes('recovered:users'));
    expect(states).toEqual(['stale:users', 'recovered:users']);
    expect(staleFor).toHaveLength(1);
    expect(staleFor[0]).toBeGreaterThanOrEqual(0);
    expect(seen.every((list) => list.length > 0)).toBe(true); // never emptied by an error
    expect(serviceIds(seen.at(-1)!)).toEqual(['u1']);
  });

  it('register, heartbeat, TTL expiry and deregister through the agent API', async () => {
    const r = registry({ url: TTL_URL });
    const me: ServiceInstance = {
      id: 'me-1',
      service: 'api',
      host: '10.1.1.1',
      port: 9000,
      weight: 2.4,
      zone: 'z9',
    };
    await r.register(me, { ttlMs: 5_000 });
    expect(await r.resolve('api')).toEqual([
      {
        ...me,
        id: 'node-1:me-1',
        weight: 2,
        metadata: { zone: 'z9', 'consul.node': 'node-1', 'consul.serviceId': 'me-1' },
      },
    ]);
    ttlClock.advance(4_000);
    await r.heartbeat('api', 'me-1');
    ttlClock.advance(4_000); // 8 s after registering, 4 s after the heartbeat: still passing
    expect(serviceIds(await r.resolve('api'))).toEqual(['me-1']);
    ttlClock.advance(2_000); // no heartbeat for 6 s > TTL: the check goes critical
    expect(await r.resolve('api')).toEqual([]);
    await r.heartbeat('api', 'me-1');
    expect(serviceIds(await r.resolve('api'))).toEqual(['me-1']);
    // What resolve gave can be registered again: the adapter's own consul.* keys are not sent.
    const [resolved] = await r.resolve('api');
    await r.register({ ...resolved!, id: 'me-1' }, { ttlMs: 5_000 });
    expect((await r.resolve('api'))[0]?.metadata).toEqual(resolved?.metadata);
    await r.deregister('api', 'me-1');
    expect(await r.resolve('api')).toEqual([]);
    await expect(r.heartbeat('api', 'me-1')).rejects.toBeInstanceOf(ServiceNotFoundError);
    await r.deregister('api', 'me-1'); // unknown: a no-op
  });

  it('heartbeat maps an old agent’s 500 "unknown check" to ServiceNotFoundError, other 500s to unavailable', async () => {
    server.use(
      http.put(`${URL_}/v1/agent/check/pass/:id`, ({ params }) =>
        params.id === 'service:gone'
          ? HttpResponse.text('CheckID "service:gone" does not have associated TTL', { status: 500 })
          : HttpResponse.text('rpc error: No cluster leader', { status: 500 }),
      ),
    );
    await expect(registry().heartbeat('users', 'gone')).rejects.toBeInstanceOf(ServiceNotFoundError);
    await expect(registry().heartbeat('users', 'other')).rejects.toBeInstanceOf(RegistryUnavailableError);
  });

  it('rejects bad registrations and options before any request', async () => {
    const r = registry();
    // Tried: port 0, a NaN TTL, ids with a slash or a space, then options with a relative URL
    // and an unknown read mode.
    await expect(r.register({ id: 'x', service: 'users', host: 'h', port: 0 })).rejects.toMatchObject({
      field: 'port',
    });
    await expect(
      r.register({ id: 'x', service: 'users', host: 'h', port: 1 }, { ttlMs: Number.NaN }),
    ).rejects.toMatchObject({
      field: 'ttlMs',
    });
    await expect(r.deregister('users', '../x')).rejects.toMatchObject({ field: 'id' });
    await expect(r.heartbeat('users', 'with space')).rejects.toMatchObject({ field: 'id' });
    expect(() => new ConsulRegistry({ url: 'consul:8500' })).toThrow(ValidationError);
    expect(() => new ConsulRegistry({ url: URL_, consistency: 'eventual' as 'stale' })).toThrow(
      /consistency/,
    );
    expect(consul.requests()).toEqual([]);
  });

  it('close ends the watch loop and its parked query', async () => {
    const r = registry({ waitMs: 10_000 });
    r.watch('users', () => undefined);
    await waitFor('blocking query parked', () => consul.blockedQueries === 1);
    await r.close();
    await waitFor('no query left', () => consul.blockedQueries === 0);
  });

  it('ten nodes answering Service.ID "web" are ten instances: id = node + Service.ID, the ID kept in metadata', async () => {
    // Consul defaults Service.ID to the service name and requires it unique per agent only.
    const nodes = Array.from({ length: 10 }, (_, n) => ({
      id: 'web',
      host: '',
      port: 8080,
      node: `node-${n}`,
      nodeAddress: `10.0.1.${n + 1}`,
    }));
    consul.setInstances('web', nodes);
    const r = registry({ waitMs: 10_000 });
    const found = await r.resolve('web');
    expect(ids(found)).toEqual(nodes.map((n) => `${n.node}:web`).sort());
    expect(new Set(found.map((i) => i.host)).size).toBe(10);
    expect(found.find((i) => i.id === 'node-3:web')).toEqual({
      id: 'node-3:web',
      service: 'web',
      host: '10.0.1.4',
      port: 8080,
      weight: 1,
      metadata: { 'consul.node': 'node-3', 'consul.serviceId': 'web' },
    });
    let watched: readonly ServiceInstance[] = [];
    r.watch('web', (list) => {
      watched = list;
    });
    await waitFor('watch list', () => watched.length === 10);
    expect(ids(watched)).toEqual(ids(found));
  });

  it('matches service names case-insensitively, as Consul does: resolving Redis finds redis', async () => {
    consul.setInstances('redis', [{ id: 'redis-1', host: '10.0.2.1', port: 6379 }]);
    const found = await registry().resolve('Redis');
    expect(found.map((i) => [i.id, i.service, i.port])).toEqual([['node-1:redis-1', 'Redis', 6379]]);
  });

  it('skips port 0 (no port registered) with an invalidInstance event that says so', async () => {
    consul.setInstances('users', [...users, { id: 'noport', host: '10.0.0.9', port: 0 }]);
    const r = registry();
    const events: ConsulRegistryEvents['invalidInstance'][] = [];
    r.on('invalidInstance', (event) => events.push(event));
    expect(ids(await r.resolve('users'))).toEqual(['node-1:u1', 'node-2:u2', 'node-1:u3'].sort());
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: 'noport', node: 'node-1', service: 'users' });
    expect(events[0]?.reason).toMatch(/Service\.Port.*is 0.*registration gives no port/);
  });

  it('qualifies ids by namespace and partition, escapes separators, takes zone from node meta, drops repeats', async () => {
    const entry = (node: Record<string, unknown>, service: Record<string, unknown>) => ({
      Node: { Address: '10.0.3.1', Meta: {}, ...node },
      Service: { Service: 'users', Port: 80, Address: '', ...service },
    });
    server.use(
      http.get(`${URL_}/v1/health/service/users`, () =>
        HttpResponse.json([
          entry({ Node: 'n1' }, { ID: 'api', Namespace: 'default', Partition: 'default' }),
          entry({ Node: 'n1' }, { ID: 'api', Namespace: 'team-a', Partition: 'default' }),
          entry({ Node: 'n1', Partition: 'eu' }, { ID: 'api', Namespace: 'team-a' }),
          entry({ Node: 'n:2', Meta: { zone: 'eu-1a' } }, { ID: 'api:8080/v1' }),
          entry({ Node: 'n1' }, { ID: 'api', Meta: { zone: 'svc-zone' } }),
        ]),
      ),
    );
    const r = registry();
    const events: ConsulRegistryEvents['invalidInstance'][] = [];
    r.on('invalidInstance', (event) => events.push(event));
    const found = await r.resolve('users');
    expect(found.map((i) => i.id)).toEqual([
      'n1:api',
      'n1@team-a:api',
      'n1@team-a.eu:api',
      'n%3A2:api:8080%2Fv1',
    ]);
    expect(found[2]?.metadata).toMatchObject({ 'consul.namespace': 'team-a', 'consul.partition': 'eu' });
    expect(found[3]).toMatchObject({
      zone: 'eu-1a',
      metadata: { 'consul.serviceId': 'api:8080/v1', 'consul.node': 'n:2' },
    });
    // The last entry repeats the first one's node and ID: reported, the first kept.
    expect(events.map((e) => [e.index, e.id, e.node])).toEqual([[4, 'api', 'n1']]);
    expect(events[0]?.reason).toMatch(/twice/);
  });

  it('refuses an oversized answer early and drops the connection: Content-Length, then a streaming count', async () => {
    // A real HTTP server that sends 64 KiB chunks until the client goes away.
    const closed: string[] = [];
    let sent = 0;
    const endless = createServer((request, response) => {
      const declared = request.url?.includes('/declared/');
      response.writeHead(200, {
        'Content-Type': 'application/json',
        ...(declared ? { 'Content-Length': String(2 ** 30) } : {}),
      });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!response.destroyed && response.write(chunk)) sent += chunk.length;
      };
      response.on('drain', pump);
      response.on('close', () => closed.push(declared ? 'declared' : 'streamed'));
      pump();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    const { port } = endless.address() as AddressInfo;
    try {
      for (const kind of ['declared', 'streamed']) {
        sent = 0;
        const r = registry({
          url: `http://127.0.0.1:${port}/${kind}`,
          fetch: realFetch,
          maxResponseBytes: 1024 * 1024,
        });
        const error = await r.resolve('users').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RegistryProtocolError);
        expect((error as Error).message).toMatch(
          kind === 'declared' ? /1073741824 bytes \(Content-Length\)/ : /over 1048576 bytes/,
        );
        await waitFor(`${kind}: server sees the connection close`, () => closed.includes(kind), 10_000);
        expect(sent).toBeLessThan(64 * 1024 * 1024); // far from the endless whole
      }
    } finally {
      endless.closeAllConnections();
      await new Promise((resolve) => endless.close(resolve));
    }
  });

  it('refuses more than maxInstances entries: a watch keeps its last list, registryStale, then recovers', async () => {
    const r = registry({ waitMs: 10_000, maxInstances: 3 });
    const states: string[] = [];
    r.on('registryStale', ({ error }) => states.push(`stale:${(error as Error).message}`));
    r.on('registryRecovered', () => states.push('recovered'));
    const seen: (readonly ServiceInstance[])[] = [];
    r.watch('users', (list) => seen.push(list));
    await waitFor('first list', () => seen.length === 1);
    await waitFor('blocking query parked', () => consul.blockedQueries === 1);
    const extra = { id: 'u4', host: '10.0.0.4', port: 80 };
    consul.setInstances('users', [...users, extra]);
    await waitFor('registryStale', () => states.length === 1);
    expect(states[0]).toMatch(/4 entries, more than maxInstances \(3\)/);
    await expect(r.resolve('users')).rejects.toBeInstanceOf(RegistryProtocolError);
    expect(seen).toHaveLength(1); // the last good list stays
    consul.setInstances('users', [users[0]!, extra]);
    await waitFor('recovered', () => states.includes('recovered'));
    await waitFor('new list', () => seen.length === 2);
    expect(serviceIds(seen[1]!)).toEqual(['u1', 'u4']);
  });

  it('reports a bad entry once across resolve, repeated resolves and watch', async () => {
    consul.setInstances('users', [...users, { id: 'p0', host: '10.0.0.9', port: 0 }]);
    const r = registry({ waitMs: 10_000 });
    const reported: (string | undefined)[] = [];
    r.on('invalidInstance', (event) => reported.push(event.id));
    await r.resolve('users');
    await r.resolve('users');
    let last: readonly ServiceInstance[] = [];
    r.watch('users', (list) => {
      last = list;
    });
    await waitFor('watch list', () => last.length === 3);
    await r.resolve('users');
    expect(reported).toEqual(['p0']);
    // Fixed, then broken again: reported again.
    consul.setInstances('users', users);
    await waitFor('p0 gone from the answer', async () => (await r.resolve('users')).length === 3);
    await r.resolve('users');
    consul.setInstances('users', [...users, { id: 'p0', host: '10.0.0.9', port: 0 }]);
    await r.resolve('users');
    expect(reported).toEqual(['p0', 'p0']);
  });
});
