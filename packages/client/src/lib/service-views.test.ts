import {
  AllAttemptsFailedError,
  ClientClosedError,
  ManualClock,
  ServiceNotFoundError,
  TimeoutError,
} from '@switchyard/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientEvents } from './client-events.ts';
import { DEFAULT_ATTEMPT_TIMEOUT_MS } from './client-options.ts';
import { DEFAULT_SERVICE_IDLE_MS, ServiceDiscoveryClient } from './service-discovery-client.ts';
import { instance, PushRegistry } from './test-registry.test-support.ts';

let client: ServiceDiscoveryClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('view lifetime', () => {
  it('the shared first resolve is bound to no caller: one caller aborting does not fail the others', async () => {
    const registry = new PushRegistry();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = {
      resolve: async (service: string, options?: { signal?: AbortSignal }) => {
        await gate;
        return registry.resolve(service, options);
      },
    };
    registry.push('users', [instance('users-1')]);
    client = new ServiceDiscoveryClient({ registry: slow });
    const first = new AbortController();
    const a = client.getInstances('users', { signal: first.signal });
    const b = client.getInstances('users');
    first.abort(new Error('caller A gave up'));
    await expect(a).rejects.toThrow('caller A gave up');
    release();
    expect((await b).map((i) => i.id)).toEqual(['users-1']);
  });

  it('500 unknown service names leave no view and no registry watch behind', async () => {
    const registry = new PushRegistry();
    client = new ServiceDiscoveryClient({ registry });
    for (let i = 0; i < 500; i++) {
      await expect(client.callService(`typo-${i}`, async () => 'never')).rejects.toBeInstanceOf(
        ServiceNotFoundError,
      );
    }
    expect(registry.watching).toBe(0);
    expect(Object.keys(client.stats())).toEqual([]);
  });

  it('a service not called for the idle time releases its view and watch; a later call starts over', async () => {
    const clock = new ManualClock();
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1')]);
    client = new ServiceDiscoveryClient({ registry, clock });
    expect(await client.callService('users', async (i) => i.id)).toBe('users-1');
    expect(registry.watching).toBe(1);
    clock.advance(DEFAULT_SERVICE_IDLE_MS / 2);
    expect(registry.watching).toBe(1);
    clock.advance(DEFAULT_SERVICE_IDLE_MS);
    expect(registry.watching).toBe(0);
    expect(Object.keys(client.stats())).toEqual([]);
    expect(await client.callService('users', async (i) => i.id)).toBe('users-1');
    expect(registry.watching).toBe(1);
  });

  it('keeps at most maxServices views, releasing the least recently used', async () => {
    const registry = new PushRegistry();
    for (const name of ['a', 'b', 'c']) registry.push(name, [{ ...instance('x-1'), service: name }]);
    client = new ServiceDiscoveryClient({ registry, maxServices: 2 });
    await client.getInstances('a');
    await client.getInstances('b');
    await client.getInstances('a'); // a is now the most recently used
    await client.getInstances('c');
    expect(registry.watching).toBe(2);
    expect(Object.keys(client.stats()).sort()).toEqual(['a', 'c']);
  });

  it('stats().breakersOpen counts only instances discovery still lists', async () => {
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1'), instance('users-2')]);
    client = new ServiceDiscoveryClient({
      registry,
      circuitBreaker: { consecutiveFailures: 1 },
      outlierDetection: false,
    });
    const call = () =>
      client!.callService('users', async (picked) => {
        if (picked.id === 'users-1') throw refused();
        return picked.id;
      });
    for (let i = 0; i < 4; i++) await call();
    expect(client.stats().users?.breakersOpen).toBe(1);
    // users-1 crashed and was replaced by users-3.
    registry.push('users', [instance('users-2'), instance('users-3')]);
    await vi.waitFor(async () =>
      expect((await client!.getInstances('users')).map((i) => i.id)).toEqual(['users-2', 'users-3']),
    );
    expect(client.stats().users?.breakersOpen).toBe(0);
  });

  it('calls after close() reject with ClientClosedError', async () => {
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1')]);
    client = new ServiceDiscoveryClient({ registry });
    await client.getInstances('users');
    await client.close();
    await expect(client.callService('users', async () => 1)).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.request('users', { path: '/' })).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.getInstances('users')).rejects.toBeInstanceOf(ClientClosedError);
  });
});

describe('default attempt timeout', () => {
  it('a call to an instance that never answers times out after 15 s per attempt by default', async () => {
    const clock = new ManualClock();
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1')]);
    client = new ServiceDiscoveryClient({ registry, clock, retry: false });
    let aborted: unknown;
    const call = client.callService(
      'users',
      (_i, { signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = signal.reason;
            reject(signal.reason);
          }),
        ),
    );
    const outcome = call.catch((error: unknown) => error);
    await vi.waitFor(() => expect(client?.stats().users?.attempts).toBe(1));
    clock.advance(DEFAULT_ATTEMPT_TIMEOUT_MS - 1);
    expect(aborted).toBeUndefined();
    clock.advance(1);
    const failed = await outcome;
    expect(failed).toBeInstanceOf(AllAttemptsFailedError);
    expect((failed as AllAttemptsFailedError).cause).toBeInstanceOf(TimeoutError);
    expect(aborted).toBeInstanceOf(TimeoutError);
  });
});

describe('event forwarding', () => {
  it("the executor's hedge event reaches client.on", async () => {
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1'), instance('users-2')]);
    client = new ServiceDiscoveryClient({ registry });
    const hedges: ClientEvents['hedge'][] = [];
    client.on('hedge', (event) => hedges.push(event));
    let first = true;
    const value = await client.callService(
      'users',
      (picked, { signal }) => {
        if (!first) return Promise.resolve(picked.id);
        first = false;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      { idempotent: true, hedgeAfterMs: 1 },
    );
    expect(value).toMatch(/users-/);
    expect(hedges).toEqual([expect.objectContaining({ service: 'users' })]);
  });

  it('forwards executor and discovery events with the service name', async () => {
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1')]);
    client = new ServiceDiscoveryClient({
      registry,
      circuitBreaker: { consecutiveFailures: 1 },
      retry: false,
    });
    const seen: string[] = [];
    for (const name of ['instancesChanged', 'breakerOpen', 'giveUp'] as const) {
      client.on(name, (event) => seen.push(`${name}:${event.service}`));
    }
    await expect(
      client.callService('users', async () => {
        throw refused();
      }),
    ).rejects.toThrow();
    expect(seen).toEqual(['instancesChanged:users', 'breakerOpen:users', 'giveUp:users']);
  });
});
