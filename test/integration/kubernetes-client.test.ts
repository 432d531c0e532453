import { ServiceDiscoveryClient } from '@switchyard/client';
import { KubernetesRegistry } from '@switchyard/registry-kubernetes';
import {
  type Backends,
  readyEndpoint as endpoint,
  mockKubernetes,
  endpointSlice as slice,
  startBackends,
} from '@switchyard/testing';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeredBy } from './support.ts';

const API = 'http://kube-e2e.test:6443';
const api = mockKubernetes({ url: API });
// Only the API server is mocked: the backends are real servers on loopback.
const server = setupServer(...api.handlers);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('EndpointSlices drive a live client over real backends', () => {
  let backends: Backends;
  let client: ServiceDiscoveryClient;
  let registry: KubernetesRegistry;

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'bypass' });
    backends = await startBackends(3, { service: 'users' });
    registry = new KubernetesRegistry({
      url: API,
      token: 't',
      port: 'http',
      minBackoffMs: 10,
      maxBackoffMs: 50,
    });
    client = new ServiceDiscoveryClient({ registry });
  });
  afterAll(async () => {
    await client.close();
    await registry.close();
    await backends.close();
    server.close();
  });

  const asEndpoint = (index: number, extra: Record<string, unknown> = {}) =>
    endpoint(`users-${index + 1}`, '127.0.0.1', extra);
  const ports = (index: number) => [{ name: 'http', port: backends[index]?.port as number, protocol: 'TCP' }];

  it('spreads over the pods, drains a terminating one and picks up a new one', async () => {
    // One slice per pod, since each test backend listens on its own port.
    api.apply('users', slice('users-a', [asEndpoint(0)], { ports: ports(0) }));
    api.apply('users', slice('users-b', [asEndpoint(1)], { ports: ports(1) }));
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await answeredBy(client));
    expect([...seen].sort()).toEqual(['users-1', 'users-2']);

    // users-2 starts terminating: no new calls once the watch delivers it.
    api.apply(
      'users',
      slice('users-b', [asEndpoint(1, { conditions: { ready: false, serving: true, terminating: true } })], {
        ports: ports(1),
      }),
    );
    const routable = async () =>
      (await client.getInstances('users'))
        .map((i) => i.id)
        .sort()
        .join();
    await waitFor('only users-1 routable', async () => (await routable()) === 'users-1');
    const after = new Set<string>();
    for (let i = 0; i < 20; i++) after.add(await answeredBy(client));
    expect([...after]).toEqual(['users-1']);

    // A new pod appears in a new slice.
    api.apply('users', slice('users-c', [asEndpoint(2)], { ports: ports(2) }));
    await waitFor('users-3 routable', async () => (await routable()) === 'users-1,users-3');
    const third = new Set<string>();
    for (let i = 0; i < 20; i++) third.add(await answeredBy(client));
    expect(third.has('users-3')).toBe(true);
    expect(third.has('users-2')).toBe(false);
  });
});
