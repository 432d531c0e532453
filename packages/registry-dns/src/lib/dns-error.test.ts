import { RegistryProtocolError, RegistryUnavailableError, ServiceNotFoundError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { toDnsError } from './dns-error.ts';

const failure = (code: string) => Object.assign(new Error(`query failed ${code}`), { code });

describe('toDnsError', () => {
  it('maps c-ares codes to typed errors, keeping the cause and the service', () => {
    const notFound = toDnsError('users', 'users.local', failure('ENOTFOUND'));
    expect(notFound).toBeInstanceOf(ServiceNotFoundError);
    expect(toDnsError('users', 'users.local', failure('ENODATA'))).toBeInstanceOf(ServiceNotFoundError);
    const timeout = toDnsError('users', 'users.local', failure('ETIMEOUT'));
    expect(timeout).toBeInstanceOf(RegistryUnavailableError);
    expect(timeout.message).toMatch(/users\.local.*ETIMEOUT/);
    expect(timeout.service).toBe('users');
    expect(toDnsError('users', 'x', failure('EREFUSED'))).toBeInstanceOf(RegistryUnavailableError);
    expect(toDnsError('users', 'x', failure('ECONNREFUSED'))).toBeInstanceOf(RegistryUnavailableError);
    const bad = failure('EBADRESP');
    const protocol = toDnsError('users', 'x', bad);
    expect(protocol).toBeInstanceOf(RegistryProtocolError);
    expect(protocol.cause).toBe(bad);
  });
});
