import { roundRobin } from '@switchyard/balancers';
import { HttpStatusError } from '@switchyard/client';
import { NotRetriedError, originOf, RegistryUnavailableError } from '@switchyard/core';
import { setupServer } from 'msw/node';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestClient, type TestClient } from './create-test-client.ts';
import { type Backends, startBackends } from './start-backends.ts';

const server = setupServer();
let backends: Backends;
let kit: TestClient | undefined;

beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' });
  backends = await startBackends(3, { service: 'users' });
});
afterEach(async () => {
  await kit?.close();
  kit = undefined;
  backends.reset();
  backends.clearLogs();
  for (const backend of backends) await backend.up();
  server.resetHandlers();
});
afterAll(async () => {
  server.close();
  await backends.close();
});

function start(options: Parameters<typeof createTestClient>[0] = {}) {
  kit = createTestClient({ services: { users: backends.instances() }, balancer: roundRobin(), ...options });
  server.use(...kit.handlers);
  return kit;
}

async function get(client: TestClient['client'], path = '/users/42') {
  const res = await client.request('users', { method: 'GET', path });
  const body = (await res.body.json()) as { instance: string };
  return { status: res.statusCode, instance: body.instance };
}

describe('createTestClient with real backends', () => {
  it('balances over the mocked registry’s instances: 30 calls → exactly 10 each', async () => {
    const { client } = start();
    for (let i = 0; i < 30; i++) expect((await get(client)).status).toBe(200);
    expect(backends.counts()).toEqual({ 'users-1': 10, 'users-2': 10, 'users-3': 10 });
  });

  it('failNext(2, { status: 503 }) on the registry is absorbed: the first call still succeeds', async () => {
    const { client, registry } = start();
    registry.failNext(2, { status: 503 });
    expect((await get(client)).status).toBe(200);
    const statuses = registry.requests().map((r) => r.fault?.status ?? 200);
    expect(statuses.filter((s) => s === 503)).toHaveLength(2);
    expect(statuses).toContain(200);
  });

  it('a lasting registry outage surfaces as RegistryUnavailableError', async () => {
    const { client, registry } = start({ registryRetries: 1 });
    registry.failNext(Number.POSITIVE_INFINITY, { status: 503 }); // down until reset()
    await expect(get(client)).rejects.toBeInstanceOf(RegistryUnavailableError);
  });

  it('setInstances → the next calls go to the new instance', async () => {
    const { client, registry } = start();
    await get(client);
    const changed = new Promise<void>((resolve) => {
      client.on('instancesChanged', ({ instances }) => {
        if (instances.length === 1) resolve();
      });
    });
    registry.setInstances('users', [backends[2]!.instance]);
    await changed;
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add((await get(client)).instance);
    expect([...answers]).toEqual(['users-3']);
  });

  it('backend failWith(503, 1) is retried on another instance', async () => {
    const { client } = start();
    backends[0]!.failWith(503, 1);
    for (let i = 0; i < 6; i++) expect((await get(client)).status).toBe(200);
    expect(backends[0]!.requests).toBeGreaterThanOrEqual(1);
    expect(backends.list.reduce((sum, b) => sum + b.requests, 0)).toBe(7);
  });

  it('a backend that goes down costs no failed call', async () => {
    const { client } = start();
    await get(client);
    await backends[1]!.down();
    for (let i = 0; i < 12; i++) expect((await get(client)).status).toBe(200);
    expect(backends[1]!.requests).toBeLessThanOrEqual(1);
  });

  it('an idempotent call whose answer is reset mid-body is retried on another instance', async () => {
    const { client } = start();
    const faulty = backends[1]!;
    faulty.resetMidBody();
    // The body is read inside the attempt, so a reset while reading it fails the attempt.
    for (let i = 0; i < 6; i++) {
      const text = await client.callService(
        'users',
        async (instance, { signal }) => {
          const res = await request(`${originOf(instance)}/x`, { signal });
          return res.body.text();
        },
        { idempotent: true },
      );
      expect(JSON.parse(text)).toMatchObject({ path: '/x' });
    }
    // Round robin reaches the faulty instance; each of its answers broke and was retried elsewhere.
    expect(faulty.requests).toBeGreaterThanOrEqual(1);
    expect(backends.list.reduce((sum, b) => sum + b.requests, 0)).toBe(6 + faulty.requests);
  });

  it('a POST whose connection is dropped after it was received is not sent again', async () => {
    const { client } = start();
    for (const backend of backends) backend.dropConnection(1);
    await expect(
      client.request('users', { method: 'POST', path: '/orders', body: '{}' }),
    ).rejects.toBeInstanceOf(NotRetriedError);
    expect(backends.list.reduce((sum, b) => sum + b.requests, 0)).toBe(1);
  });

  it('a hanging backend is cut off by the attempt timeout and the call moves on', async () => {
    const { client } = start({ timeoutMs: 1_000 });
    backends[0]!.hang();
    for (let i = 0; i < 4; i++) expect((await get(client)).instance).not.toBe('users-1');
  });

  it('setHealth(false) takes an instance out through the client’s active health checks, true brings it back', async () => {
    const { client } = start({
      healthCheck: {
        type: 'http',
        path: '/health',
        intervalMs: 30,
        healthyThreshold: 1,
        unhealthyThreshold: 1,
      },
      // Three instances, one unhealthy: stay out of Envoy's panic mode.
      panicThresholdPercent: 10,
    });
    await get(client);
    const verdict = (event: 'unhealthy' | 'healthy') =>
      new Promise<void>((resolve) => {
        const off = client.on(event, ({ instanceId }) => {
          if (instanceId === 'users-1') {
            off();
            resolve();
          }
        });
      });
    const down = verdict('unhealthy');
    backends[0]!.setHealth(false);
    await down;
    for (let i = 0; i < 6; i++) expect((await get(client)).instance).not.toBe('users-1');
    const up = verdict('healthy');
    backends[0]!.setHealth(true);
    await up;
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await get(client)).instance);
    expect(seen.has('users-1')).toBe(true);
  });

  it('a POST answered 503 is not sent again: NotRetriedError with the 503 as its cause', async () => {
    const { client } = start();
    for (const backend of backends) backend.failWith(503);
    const error = await client
      .request('users', { method: 'POST', path: '/users', body: '{}' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotRetriedError);
    expect((error as NotRetriedError).cause).toBeInstanceOf(HttpStatusError);
    expect(backends.list.reduce((sum, b) => sum + b.requests, 0)).toBe(1);
  });
});
