import { ServiceDiscoveryClient } from '@switchyard/client';
import { NotRetriedError, RetryBudgetExceededError, TimeoutError } from '@switchyard/core';
import { StaticRegistry } from '@switchyard/registry';
import { type Backends, startBackends } from '@switchyard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { answeredBy, total } from './support.ts';

let backends: Backends | undefined;
let client: ServiceDiscoveryClient | undefined;

afterEach(async () => {
  await client?.close();
  await backends?.close();
  client = undefined;
  backends = undefined;
});

const fastRetry = { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 5 } };

describe('surviving failures through the client', () => {
  it('kills 1 of 3 backends during 3,000 idempotent requests: no call fails, the dead one is ejected', async () => {
    backends = await startBackends(3, { service: 'users' });
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      retry: fastRetry,
    });
    const ejected: string[] = [];
    client.on('ejected', (event) => ejected.push(event.instanceId));
    let failed = 0;
    let sent = 0;
    const worker = async () => {
      while (sent < 3_000) {
        if (++sent === 600) await backends!.byId('users-3')!.kill();
        await answeredBy(client!).catch(() => failed++);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(failed).toBe(0);
    expect(ejected).toContain('users-3');
    const counts = backends.counts();
    expect(total(counts)).toBe(3_000);
  });

  it('does not send a POST twice after it reached an instance that dropped the connection, and says why', async () => {
    backends = await startBackends(2, { service: 'users' });
    for (const backend of backends) backend.dropConnection();
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      retry: fastRetry,
    });
    const error = await client.request('users', { method: 'POST', path: '/orders', body: '{"item":1}' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NotRetriedError);
    expect((error as NotRetriedError).message).toMatch(/not retried/);
    expect(total(backends.counts())).toBe(1); // received exactly once, by one backend
  });

  it('retries the same POST elsewhere when the connection was refused (it never reached anyone)', async () => {
    backends = await startBackends(2, { service: 'users' });
    await backends.byId('users-1')!.down();
    await backends.byId('users-2')!.down();
    const instances = backends.instances();
    await backends.byId('users-2')!.up();
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: instances }),
      retry: fastRetry,
    });
    for (let i = 0; i < 6; i++) {
      const res = await client.request('users', { method: 'POST', path: '/orders', body: `{"n":${i}}` });
      expect(((await res.body.json()) as { instance: string }).instance).toBe('users-2');
    }
    expect(backends.counts()).toEqual({ 'users-1': 0, 'users-2': 6 });
  });

  it('absorbs 503s by retrying on another instance', async () => {
    backends = await startBackends(3, { service: 'users' });
    backends.byId('users-1')!.failWith(503, 2);
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      retry: fastRetry,
    });
    for (let i = 0; i < 30; i++) await answeredBy(client);
    expect(total(backends.counts())).toBe(32); // 30 answered + the two 503s
  });

  it('ejects an instance after consecutive failures and restores it after the ejection time', async () => {
    backends = await startBackends(3, { service: 'users' });
    backends.byId('users-2')!.failWith(500);
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      retry: fastRetry,
      // Long enough that 30 requests on a loaded machine finish inside the ejection.
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 3_000, maxEjectionPercent: 50 },
    });
    const events: string[] = [];
    client.on('ejected', (e) => events.push(`ejected ${e.instanceId}`));
    client.on('restored', (e) => events.push(`restored ${e.instanceId}`));
    // 500 is not retryable: the caller sees it, and outlier detection counts it.
    for (let i = 0; i < 30; i++) await client.request('users', { path: '/' }).then((r) => r.body.dump());
    expect(events).toEqual(['ejected users-2']);
    const during = backends.counts()['users-2'];
    for (let i = 0; i < 30; i++) await client.request('users', { path: '/' }).then((r) => r.body.dump());
    expect(backends.counts()['users-2']).toBe(during); // no traffic while ejected
    backends.byId('users-2')!.reset();
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    await expect
      .poll(async () => {
        await client!.request('users', { path: '/' }).then((r) => r.body.dump());
        return events;
      })
      .toContain('restored users-2');
  });

  it('still routes to the only instance while it is ejected, rather than to nothing', async () => {
    backends = await startBackends(1, { service: 'users' });
    backends[0]!.failWith(500, 3);
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 60_000 },
    });
    const ejected: string[] = [];
    client.on('ejected', (e) => ejected.push(e.instanceId));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await client.request('users', { path: '/' });
      statuses.push(res.statusCode);
      await res.body.dump();
    }
    expect(ejected).toEqual(['users-1']);
    expect(statuses).toEqual([500, 500, 500, 200, 200]);
  });

  it('stops a retry storm with the retry budget when every instance fails', async () => {
    backends = await startBackends(3, { service: 'users' });
    for (const backend of backends) backend.failWith(503);
    const ratio = 0.2;
    const floor = 5;
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      retry: { maxAttempts: 5, backoff: { initialMs: 1, maxMs: 2 } },
      retryBudget: { ratio, minRetriesPerSecond: floor / 10, windowMs: 10_000 },
      circuitBreaker: false,
      outlierDetection: false,
    });
    const calls = 200;
    let budgetErrors = 0;
    for (let i = 0; i < calls; i++) {
      await client.request('users', { path: '/' }).catch((error: unknown) => {
        if (error instanceof RetryBudgetExceededError) budgetErrors++;
      });
    }
    const attempts = total(backends.counts());
    expect(attempts).toBeLessThanOrEqual(calls * (1 + ratio) + floor);
    expect(budgetErrors).toBeGreaterThan(0);
  });

  it('aborts the function through its signal when the deadline passes', async () => {
    backends = await startBackends(1, { service: 'users' });
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      deadlineMs: 100,
    });
    let sawAbort = false;
    const error = await client
      .callService('users', (_instance, { signal }) => {
        return new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(signal.reason);
          });
        });
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(TimeoutError);
    expect(sawAbort).toBe(true);
  });

  it('marks a backend down and up again through active health checks, with thresholds', async () => {
    backends = await startBackends(3, { service: 'users' });
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      healthCheck: {
        type: 'http',
        path: '/health',
        intervalMs: 40,
        unhealthyThreshold: 2,
        healthyThreshold: 2,
      },
      panicThresholdPercent: 0,
    });
    const events: string[] = [];
    client.on('unhealthy', (e) => events.push(`unhealthy ${e.instanceId}`));
    client.on('healthy', (e) => events.push(`healthy ${e.instanceId}`));
    expect(await client.getInstances('users')).toHaveLength(3);
    backends.byId('users-1')!.setHealth(false);
    await expect.poll(() => events, { timeout: 10_000 }).toContain('unhealthy users-1');
    expect((await client.getInstances('users')).map((i) => i.id)).toEqual(['users-2', 'users-3']);
    for (let i = 0; i < 10; i++) expect(await answeredBy(client)).not.toBe('users-1');
    backends.byId('users-1')!.setHealth(true);
    await expect.poll(() => events, { timeout: 10_000 }).toContain('healthy users-1');
    expect(await client.getInstances('users')).toHaveLength(3);
  });

  it('routes across all instances in panic mode when most are unhealthy', async () => {
    backends = await startBackends(4, { service: 'users' });
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      healthCheck: { type: 'http', path: '/health', intervalMs: 40, unhealthyThreshold: 1 },
      panicThresholdPercent: 50,
    });
    const panics: number[] = [];
    client.on('panic', (e) => panics.push(e.healthy));
    await client.getInstances('users');
    for (const id of ['users-1', 'users-2', 'users-3']) backends.byId(id)!.setHealth(false);
    await expect.poll(() => panics, { timeout: 10_000 }).not.toHaveLength(0);
    expect(await client.getInstances('users')).toHaveLength(4);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(await answeredBy(client));
    expect(seen.size).toBe(4);
  });
});

