import {
  type Registry,
  RegistryUnavailableError,
  type ServiceInstance,
  ServiceNotFoundError,
  ValidationError,
} from '@switchyard/core';
import { StaticRegistry } from '@switchyard/registry';
import { describe, expect, it } from 'vitest';
import { RetryingRegistry } from './retrying-registry.ts';

const users: ServiceInstance[] = [{ id: 'u1', service: 'users', host: '127.0.0.1', port: 8080 }];

/** A registry that fails its first `failures` resolves with `error`, then answers. */
function flaky(failures: number, error: () => Error): Registry & { calls: number } {
  const inner = new StaticRegistry({ users });
  const registry = {
    calls: 0,
    async resolve(service: string) {
      registry.calls++;
      if (registry.calls <= failures) throw error();
      return inner.resolve(service);
    },
  };
  return registry;
}

describe('RetryingRegistry', () => {
  it('retries a resolve that met an unavailable registry, up to `retries` times', async () => {
    const inner = flaky(2, () => new RegistryUnavailableError('HTTP 503'));
    expect(await new RetryingRegistry(inner, { retries: 2, initialMs: 0 }).resolve('users')).toEqual(users);
    expect(inner.calls).toBe(3);
    const worse = flaky(3, () => new RegistryUnavailableError('HTTP 503'));
    await expect(
      new RetryingRegistry(worse, { retries: 2, initialMs: 0 }).resolve('users'),
    ).rejects.toBeInstanceOf(RegistryUnavailableError);
    expect(worse.calls).toBe(3);
  });

  it('does not retry answers that are not outages', async () => {
    const inner = flaky(1, () => new ServiceNotFoundError('users'));
    await expect(new RetryingRegistry(inner).resolve('users')).rejects.toBeInstanceOf(ServiceNotFoundError);
    expect(inner.calls).toBe(1);
  });

  it('stops waiting between retries when the signal aborts', async () => {
    const inner = flaky(5, () => new RegistryUnavailableError('down'));
    const controller = new AbortController();
    const pending = new RetryingRegistry(inner, { retries: 5, initialMs: 60_000, maxMs: 60_000 }).resolve(
      'users',
      {
        signal: controller.signal,
      },
    );
    controller.abort(new Error('caller gave up'));
    await expect(pending).rejects.toThrow('caller gave up');
    expect(inner.calls).toBe(1);
  });

  it('has watch only when the inner registry has it, and passes watches through', () => {
    expect(new RetryingRegistry(flaky(0, () => new Error())).watch).toBeUndefined();
    const seen: string[] = [];
    let stopped = false;
    const watching: Registry = {
      resolve: async () => users,
      watch: (service, listener) => {
        seen.push(service);
        listener(users);
        return () => {
          stopped = true;
        };
      },
    };
    const lists: (readonly ServiceInstance[])[] = [];
    const stop = new RetryingRegistry(watching).watch!('users', (list) => lists.push(list));
    stop();
    expect([seen, lists, stopped]).toEqual([['users'], [users], true]);
  });

  it('rejects bad options with a ValidationError', () => {
    // Tried: negative and fractional retries, maxMs below initialMs.
    expect(() => new RetryingRegistry(new StaticRegistry({}), { retries: -1 })).toThrow(ValidationError);
    expect(() => new RetryingRegistry(new StaticRegistry({}), { retries: 1.5 })).toThrow(/retries/);
    expect(() => new RetryingRegistry(new StaticRegistry({}), { initialMs: 10, maxMs: 5 })).toThrow(
      ValidationError,
    );
  });
});
