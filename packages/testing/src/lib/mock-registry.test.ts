import {
  RegistryUnavailableError,
  type ServiceInstance,
  ServiceNotFoundError,
  ValidationError,
} from '@switchyard/core';
import { HttpRegistry } from '@switchyard/registry';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MockRegistry, mockRegistry } from './mock-registry.ts';

const URL = 'http://registry.test';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const u = (n: number): ServiceInstance => ({
  id: `users-${n}`,
  service: 'users',
  host: '127.0.0.1',
  port: 8000 + n,
});

let mock: MockRegistry | undefined;
let client: HttpRegistry | undefined;
afterEach(async () => {
  await client?.close();
  await mock?.close();
  client = undefined;
  mock = undefined;
});

function start(services: Record<string, readonly ServiceInstance[]> = { users: [u(1), u(2)] }) {
  mock = mockRegistry({ url: URL, services });
  server.use(...mock.handlers);
  // A long wait: a watch that sees a change quickly saw it through the long-poll, not a timeout.
  client = new HttpRegistry({
    url: URL,
    watchWaitMs: 20_000,
    timeoutMs: 2_000,
    backoff: { initialMs: 5, maxMs: 20 },
  });
  return { mock, client };
}

function ids(list: readonly ServiceInstance[]): string[] {
  return list.map((instance) => instance.id).sort();
}

/** Collects the lists a watch delivers; `next(predicate)` waits for one that matches. */
function watchLists(registry: HttpRegistry, service: string) {
  const lists: string[][] = [];
  const waiting: { test: (ids: string[]) => boolean; resolve: () => void }[] = [];
  const stop = registry.watch(service, (list) => {
    const now = ids(list);
    lists.push(now);
    for (const w of [...waiting]) if (w.test(now)) w.resolve();
  });
  const next = (test: (ids: string[]) => boolean) =>
    lists.some(test) ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ test, resolve }));
  return { lists, next, stop };
}

