import {
  ManualClock,
  RegistryProtocolError,
  RegistryUnavailableError,
  type ServiceInstance,
  ServiceNotFoundError,
  ValidationError,
} from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpRegistry } from './http-registry.ts';
import type { HttpRegistryEvents } from './http-registry-types.ts';
import { createRegistryServer, type RegistryServer } from './registry-server.ts';

const instance = (id: string, port = 8080): ServiceInstance => ({
  id,
  service: 'users',
  host: '127.0.0.1',
  port,
});
const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id).sort();

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function startServer(port = 0): Promise<RegistryServer> {
  const server = await createRegistryServer({ port });
  cleanup.push(() => server.close());
  return server;
}

function client(url: string, extra: Partial<ConstructorParameters<typeof HttpRegistry>[0]> = {}) {
  const registry = new HttpRegistry({ url, backoff: { initialMs: 20, maxMs: 200 }, ...extra });
  cleanup.push(() => registry.close());
  return registry;
}

/** Resolves when `predicate` holds for a value pushed into the returned list. */
function collector<T>() {
  const values: T[] = [];
  const waiters: Array<{ predicate: (v: T) => boolean; resolve: (v: T) => void }> = [];
  return {
    values,
    push(value: T) {
      values.push(value);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(value)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(value);
        }
      }
    },
    next(predicate: (v: T) => boolean): Promise<T> {
      const found = values.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
  };
}

/** The global fetch, counting the requests sent through it. */
function countingFetch() {
  const counter = {
    count: 0,
    fetch: (input: string, init: RequestInit) => {
      counter.count++;
      return fetch(input, init);
    },
  };
  return counter;
}

/** A fetch that answers every request with the given body (to test malformed answers). */
const answering =
  (status: number, body: string, headers: Record<string, string> = {}) =>
  async () =>
    new Response(status === 204 ? null : body, { status, headers });

