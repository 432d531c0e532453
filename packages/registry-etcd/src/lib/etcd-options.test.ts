import { ManualClock, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { type EtcdRegistryOptions, resolveEtcdOptions } from './etcd-options.ts';

function fieldOf(options: unknown): string | undefined {
  try {
    resolveEtcdOptions(options as EtcdRegistryOptions);
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  return undefined;
}

describe('resolveEtcdOptions', () => {
  it('applies defaults and normalises the prefix', () => {
    const clock = new ManualClock();
    const resolved = resolveEtcdOptions({ hosts: 'http://127.0.0.1:2379', prefix: '/sd', clock });
    expect(resolved.prefix).toBe('/sd/');
    expect(resolved.client.hosts).toEqual(['http://127.0.0.1:2379']);
    expect(resolved.defaultTtlMs).toBe(10_000);
    expect(resolved.revokeOnClose).toBe(true);
    expect(resolved.clock).toBe(clock);
  });

  it('passes auth and TLS material through to etcd3', () => {
    const rootCertificate = Buffer.from('ca');
    const resolved = resolveEtcdOptions({
      hosts: ['https://etcd:2379'],
      auth: { username: 'u', password: 'p' },
      credentials: { rootCertificate },
    });
    expect(resolved.client.auth).toEqual({ username: 'u', password: 'p' });
    expect(resolved.client.credentials?.rootCertificate).toBe(rootCertificate);
  });

  it('names each bad option', () => {
    // Tried: no hosts, an empty list, a host without scheme, an empty prefix, a negative
    // timeout, a NaN TTL, auth without password, TLS without a Buffer.
    expect(fieldOf({})).toBe('hosts');
    expect(fieldOf({ hosts: [] })).toBe('hosts');
    expect(fieldOf({ hosts: ['http://ok:1', '127.0.0.1:2379'] })).toBe('hosts[1]');
    expect(fieldOf({ hosts: 'http://a:1', prefix: '' })).toBe('prefix');
    expect(fieldOf({ hosts: 'http://a:1', dialTimeoutMs: -1 })).toBe('dialTimeoutMs');
    expect(fieldOf({ hosts: 'http://a:1', defaultTtlMs: Number.NaN })).toBe('defaultTtlMs');
    expect(fieldOf({ hosts: 'http://a:1', auth: { username: 'u' } })).toBe('auth');
    expect(fieldOf({ hosts: 'http://a:1', credentials: { rootCertificate: 'pem' } })).toBe(
      'credentials.rootCertificate',
    );
  });

  it('missing options name the required field; unknown keys are refused with a suggestion', () => {
    // Tried: no argument at all (plain JavaScript), a typo of leaseCheckMs, a TTL as `ttl`.
    expect(fieldOf(undefined)).toBe('hosts');
    expect(fieldOf(null)).toBe('options');
    expect(fieldOf({ hosts: 'http://a:1', leaseCheckMS: 5 })).toBe('EtcdRegistry options.leaseCheckMS');
    expect(() =>
      resolveEtcdOptions({ hosts: 'http://a:1', ttl: 5 } as unknown as EtcdRegistryOptions),
    ).toThrow(/unknown option/);
    expect(() =>
      resolveEtcdOptions({ hosts: 'http://a:1', leaseCheckMS: 5 } as unknown as EtcdRegistryOptions),
    ).toThrow(/did you mean .*leaseCheckMs/);
  });

  it('prints the type of a value of the wrong type and checks every option', () => {
    // Tried: a number as a string, a numeric host, a string boolean, a string clock, limit 0.
    expect(() =>
      resolveEtcdOptions({ hosts: 'http://a:1', requestTimeoutMs: '2000' } as unknown as EtcdRegistryOptions),
    ).toThrow('got "2000" (string)');
    expect(() => resolveEtcdOptions({ hosts: [2379] } as unknown as EtcdRegistryOptions)).toThrow(
      '2379 (number)',
    );
    expect(fieldOf({ hosts: 'http://a:1', revokeOnClose: 'no' })).toBe('revokeOnClose');
    expect(fieldOf({ hosts: 'http://a:1', clock: 'system' })).toBe('clock');
    expect(fieldOf({ hosts: 'http://a:1', maxInstances: 0 })).toBe('maxInstances');
    expect(fieldOf({ hosts: 'http://a:1', defaultTtlMs: 2 ** 31 })).toBe('defaultTtlMs');
    expect(resolveEtcdOptions({ hosts: 'http://a:1' }).maxInstances).toBe(10_000);
  });
});
