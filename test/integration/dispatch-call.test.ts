/**
 * `client.dispatchCall`, the callback form of `callService` that the fetch interceptor runs on:
 * validation, the wait for a first list, diagnostics (which take the promise path and add
 * headers), and close().
 */

import { ServiceDiscoveryClient } from '@switchyard/client';
import {
  type AttemptMessage,
  ClientClosedError,
  type ServiceInstance,
  switchyardChannels,
  ValidationError,
} from '@switchyard/core';
import { StaticRegistry } from '@switchyard/registry';
import type { DispatchedAttempt, DispatchedCall } from '@switchyard/resilience';
import { afterEach, describe, expect, it } from 'vitest';

const instances: ServiceInstance[] = [1, 2].map((n) => ({
  id: `users-${n}`,
  service: 'users',
  host: '127.0.0.1',
  port: 9000 + n,
}));

let client: ServiceDiscoveryClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

function newClient(): ServiceDiscoveryClient {
  client = new ServiceDiscoveryClient({ registry: new StaticRegistry({ users: instances }) });
  return client;
}

/** A call whose attempts do what `onAttempt` says, recording what it hears. */
function recorder(
  onAttempt: (
    instance: ServiceInstance,
    attempt: DispatchedAttempt<string>,
    headers?: Record<string, string>,
  ) => void,
) {
  const told: Array<{ ok: boolean; value: unknown }> = [];
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const call: DispatchedCall<string> = {
    attempt: onAttempt,
    resolve: (value) => {
      told.push({ ok: true, value });
      settle();
    },
    reject: (error) => {
      told.push({ ok: false, value: error });
      settle();
    },
  };
  return { call, told, settled };
}

describe('client.dispatchCall', () => {
  it('waits for the first list, then calls straight through; each call settles once', async () => {
    const c = newClient();
    const first = recorder((instance, attempt) => attempt.resolve(instance.id));
    c.dispatchCall('users', first.call);
    expect(first.told).toEqual([]); // no list yet: the call waits for it
    await first.settled;
    expect(first.told).toEqual([{ ok: true, value: expect.stringMatching(/^users-[12]$/) }]);

    const second = recorder((instance, attempt) => attempt.resolve(instance.id));
    c.dispatchCall('users', second.call);
    // Synchronously: no promise on the way.
    expect(second.told).toEqual([{ ok: true, value: expect.stringMatching(/^users-[12]$/) }]);
    expect(c.stats().users).toMatchObject({ calls: 2, successes: 2 });
  });

  it('refuses a bad call by throwing, and a bad service name or a closed client through reject', async () => {
    const c = newClient();
    expect(() => c.dispatchCall('users', null as never)).toThrow(ValidationError);
    expect(() => c.dispatchCall('users', { resolve() {}, reject() {} } as never)).toThrow(ValidationError);
    const badName = recorder(() => undefined);
    c.dispatchCall('not a name', badName.call);
    expect(badName.told[0]?.value).toBeInstanceOf(ValidationError);
    await c.close();
    const closed = recorder(() => undefined);
    c.dispatchCall('users', closed.call);
    expect(closed.told[0]?.value).toBeInstanceOf(ClientClosedError);
  });

  it('with a diagnostics subscriber: the attempt is published and gets the headers the subscriber adds', async () => {
    const c = newClient();
    const onAttempt = (message: unknown) => {
      const headers = (message as AttemptMessage).headers;
      if (headers) headers.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    };
    const ends: unknown[] = [];
    const onEnd = (message: unknown) => ends.push(message);
    switchyardChannels.attemptStart.subscribe(onAttempt);
    switchyardChannels.callEnd.subscribe(onEnd);
    try {
      let seen: Record<string, string> | undefined;
      const { call, told, settled } = recorder((instance, attempt, headers) => {
        seen = headers;
        attempt.resolve(instance.id);
      });
      c.dispatchCall('users', call, { http: { method: 'GET', path: '/users/42' } });
      await settled;
      expect(told).toHaveLength(1);
      expect(seen).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
      expect(ends).toHaveLength(1);
    } finally {
      switchyardChannels.attemptStart.unsubscribe(onAttempt);
      switchyardChannels.callEnd.unsubscribe(onEnd);
    }
  });

  it('close() ends a dispatched call in flight with ClientClosedError and aborts its attempt', async () => {
    const c = newClient();
    await c.getInstances('users');
    let aborted = false;
    const { call, told, settled } = recorder((_instance, attempt) => {
      attempt.abortTarget?.addEventListener('abort', () => {
        aborted = true;
      });
    });
    c.dispatchCall('users', call);
    await c.close();
    await settled;
    expect(aborted).toBe(true);
    expect(told[0]?.value).toBeInstanceOf(ClientClosedError);
  });
});
