import { readFileSync } from 'node:fs';
import { ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { resolveInstanceTls, servernameFor } from './instance-tls.ts';
import { ServiceDiscoveryClient } from './service-discovery-client.ts';
import { PushRegistry } from './test-registry.test-support.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../../test/fixtures/tls/${name}`, import.meta.url), 'utf8');
const ca = fixture('ca.crt');
const cert = fixture('client.crt');
const key = fixture('client.key');

function rejection(options: Record<string, unknown>): ValidationError {
  try {
    new ServiceDiscoveryClient({ registry: new PushRegistry(), ...options } as ConstructorParameters<
      typeof ServiceDiscoveryClient
    >[0]);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('tls options', () => {
  it.each([
    ['a typo', { tls: { servrname: 'users' } }, 'tls.servrname', /did you mean tls\.servername\?/],
    ['not an object', { tls: 'on' }, 'tls', /expected an object/],
    ['a file name', { tls: { ca: '/etc/ssl/ca.pem' } }, 'tls.ca', /expected PEM text/],
    ['a number in a CA list', { tls: { ca: [ca, 42] } }, 'tls.ca[1]', /PEM string or Buffer, got 42/],
    ['an empty CA list', { tls: { ca: [] } }, 'tls.ca', /at least one/],
    ['cert without key', { tls: { cert } }, 'tls.key', /both cert and key/],
    ['key without cert', { tls: { key } }, 'tls.cert', /both cert and key/],
    ['an IP as servername', { tls: { servername: '127.0.0.1' } }, 'tls.servername', /IP address/],
    ['a space in servername', { tls: { servername: 'bad name' } }, 'tls.servername', /DNS name or false/],
    ['servername true', { tls: { servername: true } }, 'tls.servername', /DNS name or false/],
    [
      'rejectUnauthorized as text',
      { tls: { rejectUnauthorized: 'no' } },
      'tls.rejectUnauthorized',
      /boolean/,
    ],
    [
      'a per-service bad CA',
      { services: { users: { tls: { ca: 'nope' } } } },
      'services.users.tls.ca',
      /PEM/,
    ],
    [
      'a per-service typo',
      { services: { users: { tls: { cafile: ca } } } },
      'services.users.tls.cafile',
      /did you mean/,
    ],
  ])('rejects %s, naming %s', (_label, options, field, message) => {
    const error = rejection(options);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('loads the certificates when the client is created: a bad PEM or a key of another certificate fails then, without echoing the key', () => {
    const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
    const unparsable = rejection({ tls: { ca: [ca, broken] } });
    expect(unparsable.field).toBe('tls.ca[1]');
    expect(unparsable.message).toMatch(/certificate 1 of 1 does not parse/);
    const mismatch = rejection({ services: { users: { tls: { cert: fixture('server.crt'), key } } } });
    expect(mismatch.field).toBe('services.users.tls');
    expect(mismatch.message).toMatch(/could not load the certificates or key/);
    expect(mismatch.message).not.toContain('PRIVATE KEY');
    expect(mismatch.message).not.toContain(key.split('\n')[1]!);
  });

  it('accepts PEM strings, Buffers and lists of CAs; rejectUnauthorized defaults to true', async () => {
    const client = new ServiceDiscoveryClient({
      registry: new PushRegistry(),
      tls: { ca: [ca, Buffer.from(fixture('other-ca.crt'))], cert: Buffer.from(cert), key },
      services: { users: { tls: { ca, servername: false, rejectUnauthorized: false } } },
    });
    await client.close();
    expect(resolveInstanceTls({}, 'tls', 1).rejectUnauthorized).toBe(true);
  });

  it('verifies against the service name by default, a fixed name, or the host with false', () => {
    expect(servernameFor(resolveInstanceTls({}, 'tls', 1), 'users')).toBe('users');
    expect(servernameFor(resolveInstanceTls({ servername: 'users.default.svc' }, 'tls', 1), 'users')).toBe(
      'users.default.svc',
    );
    expect(servernameFor(resolveInstanceTls({ servername: false }, 'tls', 1), 'users')).toBeUndefined();
    // A service named like an address cannot be sent as SNI: its instances' hosts are checked.
    expect(servernameFor(resolveInstanceTls({}, 'tls', 1), '10.0.0.1')).toBeUndefined();
  });

  it('a custom connector in poolOptions cannot take tls', () => {
    const error = rejection({ tls: { ca }, poolOptions: { connect: () => undefined } });
    expect(error.field).toBe('poolOptions.connect');
  });
});
