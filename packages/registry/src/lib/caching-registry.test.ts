import {
  ManualClock,
  type Registry,
  RegistryProtocolError,
  RegistryUnavailableError,
  type ServiceInstance,
  ServiceNotFoundError,
  ValidationError,
} from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { CachingRegistry } from './caching-registry.ts';
import { HttpRegistry } from './http-registry.ts';
import { InMemoryRegistry } from './in-memory-registry.ts';
import { createRegistryServer, type RegistryServer } from './registry-server.ts';

const inst = (id: string): ServiceInstance => ({ id, service: 'users', host: '127.0.0.1', port: 8080 });
const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id).sort();

/** An inner registry whose answers the test scripts, counting calls. */
function scripted() {
  const state = {
    calls: 0,
    next: (): Promise<readonly ServiceInstance[]> => Promise.resolve([inst('a')]),
  };
  const registry: Registry = {
    resolve: () => {
      state.calls++;
      return state.next();
    },
  };
  return { state, registry };
}

const servers: RegistryServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

describe('CachingRegistry', () => {
  it('coalesces 100 concurrent resolves of one service into one inner call', async () => {
    const clock = new ManualClock();
    const { state, registry } = scripted();
    let release: (list: readonly ServiceInstance[]) => void = () => {};
    state.next = () => new Promise((resolve) => (release = resolve));
    const cache = new CachingRegistry(registry, { ttlMs: 1000, clock });
    const all = Promise.all(Array.from({ length: 100 }, () => cache.resolve('users')));
    release([inst('a'), inst('b')]);
    const lists = await all;
    expect(state.calls).toBe(1);
    expect(lists.every((list) => ids(list).join() === 'a,b')).toBe(true);
    clock.advance(999);
    await cache.resolve('users');
    expect(state.calls).toBe(1); // still fresh
    state.next = () => Promise.resolve([inst('c')]);
    clock.advance(1);
    expect(ids(await cache.resolve('users'))).toEqual(['c']);
    expect(state.calls).toBe(2);
  });

  it('a caller that aborts stops waiting alone; the shared call still serves the others', async () => {
    const { state, registry } = scripted();
    let release: (list: readonly ServiceInstance[]) => void = () => {};
    state.next = () => new Promise((resolve) => (release = resolve));
    const cache = new CachingRegistry(registry, { ttlMs: 1000, clock: new ManualClock() });
    const controller = new AbortController();
    const leaving = cache.resolve('users', { signal: controller.signal });
    const staying = cache.resolve('users');
    controller.abort(new Error('gave up'));
    await expect(leaving).rejects.toThrow('gave up');
    release([inst('a')]);
    expect(ids(await staying)).toEqual(['a']);
    expect(state.calls).toBe(1);
  });

  it('holds at most maxServices services, dropping the least recently used', async () => {
    const { state, registry } = scripted();
    const cache = new CachingRegistry(registry, { ttlMs: 60_000, maxServices: 2, clock: new ManualClock() });
    await cache.resolve('a');
    await cache.resolve('b');
    await cache.resolve('a'); // a is now the most recent
    await cache.resolve('c'); // evicts b
    expect(state.calls).toBe(3);
    await cache.resolve('a');
    expect(state.calls).toBe(3);
    await cache.resolve('b');
    expect(state.calls).toBe(4);
  });

  it('serves the last good list through an outage of a real registry server and recovers', async () => {
    const clock = new ManualClock();
    let server = await createRegistryServer();
    servers.push(server);
    const port = server.port;
    await server.registry.register(inst('a'));
    const cache = new CachingRegistry(new HttpRegistry({ url: server.url }), { ttlMs: 1000, clock });
    const events: string[] = [];
    cache.on('registryStale', ({ error }) => events.push(`registryStale:${error.name}`));
    cache.on('registryRecovered', () => events.push('registryRecovered'));
    expect(ids(await cache.resolve('users'))).toEqual(['a']);

    await server.close();
    clock.advance(1000);
    expect(ids(await cache.resolve('users'))).toEqual(['a']);
    clock.advance(5000);
    expect(ids(await cache.resolve('users'))).toEqual(['a']);
    expect(events).toEqual(['registryStale:RegistryUnavailableError']); // reported once per outage

    server = await createRegistryServer({ port });
    servers.push(server);
    await server.registry.register(inst('b'));
    clock.advance(1000);
    expect(ids(await cache.resolve('users'))).toEqual(['b']);
    expect(events).toEqual(['registryStale:RegistryUnavailableError', 'registryRecovered']);
    await cache.close();
  });

  it('a watch through the cache: the inner outage is reported once as registryStale, then recovered', async () => {
    let server = await createRegistryServer();
    servers.push(server);
    const port = server.port;
    await server.registry.register(inst('a'));
    const inner = new HttpRegistry({ url: server.url, backoff: { initialMs: 20, maxMs: 100 } });
    const cache = new CachingRegistry(inner, { ttlMs: 60_000 });
    const events: string[] = [];
    let onEvent = () => {};
    cache.on('registryStale', () => {
      events.push('registryStale');
      onEvent();
    });
    cache.on('registryRecovered', () => {
      events.push('registryRecovered');
      onEvent();
    });
    const until = (n: number) =>
      new Promise<void>((resolve) => {
        onEvent = () => events.length >= n && resolve();
        onEvent();
      });
    const lists: string[][] = [];
    let onList = () => {};
    cache.watch('users', (list) => {
      lists.push(ids(list));
      onList();
    });
    await new Promise<void>((resolve) => {
      onList = () => lists.length > 0 && resolve();
      onList();
    });
    await server.close();
    await until(1);
    // Resolve during the outage is served by the cache (filled by the watch) and says nothing new.
    expect(ids(await cache.resolve('users'))).toEqual(['a']);
    server = await createRegistryServer({ port });
    servers.push(server);
    await server.registry.register(inst('b'));
    await until(2);
    expect(events).toEqual(['registryStale', 'registryRecovered']);
    expect(lists[0]).toEqual(['a']);
    expect(lists).not.toContainEqual([]);
    await cache.close();
  });

  it('never replaces a good list with an empty one because of an error; a genuine [] does', async () => {
    const clock = new ManualClock();
    const { state, registry } = scripted();
    const cache = new CachingRegistry(registry, { ttlMs: 100, clock });
    await cache.resolve('users');
    state.next = () => Promise.reject(new RegistryProtocolError('answer is not JSON', { service: 'users' }));
    clock.advance(100);
    expect(ids(await cache.resolve('users'))).toEqual(['a']);
    state.next = () => Promise.resolve([]);
    clock.advance(100);
    expect(await cache.resolve('users')).toEqual([]);
  });

  it('throws once the last good list is older than maxStalenessMs', async () => {
    const clock = new ManualClock();
    const { state, registry } = scripted();
    const cache = new CachingRegistry(registry, { ttlMs: 1000, maxStalenessMs: 5000, clock });
    await cache.resolve('users');
    state.next = () => Promise.reject(new RegistryUnavailableError('connect ECONNREFUSED'));
    clock.advance(4000);
    expect(ids(await cache.resolve('users'))).toEqual(['a']);
    clock.advance(1001);
    await expect(cache.resolve('users')).rejects.toBeInstanceOf(RegistryUnavailableError);
  });

  it('a not-found answer is genuine: it propagates and the cached list is dropped', async () => {
    const clock = new ManualClock();
    const { state, registry } = scripted();
    const cache = new CachingRegistry(registry, { ttlMs: 100, clock });
    await cache.resolve('users');
    state.next = () => Promise.reject(new ServiceNotFoundError('users'));
    clock.advance(100);
    await expect(cache.resolve('users')).rejects.toBeInstanceOf(ServiceNotFoundError);
    state.next = () => Promise.reject(new RegistryUnavailableError('down'));
    await expect(cache.resolve('users')).rejects.toBeInstanceOf(RegistryUnavailableError);
  });

  it('passes watch through and keeps the cache current from it', async () => {
    const inner = new InMemoryRegistry();
    await inner.register(inst('a'));
    let resolves = 0;
    const counting: Registry = {
      resolve: (service, options) => {
        resolves++;
        return inner.resolve(service, options);
      },
      watch: (service, listener) => inner.watch(service, listener),
    };
    const cache = new CachingRegistry(counting, { ttlMs: 60_000, clock: new ManualClock() });
    const seen: string[][] = [];
    const stop = cache.watch('users', (list) => seen.push(ids(list)));
    await inner.register(inst('b'));
    expect(ids(await cache.resolve('users'))).toEqual(['a', 'b']);
    expect(resolves).toBe(0);
    stop();
    await inner.register(inst('c'));
    expect(seen).toEqual([['a'], ['a', 'b']]);
  });

  it('without an inner watch, polls every ttlMs and delivers changes only', async () => {
    const clock = new ManualClock();
    const { state, registry } = scripted();
    const cache = new CachingRegistry(registry, { ttlMs: 1000, clock });
    const seen: string[][] = [];
    const stop = cache.watch('users', (list) => seen.push(ids(list)));
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    await settle();
    clock.advance(1000);
    await settle();
    state.next = () => Promise.resolve([inst('z')]);
    clock.advance(1000);
    await settle();
    stop();
    expect(seen).toEqual([['a'], ['z']]);
    expect(clock.pendingTimers).toBe(0);
  });

  it.each([
    ['no ttlMs', {}, 'ttlMs'],
    ['ttlMs 0', { ttlMs: 0 }, 'ttlMs'],
    ['maxServices 0', { ttlMs: 1, maxServices: 0 }, 'maxServices'],
    ['maxStalenessMs -1', { ttlMs: 1, maxStalenessMs: -1 }, 'maxStalenessMs'],
  ])('rejects options with %s', (_what, options, field) => {
    const make = () => new CachingRegistry(scripted().registry, options as { ttlMs: number });
    expect(make).toThrow(ValidationError);
    try {
      make();
    } catch (error) {
      expect((error as ValidationError).field).toBe(field);
    }
  });
});
