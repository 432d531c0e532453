import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { inspect } from 'node:util';
import { RegistryUnavailableError, type ServiceInstance } from '@switchyard/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCerts, type TestCerts } from '../testing/test-certs.ts';
import { HttpRegistry } from './http-registry.ts';
import { InMemoryRegistry } from './in-memory-registry.ts';
import { registerSelf } from './register-self.ts';
import { RegistrationConflictError, RegistryAccessDeniedError } from './registry-errors.ts';
import { createRegistryServer, type RegistryServer, type RegistryServerOptions } from './registry-server.ts';

const TOKEN = 'tok-7f3a9c1e-never-shown';
const me: ServiceInstance = { id: 'users-1', service: 'users', host: '127.0.0.1', port: 8080 };

const cleanup: Array<() => Promise<unknown> | undefined> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(options: RegistryServerOptions = {}): Promise<RegistryServer> {
  const server = await createRegistryServer(options);
  cleanup.push(() => server.close());
  return server;
}

function client(options: ConstructorParameters<typeof HttpRegistry>[0]): HttpRegistry {
  const registry = new HttpRegistry(options);
  cleanup.push(() => registry.close());
  return registry;
}

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with exactly the headers given (node:http adds only Host unless told otherwise). */
function raw(
  server: RegistryServer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
) {
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = httpRequest(`${server.url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };
const bearer = { authorization: `Bearer ${TOKEN}` };

describe('registry server: bearer token', () => {
  it('401 without the token or with a wrong one, on every route; nothing changes', async () => {
    const server = await serve({ token: TOKEN });
    const body = JSON.stringify(me);
    for (const headers of [
      json,
      { ...json, authorization: 'Bearer wrong' },
      { ...json, authorization: TOKEN },
    ]) {
      const answer = await raw(server, 'POST', '/register', headers, body);
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(answer.body).not.toContain(TOKEN);
    }
    expect((await raw(server, 'GET', '/services')).status).toBe(401);
    expect((await raw(server, 'DELETE', '/services/users/instances/users-1')).status).toBe(401);
    expect(server.registry.services()).toEqual([]);
    expect((await raw(server, 'POST', '/register', { ...json, ...bearer }, body)).status).toBe(201);
  });

  it('HttpRegistry and registerSelf send it; without it they fail with RegistryAccessDeniedError', async () => {
    const server = await serve({ token: TOKEN });
    const registry = client({ url: server.url, token: TOKEN });
    const self = registerSelf(registry, me, { ttlMs: 10_000 });
    cleanup.push(() => self.close());
    await self.ready;
    expect((await registry.resolve('users')).map((i) => i.id)).toEqual(['users-1']);
    const anonymous = client({ url: server.url });
    await expect(anonymous.resolve('users')).rejects.toBeInstanceOf(RegistryAccessDeniedError);
  });

  it('never shows the token (nor the owner key) in errors, events or the registry object', async () => {
    const server = await serve({ token: 'the-server-token' });
    const registry = client({ url: server.url, token: TOKEN, ownerKey: 'owner-key-secret-42' });
    const seen: unknown[] = [];
    const self = registerSelf(registry, me, { ttlMs: 1_000, backoff: { initialMs: 10, maxMs: 20 } });
    cleanup.push(() => self.close());
    self.on('error', (event) => seen.push(event));
    registry.on('error', (event) => seen.push(event));
    registry.on('registryStale', (event) => seen.push(event));
    const stop = registry.watch('users', () => {});
    cleanup.push(async () => stop());
    seen.push(await registry.resolve('users').catch((error: unknown) => error));
    while (seen.length < 6) await new Promise((resolve) => setTimeout(resolve, 20));
    const text = [
      ...seen.map((value) => inspect(value, { depth: 10, showHidden: true })),
      ...seen.map((value) => JSON.stringify(value)),
      inspect(registry, { depth: 10, showHidden: true }),
    ].join('\n');
    expect(text).toContain('HTTP 401');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('owner-key-secret-42');
  });
});

describe('registry server: ownership of instance ids', () => {
  it('a second registrant gets 409 for re-register, heartbeat and deregister; the owner keeps its instance', async () => {
    const server = await serve();
    const owner = client({ url: server.url });
    const intruder = client({ url: server.url });
    await owner.register(me, { ttlMs: 60_000 });
    const hijack = { ...me, host: '10.6.6.6' };
    await expect(intruder.register(hijack)).rejects.toBeInstanceOf(RegistrationConflictError);
    await expect(intruder.heartbeat('users', 'users-1')).rejects.toBeInstanceOf(RegistrationConflictError);
    await expect(intruder.deregister('users', 'users-1')).rejects.toBeInstanceOf(RegistrationConflictError);
    // A raw request without any owner key is another owner too.
    const plain = await raw(server, 'POST', '/register', json, JSON.stringify(hijack));
    expect(plain.status).toBe(409);
    expect((await raw(server, 'DELETE', '/services/users/instances/users-1')).status).toBe(409);
    expect(await server.registry.resolve('users')).toEqual([me]);
    await owner.heartbeat('users', 'users-1'); // the owner's heartbeat still works
    await owner.deregister('users', 'users-1');
    await intruder.register(hijack); // free again: the first registrant now is the intruder
    expect((await server.registry.resolve('users'))[0]?.host).toBe('10.6.6.6');
  });

  it('ownership ends with the registration: after its TTL another owner may take the id', async () => {
    const clock = new (await import('@switchyard/core')).ManualClock();
    const store = new InMemoryRegistry({ clock });
    cleanup.push(() => store.close());
    const server = await serve({ registry: store });
    await client({ url: server.url }).register(me, { ttlMs: 1_000 });
    const next = client({ url: server.url });
    await expect(next.register(me)).rejects.toBeInstanceOf(RegistrationConflictError);
    clock.advance(1_000);
    await next.register(me);
    expect(store.resolveSync('users')).toEqual([me]);
  });

  it('the same ownerKey takes its instance back at once (a restarted process)', async () => {
    const server = await serve();
    await client({ url: server.url, ownerKey: 'users-1-key' }).register(me, { ttlMs: 60_000 });
    const restarted = client({ url: server.url, ownerKey: 'users-1-key' });
    await restarted.register({ ...me, port: 9090 }, { ttlMs: 60_000 });
    expect(server.registry.resolveSync('users')[0]?.port).toBe(9090);
  });
});

describe('registry server: browsers and cross-site requests', () => {
  it('415 for a register body that is not application/json (a cross-site text/plain POST)', async () => {
    const server = await serve();
    const body = JSON.stringify(me);
    expect((await raw(server, 'POST', '/register', { 'content-type': 'text/plain' }, body)).status).toBe(415);
    expect(
      (await raw(server, 'POST', '/register', { 'content-type': 'application/x-www-form-urlencoded' }, body))
        .status,
    ).toBe(415);
    expect((await raw(server, 'POST', '/register', {}, body)).status).toBe(415);
    expect(server.registry.services()).toEqual([]);
    expect(
      (await raw(server, 'POST', '/register', { 'content-type': 'application/json; charset=utf-8' }, body))
        .status,
    ).toBe(201);
  });

  it('403 for a Host header outside the allowlist (DNS rebinding); loopback names pass by default', async () => {
    const server = await serve();
    await server.registry.register(me);
    const refused = await raw(server, 'GET', '/services/users', { host: `attacker.example:${server.port}` });
    expect(refused.status).toBe(403);
    expect(refused.body).not.toContain('users-1');
    for (const host of [
      `127.0.0.1:${server.port}`,
      `localhost:${server.port}`,
      'LOCALHOST',
      `[::1]:${server.port}`,
    ]) {
      expect((await raw(server, 'GET', '/services/users', { host })).status).toBe(200);
    }
  });

  it('allowedHosts replaces the default list', async () => {
    const server = await serve({ allowedHosts: ['registry.internal'] });
    expect((await raw(server, 'GET', '/services', { host: 'registry.internal:4000' })).status).toBe(200);
    expect((await raw(server, 'GET', '/services', { host: 'localhost' })).status).toBe(403);
  });

  it('sends no CORS headers, to a preflight or to a request with an Origin', async () => {
    const server = await serve();
    const origin = { origin: 'https://attacker.example' };
    const preflight = await raw(server, 'OPTIONS', '/register', {
      ...origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    expect(preflight.status).toBeGreaterThanOrEqual(400);
    const get = await raw(server, 'GET', '/services', origin);
    for (const answer of [preflight, get]) {
      expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    }
  });
});

describe('registry over TLS', () => {
  let certs: TestCerts;
  beforeAll(async () => {
    certs = await makeTestCerts();
  }, 60_000);

  it('https server; HttpRegistry trusts it through `ca`', async () => {
    const server = await serve({ tls: { key: certs.serverKey, cert: certs.serverCert } });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const registry = client({ url: server.url, tls: { ca: certs.ca } });
    await registry.register(me);
    expect(await registry.resolve('users')).toEqual([me]);
  });

  it('a server certificate from another CA (or an unknown one) is refused', async () => {
    const server = await serve({ tls: { key: certs.serverKey, cert: certs.serverCert } });
    for (const tls of [{ ca: certs.otherCa }, {}]) {
      const error = await client({ url: server.url, tls, timeoutMs: 5_000 })
        .resolve('users')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryUnavailableError);
    }
    expect(server.registry.services()).toEqual([]);
  });

  it('mTLS: with requestCert a client needs a certificate signed by the CA', async () => {
    const server = await serve({
      tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true },
    });
    const without = client({ url: server.url, tls: { ca: certs.ca }, timeoutMs: 5_000 });
    await expect(without.register(me)).rejects.toBeInstanceOf(RegistryUnavailableError);
    expect(server.registry.services()).toEqual([]);
    const withCert = client({
      url: server.url,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    });
    await withCert.register(me);
    expect(await withCert.resolve('users')).toEqual([me]);
  });

  it('a plain-http client to the https server gets no answer it could read', async () => {
    const server = await serve({ tls: { key: certs.serverKey, cert: certs.serverCert } });
    const socket = (await import('node:net')).connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.end('GET /services HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    await once(socket, 'close');
    expect(text).not.toContain('200 OK');
  });
});
