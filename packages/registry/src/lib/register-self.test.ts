import {
  type Clock,
  ManualClock,
  type ServiceInstance,
  systemClock,
  ValidationError,
} from '@switchyard/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
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

  it.each([
    ['on', false],
    ['once', false],
    ['none', true],
  ] as const)('handleSignals: SIGTERM drains, then re-raises it only if the application does not listen (%s)', async (how, reraised) => {
    const server = await serve();
    const registry = new HttpRegistry({ url: server.url });
    cleanup.push(() => registry.close());
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    cleanup.push(async () => void kill.mockRestore());
    const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
    const clock = new ManualClock();
    const self = registerSelf(registry, me, { ttlMs: 3000, handleSignals: true, drainMs: 1000, clock });
    // The application's own listener, added after registerSelf as a server's setup would.
    const appListener = () => {};
    if (how === 'on') process.on('SIGTERM', appListener);
    if (how === 'once') process.once('SIGTERM', appListener);
    cleanup.push(async () => void process.off('SIGTERM', appListener));
    await self.ready;
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1);
    const gone = next(self, 'deregistered');
    process.emit('SIGTERM', 'SIGTERM');
    expect(self.draining).toBe(true);
    await gone;
    expect(await ids(server.registry)).toEqual([]);
    const drained = next(self, 'drained');
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1));
    clock.advance(1000);
    await drained;
    await vi.waitFor(() => expect(process.listenerCount('SIGINT')).toBe(before.int));
    expect(process.listenerCount('SIGTERM')).toBe(before.term + (how === 'on' ? 1 : 0));
    if (reraised) await vi.waitFor(() => expect(kill).toHaveBeenCalledWith(process.pid, 'SIGTERM'));
    else expect(kill).not.toHaveBeenCalled();
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
    ['a negative drainMs', { ttlMs: 1000, drainMs: -1 }, 'drainMs'],
    ['drainMs NaN', { ttlMs: 1000, drainMs: Number.NaN }, 'drainMs'],
    ['drainMs above 2^31-1', { ttlMs: 1000, drainMs: 2 ** 31 }, 'drainMs'],
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

describe('drain', () => {
  async function registered(options: { drainMs?: number; clock?: ManualClock } = {}) {
    const server = await serve();
    const registry = new HttpRegistry({ url: server.url });
    cleanup.push(() => registry.close());
    const clock = options.clock ?? new ManualClock();
    const self = registerSelf(registry, me, { ttlMs: 3000, clock, ...options });
    cleanup.push(() => self.close());
    const events: string[] = [];
    for (const name of ['draining', 'deregistered', 'drained', 'heartbeat'] as const) {
      self.on(name, () => events.push(name));
    }
    await self.ready;
    return { server, self, clock, events };
  }

  it('deregisters first, keeps serving drainMs, then closes; draining says so throughout', async () => {
    const { server, self, clock, events } = await registered({ drainMs: 2000 });
    expect(self.draining).toBe(false);
    let settled = false;
    const drain = self.drain().then(() => (settled = true));
    expect(self.draining).toBe(true);
    await next(self, 'deregistered');
    expect(await ids(server.registry)).toEqual([]);
    clock.advance(1999); // heartbeats are over: nothing fires, the window is still open
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    clock.advance(1);
    await drain;
    expect(self.draining).toBe(true);
    expect(events).toEqual(['draining', 'deregistered', 'drained']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('is idempotent: every call (and close()) shares one drain and one deregistration', async () => {
    const { self, clock, events } = await registered({ drainMs: 500 });
    const first = self.drain();
    const second = self.drain();
    await next(self, 'deregistered');
    const third = self.drain();
    clock.advance(500);
    await Promise.all([first, second, third, self.close(), self.drain()]);
    expect(events).toEqual(['draining', 'deregistered', 'drained']);
  });

  it('close() during the window ends it early, and drained still fires', async () => {
    const { self, clock, events } = await registered({ drainMs: 60_000 });
    const drain = self.drain();
    await next(self, 'deregistered');
    await self.close();
    await drain;
    expect(events).toEqual(['draining', 'deregistered', 'drained']);
    expect(clock.pendingTimers).toBe(0);
  });

  it("an aborted signal stops that caller's wait, not the drain; an aborted one starts none", async () => {
    const { self, clock, events } = await registered({ drainMs: 1000 });
    const controller = new AbortController();
    const gone = next(self, 'deregistered');
    const waiting = self.drain({ signal: controller.signal });
    controller.abort(new Error('stop waiting'));
    await expect(waiting).rejects.toThrow('stop waiting');
    await expect(self.drain({ signal: controller.signal })).rejects.toThrow('stop waiting');
    await gone;
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1)); // the window, once deregistered
    clock.advance(1000);
    await self.drain();
    expect(events).toEqual(['draining', 'deregistered', 'drained']);
  });

  it('drainMs 0 deregisters and closes at once; drain after close() resolves without draining', async () => {
    const { self, events } = await registered({ drainMs: 0 });
    await self.drain();
    expect(events).toEqual(['draining', 'deregistered', 'drained']);
    const other = await registered();
    await other.self.close();
    await other.self.drain();
    expect(other.self.draining).toBe(false);
    expect(other.events).toEqual(['deregistered']);
  });

  it('on the system clock the window is the one timer that keeps the process alive', async () => {
    const server = await serve();
    const registry = new HttpRegistry({ url: server.url });
    cleanup.push(() => registry.close());
    const handles: NodeJS.Timeout[] = [];
    const clock: Clock = {
      now: systemClock.now,
      clearTimeout: systemClock.clearTimeout,
      setTimeout(callback, ms) {
        const handle = systemClock.setTimeout(callback, ms) as NodeJS.Timeout;
        handles.push(handle);
        return handle;
      },
    };
    const self = registerSelf(registry, me, { ttlMs: 3000, heartbeatMs: 20, drainMs: 60_000, clock });
    cleanup.push(() => self.close());
    await next(self, 'heartbeat');
    expect(handles.filter((handle) => handle.hasRef())).toEqual([]);
    void self.drain();
    await vi.waitFor(() => expect(handles.filter((handle) => handle.hasRef())).toHaveLength(1));
    await self.close();
    await self.drain(); // close() cleared that timer and ended the window
  });

  it('rejects unknown drain options; an already aborted signal starts no drain', async () => {
    const { self } = await registered();
    await expect(self.drain({ signal: AbortSignal.abort() })).rejects.toThrow();
    expect(() => self.drain({ timeout: 5 } as never)).toThrow(ValidationError);
    expect(self.draining).toBe(false);
  });
});
