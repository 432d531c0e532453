import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  type ServiceDiscoveryClient as Client,
  ServiceDiscoveryClient,
  type ServiceDiscoveryClientOptions,
  TlsVerificationError,
} from '@switchyard/client';
import type { ServiceInstance } from '@switchyard/core';
import { StaticRegistry } from '@switchyard/registry';
import { afterEach, describe, expect, it } from 'vitest';

// Throwaway certificates (test/fixtures/tls/README.md): server.crt is for localhost, users,
// users.default.svc, 127.0.0.1 and ::1, signed by ca.crt; other-ca.crt signed nothing here.
const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));
const ca = fixture('ca.crt');
const otherCa = fixture('other-ca.crt');
const clientCert = fixture('client.crt');
const clientKey = fixture('client.key');

interface TlsBackend {
  readonly server: Server;
  readonly port: number;
  /** What each handled request saw: the SNI name and the client certificate's CN. */
  readonly seen: { servername: string | false | null; clientCn: string | undefined }[];
  /** TCP connections accepted. */
  connections: number;
}

const servers: Server[] = [];
let clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function httpsBackend(options: { requireClientCert?: boolean } = {}): Promise<TlsBackend> {
  const seen: TlsBackend['seen'] = [];
  const server = createServer(
    {
      key: fixture('server.key'),
      cert: fixture('server.crt'),
      ca,
      requestCert: options.requireClientCert ?? false,
      rejectUnauthorized: options.requireClientCert ?? false,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      seen.push({ servername: socket.servername, clientCn: peer?.subject?.CN as string | undefined });
      res.end('ok');
    },
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const backend: TlsBackend = { server, port: (server.address() as AddressInfo).port, seen, connections: 0 };
  server.on('connection', () => backend.connections++);
  return backend;
}

const secure = (service: string, port: number, id = `${service}-1`): ServiceInstance => ({
  id,
  service,
  host: '127.0.0.1',
  port,
  secure: true,
});

function clientOf(
  instances: Record<string, ServiceInstance[]>,
  options: Omit<ServiceDiscoveryClientOptions, 'registry'>,
): Client {
  const client = new ServiceDiscoveryClient({ registry: new StaticRegistry(instances), ...options });
  clients.push(client);
  return client;
}

async function text(client: Client, service: string, headers?: Record<string, string>): Promise<string> {
  const res = await client.request(service, { path: '/', headers });
  return res.body.text();
}

describe('TLS to instances', () => {
  it('verifies an https instance with tls.ca, against the service name by default (SNI "users")', async () => {
    const backend = await httpsBackend();
    const client = clientOf({ users: [secure('users', backend.port)] }, { tls: { ca } });
    expect(await text(client, 'users')).toBe('ok');
    expect(backend.seen).toEqual([{ servername: 'users', clientCn: undefined }]);
  });

  it('a Host header does not change the name verified', async () => {
    const backend = await httpsBackend();
    const client = clientOf({ users: [secure('users', backend.port)] }, { tls: { ca } });
    // undici would take the name from Host (not in the certificate) if the client did not pin it.
    expect(await text(client, 'users', { host: 'orders.example' })).toBe('ok');
    expect(backend.seen[0]?.servername).toBe('users');
  });

  it('servername: false checks the instance host (127.0.0.1) instead; a fixed name is used as given', async () => {
    const backend = await httpsBackend();
    const client = clientOf(
      { carts: [secure('carts', backend.port)], kube: [secure('kube', backend.port)] },
      {
        tls: { ca, servername: false },
        services: { kube: { tls: { ca, servername: 'kubernetes.default.svc' } } },
      },
    );
    // "carts" is not in the certificate: only the host check lets it through.
    expect(await text(client, 'carts')).toBe('ok');
    expect(await text(client, 'kube')).toBe('ok');
    expect(backend.seen.map((s) => s.servername)).toEqual([false, 'kubernetes.default.svc']);
  });

  it('mTLS: an instance that requires a client certificate answers with tls.cert/key, refuses without', async () => {
    const backend = await httpsBackend({ requireClientCert: true });
    const withCert = clientOf(
      { users: [secure('users', backend.port)] },
      { tls: { ca, cert: clientCert, key: clientKey } },
    );
    expect(await text(withCert, 'users')).toBe('ok');
    expect(backend.seen[0]?.clientCn).toBeTypeOf('string');

    const without = clientOf({ users: [secure('users', backend.port)] }, { tls: { ca }, retry: false });
    await expect(text(without, 'users')).rejects.toThrow();
    expect(backend.seen).toHaveLength(1); // the request without a certificate never got in
  });

  it('a certificate from another CA fails with TlsVerificationError: thrown at once, not retried, not counted against the instance', async () => {
    const backend = await httpsBackend();
    const client = clientOf(
      { users: [secure('users', backend.port, 'users-1'), secure('users', backend.port, 'users-2')] },
      { tls: { ca: otherCa } },
    );
    const opened: unknown[] = [];
    client.on('breakerOpen', (event) => opened.push(event));
    client.on('ejected', (event) => opened.push(event));
    for (let i = 0; i < 7; i++) {
      const error = await text(client, 'users').catch((e: unknown) => e);
      // Still TLS after more failures than the breaker's 5: no breaker opened to hide the cause.
      expect(error).toBeInstanceOf(TlsVerificationError);
      const tls = error as TlsVerificationError;
      expect(tls.servername).toBe('users');
      expect(tls.instanceId).toMatch(/^users-[12]$/);
      expect(tls.message).toMatch(/users: instance users-[12] \(127\.0\.0\.1:\d+\) failed TLS verification/);
      expect(tls.message).toContain(tls.code);
      expect((tls.cause as { code?: string }).code).toBe(tls.code);
    }
    const stats = client.stats().users!;
    expect(stats.attempts).toBe(7);
    expect(stats.retries).toBe(0);
    expect(opened).toEqual([]);
    expect(backend.seen).toEqual([]);
  });

  it('a name the certificate does not hold fails with TlsVerificationError (ERR_TLS_CERT_ALTNAME_INVALID)', async () => {
    const backend = await httpsBackend();
    const client = clientOf({ orders: [secure('orders', backend.port)] }, { tls: { ca } });
    const error = await text(client, 'orders').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TlsVerificationError);
    expect((error as TlsVerificationError).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect((error as TlsVerificationError).message).toContain('"orders"');
  });

  it('rejectUnauthorized: false accepts a certificate no CA vouches for', async () => {
    const backend = await httpsBackend();
    const client = clientOf(
      { users: [secure('users', backend.port)] },
      { tls: { ca: otherCa, rejectUnauthorized: false } },
    );
    expect(await text(client, 'users')).toBe('ok');
  });

  it('a service override replaces the client-wide tls; services with different CAs to one host:port never share a pool', async () => {
    const backend = await httpsBackend();
    const client = clientOf(
      { users: [secure('users', backend.port)], mirror: [secure('mirror', backend.port)] },
      {
        tls: { ca: otherCa, servername: 'users' },
        services: { users: { tls: { ca } } },
      },
    );
    // users: its own CA, verified. mirror: same host:port and the same name, but the client-wide
    // (wrong) CA. Sharing users' open keep-alive connection would let it through unverified.
    expect(await text(client, 'users')).toBe('ok');
    await expect(text(client, 'mirror')).rejects.toBeInstanceOf(TlsVerificationError);
    expect(await text(client, 'users')).toBe('ok');
    expect(backend.seen).toHaveLength(2);
  });

  it('plain http instances are not affected by tls', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    const server = createHttpServer((_req, res) => res.end('plain'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const client = clientOf(
        { users: [{ id: 'users-1', service: 'users', host: '127.0.0.1', port }] },
        { tls: { ca } },
      );
      expect(await text(client, 'users')).toBe('plain');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      clients = [];
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