describe('mockRegistry through a real HttpRegistry', () => {
  it('resolves the given instances, knows empty services, and 404s unknown ones', async () => {
    const { client } = start({ users: [u(1), u(2)], orders: [] });
    expect(ids(await client.resolve('users'))).toEqual(['users-1', 'users-2']);
    expect(await client.resolve('orders')).toEqual([]);
    await expect(client.resolve('billing')).rejects.toBeInstanceOf(ServiceNotFoundError);
    expect((await client.services()).sort()).toEqual(['orders', 'users']);
  });

  it('a watching client sees setInstances and removeInstance within one long-poll', async () => {
    const { mock, client } = start();
    const watch = watchLists(client, 'users');
    await watch.next((list) => list.length === 2);
    mock.setInstances('users', [u(3)]);
    await watch.next((list) => list.join() === 'users-3');
    // Additions land before removals, so no list in between was empty.
    expect(watch.lists.every((list) => list.length > 0)).toBe(true);
    mock.setInstances('users', [u(3), u(4)]);
    await watch.next((list) => list.length === 2);
    expect(mock.removeInstance('users', 'users-4')).toBe(true);
    expect(mock.removeInstance('users', 'users-4')).toBe(false);
    await watch.next((list) => list.join() === 'users-3');
    mock.setInstances('users', []);
    await watch.next((list) => list.length === 0);
    watch.stop();
  });

  it('registrations made through the protocol are served, and replaced by setInstances', async () => {
    const { mock, client } = start();
    await client.register(u(7), { ttlMs: 60_000 });
    expect(ids(await client.resolve('users'))).toEqual(['users-1', 'users-2', 'users-7']);
    mock.setInstances('users', [u(1)]);
    expect(ids(await client.resolve('users'))).toEqual(['users-1']);
    await expect(client.heartbeat('users', 'users-7')).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  it('validates bodies exactly as the real server: 400 with the field, nothing changed', async () => {
    start();
    // Tried: a port out of range and broken JSON.
    const json = { 'content-type': 'application/json' };
    const bad = await fetch(`${URL}/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ ...u(9), port: 0 }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'port' });
    const broken = await fetch(`${URL}/register`, { method: 'POST', headers: json, body: '{"id":' });
    expect(broken.status).toBe(400);
    expect(ids(await client!.resolve('users'))).toEqual(['users-1', 'users-2']);
  });

  it('failNext: statuses, network errors and delays become RegistryUnavailableError, then it answers again', async () => {
    const { mock } = start();
    const quick = new HttpRegistry({ url: URL, timeoutMs: 100 });
    mock.failNext(1, { status: 503 });
    mock.failNext(1, { networkError: true });
    mock.failNext(1, { delayMs: 10_000 });
    for (let i = 0; i < 3; i++)
      await expect(quick.resolve('users')).rejects.toBeInstanceOf(RegistryUnavailableError);
    expect(ids(await quick.resolve('users'))).toEqual(['users-1', 'users-2']);
    expect(
      mock
        .requests()
        .map((r) => [r.method, r.path, r.fault?.status ?? r.fault?.networkError ?? r.fault?.delayMs ?? null]),
    ).toEqual([
      ['GET', '/services/users', 503],
      ['GET', '/services/users', true],
      ['GET', '/services/users', 10_000],
      ['GET', '/services/users', null],
    ]);
  });

  it('a watch rides out scripted failures, keeps its list, and reports stale then recovered', async () => {
    const { mock, client } = start();
    const events: string[] = [];
    client.on('registryStale', () => events.push('registryStale'));
    client.on('registryRecovered', () => events.push('registryRecovered'));
    const watch = watchLists(client, 'users');
    await watch.next((list) => list.length === 2);
    mock.failNext(3, { status: 503, path: '/services/users' });
    mock.setInstances('users', [u(5)]); // wakes the poll; the next three polls fail
    await watch.next((list) => list.join() === 'users-5');
    expect(events).toEqual(['registryStale', 'registryRecovered']);
    expect(watch.lists.every((list) => list.length > 0)).toBe(true);
    watch.stop();
  });

  it('rejects bad control input with a ValidationError and changes nothing', async () => {
    const { mock, client } = start();
    // Tried: a port out of range, an instance of another service, a bad service name, no URL.
    expect(() => mock.setInstances('users', [u(3), { ...u(4), port: 70_000 }])).toThrow(ValidationError);
    expect(() => mock.setInstances('users', [{ ...u(3), service: 'orders' }])).toThrow(/belongs to orders/);
    expect(() => mock.setInstances('bad name', [])).toThrow(ValidationError);
    expect(() => mock.failNext(1.5, { status: 503 })).toThrow(/failNext\.n/);
    expect(() => mockRegistry({ url: '' })).toThrow(/url/);
    expect(ids(await client.resolve('users'))).toEqual(['users-1', 'users-2']);
  });

  it('close() answers a pending long-poll at once', async () => {
    const { mock } = start();
    const first = await fetch(`${URL}/services/users`);
    const index = first.headers.get('X-Registry-Index');
    await first.text();
    const pending = fetch(`${URL}/services/users?index=${index}&waitMs=60000`);
    // Logged and parked in the same tick: once it shows in the log, the long-poll is waiting.
    await expect.poll(() => mock.requests().length).toBe(2);
    await mock.close();
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.headers.get('X-Registry-Index')).toBe(index);
    await answer.text();
  });

  it('reset() restores the initial instances, empties services added since, clears faults and the log', async () => {
    const { mock, client } = start();
    mock.setInstances('users', [u(9)]);
    mock.setInstances('orders', [{ id: 'o-1', service: 'orders', host: '127.0.0.1', port: 9000 }]);
    mock.failNext(5, { status: 500 });
    mock.reset();
    expect(mock.requests()).toEqual([]);
    expect(ids(await client.resolve('users'))).toEqual(['users-1', 'users-2']);
    expect(await client.resolve('orders')).toEqual([]);
  });
});