describe('discovery and health together', () => {
  it('keeps an instance that left discovery while its checks pass, until a check fails (Envoy)', async () => {
    const { InMemoryRegistry } = await import('@switchyard/registry');
    backends = await startBackends(2, { service: 'users' });
    const registry = new InMemoryRegistry();
    for (const instance of backends.instances()) await registry.register(instance);
    client = new ServiceDiscoveryClient({
      registry,
      healthCheck: {
        type: 'http',
        path: '/health',
        intervalMs: 40,
        unhealthyThreshold: 1,
        healthyThreshold: 1,
      },
      panicThresholdPercent: 0,
    });
    const healthy: string[] = [];
    client.on('healthy', (e) => healthy.push(e.instanceId));
    await client.getInstances('users');
    await expect.poll(() => healthy.length, { timeout: 10_000 }).toBe(2);

    await registry.deregister('users', 'users-1'); // discovery drops it; it still passes checks
    expect((await client.getInstances('users')).map((i) => i.id)).toEqual(['users-1', 'users-2']);
    backends.byId('users-1')!.setHealth(false); // now it fails one: it goes
    await expect
      .poll(async () => (await client!.getInstances('users')).map((i) => i.id), { timeout: 10_000 })
      .toEqual(['users-2']);
    await registry.close();
  });
});
