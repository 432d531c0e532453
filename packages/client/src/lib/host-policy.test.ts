import { ValidationError } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientEvents } from './client-events.ts';
import { HostPolicy } from './host-policy.ts';
import { ServiceDiscoveryClient } from './service-discovery-client.ts';
import { instance, PushRegistry } from './test-registry.test-support.ts';

describe('HostPolicy', () => {
  const defaults = new HostPolicy();

  it.each([
    '169.254.169.254',
    '169.254.1.1',
    '2852039166', // 169.254.169.254 as one number: URL parsing dials it as the metadata address
    '0xa9.254.169.254',
    '::ffff:169.254.169.254',
    '[::ffff:a9fe:a9fe]',
    '0.0.0.0',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    'Metadata.Google.Internal.',
  ])('denies %s by default', (host) => {
    expect(defaults.check(host)).toMatch(/is denied/);
  });

  it.each([
    '10.0.0.7',
    '127.0.0.1',
    '::1',
    'users.svc.cluster.local',
    'fd00:ec2::253',
  ])('allows %s by default', (host) => {
    expect(defaults.check(host)).toBeUndefined();
  });

  it('allowedHosts admits only matching CIDR ranges and host name patterns; deny wins', () => {
    const policy = new HostPolicy({
      allowedHosts: ['10.0.0.0/8', '*.svc.cluster.local', 'db', '169.254.0.0/16'],
    });
    expect(policy.check('10.1.2.3')).toBeUndefined();
    expect(policy.check('a.b.svc.cluster.local')).toBeUndefined();
    expect(policy.check('DB')).toBeUndefined();
    expect(policy.check('svc.cluster.local')).toMatch(/not in allowedHosts/);
    expect(policy.check('192.168.0.1')).toMatch(/not in allowedHosts/);
    expect(policy.check('169.254.169.254')).toMatch(/denied/);
  });

  it('deniedHosts replaces the default; [] turns it off', () => {
    expect(new HostPolicy({ deniedHosts: [] }).check('169.254.169.254')).toBeUndefined();
    expect(new HostPolicy({ deniedHosts: ['10.0.0.0/8'] }).check('10.9.9.9')).toMatch(/10\.0\.0\.0\/8/);
  });

  it.each([['10.0.0.0/33'], ['a.*.com'], [''], ['1.2.3.4/x']])('rejects the bad entry %j', (entry) => {
    expect(() => new HostPolicy({ allowedHosts: [entry] })).toThrow(ValidationError);
  });
});

describe('host policy in the apply path', () => {
  let client: ServiceDiscoveryClient | undefined;
  afterEach(async () => {
    await client?.close();
  });

  it('an instance on the metadata address is never routed to and raises invalidInstance with the reason', async () => {
    const registry = new PushRegistry();
    // Tried: a registry entry pointing at the cloud metadata service.
    registry.push('users', [instance('users-1'), instance('users-2', { host: '169.254.169.254', port: 80 })]);
    client = new ServiceDiscoveryClient({ registry });
    const invalid: ClientEvents['invalidInstance'][] = [];
    client.on('invalidInstance', (event) => invalid.push(event));
    expect((await client.getInstances('users')).map((i) => i.id)).toEqual(['users-1']);
    expect(invalid).toEqual([
      expect.objectContaining({
        service: 'users',
        reason: expect.stringMatching(/169\.254\.169\.254 is denied/),
      }),
    ]);
  });

  it('allowedHosts keeps instances elsewhere out', async () => {
    const registry = new PushRegistry();
    registry.push('users', [instance('users-1'), instance('users-2', { host: '10.0.0.2' })]);
    client = new ServiceDiscoveryClient({ registry, allowedHosts: ['127.0.0.0/8'] });
    expect((await client.getInstances('users')).map((i) => i.id)).toEqual(['users-1']);
  });
});