describe('HttpRegistry against the embedded server', () => {
  it('round-trips register, resolve, services, heartbeat and deregister', async () => {
    const server = await startServer();
    const registry = client(server.url);
    await registry.register(instance('u1'), { ttlMs: 10_000 });
    await registry.register({ ...instance('u2', 9090), weight: 3, metadata: { zone: 'a' } });
    const list = await registry.resolve('users');
    expect(ids(list)).toEqual(['u1', 'u2']);
    expect(list.find((i) => i.id === 'u2')).toMatchObject({ port: 9090, weight: 3, metadata: { zone: 'a' } });
    expect(await registry.services()).toEqual(['users']);
    await registry.heartbeat('users', 'u1');
    await registry.deregister('users', 'u1');
    expect(ids(await server.registry.resolve('users'))).toEqual(['u2']);
  });

  it('maps 404s to ServiceNotFoundError with service and instance id', async () => {
    const server = await startServer();
    const registry = client(server.url);
    await expect(registry.resolve('orders')).rejects.toBeInstanceOf(ServiceNotFoundError);
    await expect(registry.heartbeat('users', 'ghost')).rejects.toMatchObject({
      name: 'ServiceNotFoundError',
      service: 'users',
      instanceId: 'ghost',
    });
    await expect(registry.deregister('users', 'ghost')).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  it('rejects a bad instance or ttlMs locally with a ValidationError and sends nothing', async () => {
    const server = await startServer();
    const registry = client(server.url);
    const tried = { ...instance('u1'), port: 0 };
    await expect(registry.register(tried)).rejects.toMatchObject({ name: 'ValidationError', field: 'port' });
    await expect(registry.register(instance('u1'), { ttlMs: -1 })).rejects.toBeInstanceOf(ValidationError);
    expect(server.registry.services()).toEqual([]);
  });

  it('long-poll watch: the first list, then a change within one poll', async () => {
    const server = await startServer();
    await server.registry.register(instance('u1'));
    const counter = countingFetch();
    const registry = client(server.url, { fetch: counter.fetch });
    const lists = collector<string[]>();
    const requestsAtDelivery: number[] = [];
    registry.watch('users', (list) => {
      requestsAtDelivery.push(counter.count);
      lists.push(ids(list));
    });
    await lists.next((l) => l.length === 1);
    await server.registry.register(instance('u2'));
    await lists.next((l) => l.length === 2);
    // One resolve brought the first list, the one long-poll after it carried the change.
    expect(requestsAtDelivery).toEqual([1, 2]);
    expect(lists.values).toEqual([['u1'], ['u1', 'u2']]);
  });

  it('keeps the last list through a registry outage, reports it, and recovers on the same port', async () => {
    let server = await startServer();
    const port = server.port;
    await server.registry.register(instance('u1'));
    const registry = client(server.url);
    const events = collector<string>();
    registry.on('registryStale', () => events.push('registryStale'));
    registry.on('error', ({ error }) => events.push(error.name));
    registry.on('registryRecovered', () => events.push('registryRecovered'));
    const lists = collector<string[]>();
    registry.watch('users', (list) => lists.push(ids(list)));
    await lists.next((l) => l.length === 1);

    await server.close();
    await events.next((e) => e === 'registryStale');
    await events.next((e) => e === 'RegistryUnavailableError');
    expect(lists.values).toEqual([['u1']]); // never [] because of the outage

    server = await startServer(port);
    await server.registry.register(instance('u7'));
    await lists.next((l) => l.includes('u7'));
    await events.next((e) => e === 'registryRecovered');
    expect(lists.values).toEqual([['u1'], ['u7']]);
  });

  it('watching a service the registry does not know: [] once, no outage reported, then its list', async () => {
    const server = await startServer();
    const registry = client(server.url, { watchWaitMs: 50 });
    const events: string[] = [];
    registry.on('registryStale', () => events.push('registryStale'));
    registry.on('error', () => events.push('error'));
    const lists = collector<string[]>();
    registry.watch('users', (list) => lists.push(ids(list)));
    await lists.next(() => true);
    // Let a few 50 ms long-polls answer 404 before the service appears.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await server.registry.register(instance('u1'));
    await lists.next((l) => l.length === 1);
    expect(lists.values).toEqual([[], ['u1']]);
    expect(events).toEqual([]);
  });

  it('listeners of one service share one poll loop; a late listener gets the current list', async () => {
    const server = await startServer();
    await server.registry.register(instance('u1'));
    const counter = countingFetch();
    const registry = client(server.url, { fetch: counter.fetch });
    const first = collector<string[]>();
    const stopFirst = registry.watch('users', (list) => first.push(ids(list)));
    await first.next(() => true);
    const late = collector<string[]>();
    const stopLate = registry.watch('users', (list) => late.push(ids(list)));
    await late.next(() => true);
    expect(late.values).toEqual([['u1']]);
    stopFirst();
    await server.registry.register(instance('u2'));
    await late.next((l) => l.length === 2);
    // One resolve, one long-poll carrying u2: the second listener added no requests of its own.
    expect(counter.count).toBeLessThanOrEqual(3);
    expect(first.values).toEqual([['u1']]);
    stopLate();
  });

  it('unsubscribe and close() stop the loop and abort the poll in flight', async () => {
    const server = await startServer();
    await server.registry.register(instance('u1'));
    const counter = countingFetch();
    const registry = client(server.url, { fetch: counter.fetch });
    const lists = collector<string[]>();
    const stop = registry.watch('users', (list) => lists.push(ids(list)));
    registry.watch('users', () => {});
    await lists.next(() => true);
    stop();
    await registry.close();
    const after = counter.count;
    await server.registry.register(instance('u2'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(counter.count).toBe(after);
    expect(lists.values).toEqual([['u1']]);
  });
});

describe('HttpRegistry failures are typed', () => {
  it('connection refused → RegistryUnavailableError with the cause', async () => {
    const server = await startServer();
    const url = server.url;
    await server.close();
    const error = await client(url)
      .resolve('users')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect((error as Error).cause).toBeDefined();
  });

  it('5xx → RegistryUnavailableError', async () => {
    const registry = client('http://registry.test', { fetch: answering(503, 'busy') });
    await expect(registry.resolve('users')).rejects.toBeInstanceOf(RegistryUnavailableError);
    await expect(registry.heartbeat('users', 'u1')).rejects.toBeInstanceOf(RegistryUnavailableError);
  });

  it.each([
    ['not JSON', '<html>oops</html>'],
    ['a JSON object instead of an array', '{"instances": []}'],
    ['null', 'null'],
  ])('an answer that is %s → RegistryProtocolError', async (_what, body) => {
    const registry = client('http://registry.test', { fetch: answering(200, body) });
    await expect(registry.resolve('users')).rejects.toBeInstanceOf(RegistryProtocolError);
  });

  it('an unexpected status → RegistryProtocolError', async () => {
    const registry = client('http://registry.test', { fetch: answering(418, '{}') });
    await expect(registry.register(instance('u1'))).rejects.toBeInstanceOf(RegistryProtocolError);
  });

  it('drops invalid entries one by one with an event naming entry and reason, and keeps the rest', async () => {
    const body = JSON.stringify([
      instance('good'),
      { ...instance('bad-port'), port: 0 },
      { id: 'other', service: 'orders', host: 'h', port: 1 },
      { ...instance('down'), status: 'down' },
    ]);
    const registry = client('http://registry.test', { fetch: answering(200, body) });
    const dropped: Array<HttpRegistryEvents['invalidInstance']> = [];
    registry.on('invalidInstance', (event) => dropped.push(event));
    expect(ids(await registry.resolve('users'))).toEqual(['good']);
    expect(dropped.map((d) => [d.index, d.error.field])).toEqual([
      [1, 'port'],
      [2, 'service'],
    ]);
  });

  it('an aborted signal rejects with its reason', async () => {
    const server = await startServer();
    const registry = client(server.url);
    const reason = new Error('caller gave up');
    await expect(registry.resolve('users', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const controller = new AbortController();
    const pending = registry.resolve('users', { signal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('a server that answers long-polls at once without a change cannot make the watch spin', async () => {
    const clock = new ManualClock();
    let requests = 0;
    const body = JSON.stringify([instance('u1')]);
    const registry = client('http://registry.test', {
      clock,
      fetch: async () => {
        requests++;
        return new Response(body, { status: 200, headers: { 'x-registry-index': '7' } });
      },
    });
    const seen: string[][] = [];
    registry.watch('users', (list) => seen.push(ids(list)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The resolve, then one long-poll that came back unchanged; the next waits for the clock.
    expect(requests).toBe(2);
    clock.advance(10_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests).toBe(3);
    expect(seen).toEqual([['u1']]);
  });

  it('heartbeat/deregister with a bad service name or an empty id → ValidationError, nothing sent', async () => {
    const counter = countingFetch();
    const registry = client('http://registry.test', { fetch: counter.fetch });
    await expect(registry.heartbeat('a/b', 'u1')).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'service',
    });
    await expect(registry.deregister('users', '')).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'id',
    });
    expect(counter.count).toBe(0);
  });

  it('a bad URL is a ValidationError', () => {
    expect(() => new HttpRegistry({ url: 'not a url' })).toThrow(ValidationError);
    expect(() => new HttpRegistry({ url: 'ftp://x' })).toThrow(ValidationError);
  });
});
