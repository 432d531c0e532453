import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { RegistryUnavailableError } from '@switchyard/core';
import { readyEndpoint as endpoint, endpointSlice as slice } from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesRegistry } from './kubernetes-registry.ts';

const TLS = join(import.meta.dirname, '../../../../test/fixtures/tls');
const read = (name: string) => readFileSync(join(TLS, name), 'utf8');

/** A real HTTPS API server on loopback answering the EndpointSlice list, for the TLS path. */
describe('KubernetesRegistry over real TLS', () => {
  let server: Server;
  let url: string;
  const seen: { authorization: string | undefined; clientCert: boolean }[] = [];

  beforeAll(async () => {
    server = createServer(
      {
        key: read('server.key'),
        cert: read('server.crt'),
        ca: read('ca.crt'),
        requestCert: true,
        rejectUnauthorized: false,
      },
      (request, response) => {
        const socket = request.socket as import('node:tls').TLSSocket;
        seen.push({ authorization: request.headers.authorization, clientCert: socket.authorized });
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({
            kind: 'EndpointSliceList',
            metadata: { resourceVersion: '7' },
            items: [slice('users-1', [endpoint('a', '10.0.0.1')])],
          }),
        );
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
  });

  it('verifies the API server against the cluster CA from caFile, and sends the token', async () => {
    const registry = new KubernetesRegistry({ url, caFile: join(TLS, 'ca.crt'), token: 'tls-token' });
    try {
      const instances = await registry.resolve('users');
      expect(instances.map((i) => i.id)).toEqual(['a']);
      expect(seen.at(-1)?.authorization).toBe('Bearer tls-token');
    } finally {
      await registry.close();
    }
  });

  it('presents a client certificate (kubeconfig-style mTLS)', async () => {
    const registry = new KubernetesRegistry({
      url,
      ca: read('ca.crt'),
      cert: read('client.crt'),
      key: read('client.key'),
    });
    try {
      await registry.resolve('users');
      expect(seen.at(-1)?.clientCert).toBe(true);
    } finally {
      await registry.close();
    }
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const registry = new KubernetesRegistry({ url, ca: read('other-ca.crt'), token: 'tls-token' });
    try {
      const error = await registry.resolve('users').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryUnavailableError);
      expect(String((error as Error).message)).not.toContain('tls-token');
    } finally {
      await registry.close();
    }
  });
});
