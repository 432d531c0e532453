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
});
