import { ManualClock, type ServiceInstance, ValidationError } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpRegistry } from './http-registry.ts';
import { InMemoryRegistry } from './in-memory-registry.ts';
import { registerSelf, type SelfRegistration, type SelfRegistrationEvents } from './register-self.ts';
import { createRegistryServer, type RegistryServer } from './registry-server.ts';

const me: ServiceInstance = { id: 'users-1', service: 'users', host: '127.0.0.1', port: 8080 };

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(options: Parameters<typeof createRegistryServer>[0] = {}): Promise<RegistryServer> {
  const server = await createRegistryServer(options);
  cleanup.push(() => server.close());
  return server;
}

function next<K extends keyof SelfRegistrationEvents & string>(
  self: SelfRegistration,
  event: K,
  predicate: (value: SelfRegistrationEvents[K]) => boolean = () => true,
): Promise<SelfRegistrationEvents[K]> {
  return new Promise((resolve) => {
    const off = self.on(event, (value) => {
      if (!predicate(value)) return;
      off();
      resolve(value);
    });
  });
}

const ids = async (registry: InMemoryRegistry) => (await registry.resolve('users')).map((i) => i.id);

describe('registerSelf against the embedded registry server', () => {
  it('heartbeats keep the instance alive well past its TTL; without them it expires', async () => {
    const serverClock = new ManualClock();
    const store = new InMemoryRegistry({ clock: serverClock });
    cleanup.push(() => store.close());
    const server = await serve({ registry: store });
    const selfClock = new ManualClock();
    const registry = new HttpRegistry({ url: server.url });
    cleanup.push(() => registry.close());
    const self = registerSelf(registry, me, { ttlMs: 1000, heartbeatMs: 300, clock: selfClock });
    await self.ready;
    for (let i = 0; i < 5; i++) {
      const beat = next(self, 'heartbeat');
      serverClock.advance(300);
      selfClock.advance(300);
      await beat;
    }
    // 1500 ms of registry time have passed with a 1000 ms TTL.
    expect(await ids(store)).toEqual(['users-1']);
    serverClock.advance(1000); // no heartbeat in a full TTL
    expect(await ids(store)).toEqual([]);
    await self.close();
  });

  it('registers again when the registry restarts empty on the same port', async () => {
    let server = await serve();
    const port = server.port;
    const registry = new HttpRegistry({ url: server.url });
    cleanup.push(() => registry.close());
    const self = registerSelf(registry, me, {
      ttlMs: 5000,
      heartbeatMs: 50,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    cleanup.push(() => self.close());
    await self.ready;
    const errors: string[] = [];
    self.on('error', ({ error }) => errors.push(error.name));
    const again = next(self, 'registered', ({ count }) => count === 2);
    await server.close();
    server = await serve({ port });
    await again;
    expect(await ids(server.registry)).toEqual(['users-1']);
    // The new registry answered the heartbeat with 404, which triggered the re-registration.
    expect(errors).toContain('ServiceNotFoundError');
  });

  it('close() deregisters and leaves no timer behind', async () => {
    const server = await serve();
    const registry = new HttpRegistry({ url: server.url });
    cleanup.push(() => registry.close());
    const clock = new ManualClock();
    const self = registerSelf(registry, me, { ttlMs: 3000, clock });
    await self.ready;
    expect(await ids(server.registry)).toEqual(['users-1']);
    await self.close();
    expect(await ids(server.registry)).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('an aborted signal closes the registration', async () => {
    const server = await serve();
    const registry = new HttpRegistry({ url: server.url });
    cleanup.push(() => registry.close());
    const controller = new AbortController();
    const self = registerSelf(registry, me, { ttlMs: 3000, signal: controller.signal });
    await self.ready;
    const gone = next(self, 'deregistered');
    controller.abort();
    await gone;
    expect(await ids(server.registry)).toEqual([]);
  });

  it('handleSignals: SIGTERM deregisters; close() removes the process listeners', async () => {
    const server = await serve();
    const registry = new HttpRegistry({ url: server.url });
    cleanup.push(() => registry.close());
    // The application's own listener: with it present the handler must not re-raise the signal.
    const appListener = () => {};
    process.on('SIGTERM', appListener);
    cleanup.push(async () => void process.off('SIGTERM', appListener));
    const before = { term: process.listeners('SIGTERM'), int: process.listenerCount('SIGINT') };
    const self = registerSelf(registry, me, { ttlMs: 3000, handleSignals: true });
    await self.ready;
    const ours = process.listeners('SIGTERM').filter((listener) => !before.term.includes(listener));
    expect(ours).toHaveLength(1);
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1);
    const gone = next(self, 'deregistered');
    (ours[0] as () => void)();
    await gone;
    expect(await ids(server.registry)).toEqual([]);
    expect(process.listenerCount('SIGTERM')).toBe(before.term.length);
    expect(process.listenerCount('SIGINT')).toBe(before.int);
  });

  it.each([
    ['no ttlMs', {}, 'ttlMs'],
    ['heartbeatMs equal to ttlMs', { ttlMs: 1000, heartbeatMs: 1000 }, 'heartbeatMs'],
    ['heartbeatMs 0', { ttlMs: 1000, heartbeatMs: 0 }, 'heartbeatMs'],
    // Above 2^31-1 Node timers fire every 1 ms: 1,063 heartbeats in 3 s before this check.
    ['ttlMs above 2^31-1', { ttlMs: 2 ** 31 }, 'ttlMs'],
    ['ttlMs 1e12', { ttlMs: 1e12 }, 'ttlMs'],
    ['heartbeatMs above 2^31-1', { ttlMs: 2 ** 31 - 1, heartbeatMs: 2 ** 31 }, 'heartbeatMs'],
    ['heartbeatMs below 10 ms', { ttlMs: 1000, heartbeatMs: 1 }, 'heartbeatMs'],
    ['a ttlMs so short the heartbeat would be under 10 ms', { ttlMs: 10 }, 'heartbeatMs'],
    [
      'an unknown option (token belongs to the HttpRegistry)',
      { ttlMs: 1000, token: 'x' },
      'registerSelf options.token',
    ],
  ])('rejects %s up front', (_what, options, field) => {
    const store = new InMemoryRegistry();
    let error: unknown;
    try {
      registerSelf(store, me, options as { ttlMs: number });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect(store.services()).toEqual([]);
  });

  it('rejects an invalid instance up front', () => {
    const store = new InMemoryRegistry();
    expect(() => registerSelf(store, { ...me, port: 0 }, { ttlMs: 1000 })).toThrow(ValidationError);
  });
});
