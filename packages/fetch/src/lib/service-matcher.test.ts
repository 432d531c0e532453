import { ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { createServiceMatcher } from './service-matcher.ts';

describe('createServiceMatcher', () => {
  it('routes single-label hostnames by default, not localhost, IPs or dotted names', () => {
    const match = createServiceMatcher(undefined);
    expect(match('users')).toBe('users');
    expect(match('orders-api')).toBe('orders-api');
    for (const host of ['localhost', '127.0.0.1', '[::1]', 'example.com', 'users.svc', '8080', '-bad']) {
      expect(match(host)).toBeUndefined();
    }
  });

  it('routes exactly the listed names, lowercased as URL parsing leaves hostnames', () => {
    const match = createServiceMatcher(['users', 'Orders']);
    expect(match('users')).toBe('users');
    expect(match('orders')).toBe('orders');
    expect(match('carts')).toBeUndefined();
  });

  it('routes hosts ending in a suffix to the service named by the rest', () => {
    const match = createServiceMatcher({ suffix: '.svc' });
    expect(match('users.svc')).toBe('users');
    expect(match('users.svc.cluster')).toBeUndefined();
    expect(match('.svc')).toBeUndefined();
    expect(match('users')).toBeUndefined();
  });

  it('asks a function, and checks the name it returns', () => {
    const match = createServiceMatcher((host) => (host.startsWith('api-') ? host.slice(4) : undefined));
    expect(match('api-users')).toBe('users');
    expect(match('users')).toBeUndefined();
    expect(() => createServiceMatcher(() => 'bad name')('x')).toThrow(ValidationError);
  });

  it('rejects rules it cannot use', () => {
    expect(() => createServiceMatcher({ suffix: 'svc' })).toThrow(ValidationError);
    expect(() => createServiceMatcher(['ok', '']) as unknown).toThrow(ValidationError);
    expect(() => createServiceMatcher(42 as never)).toThrow(ValidationError);
  });
});
