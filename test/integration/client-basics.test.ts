import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { roundRobin } from '@switchyard/balancers';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { NoAvailableInstanceError, ServiceNotFoundError, ValidationError } from '@switchyard/core';
import { InMemoryRegistry, StaticRegistry } from '@switchyard/registry';
import { type Backends, startBackends } from '@switchyard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { answeredBy } from './support.ts';

let backends: Backends | undefined;
let client: ServiceDiscoveryClient | undefined;

afterEach(async () => {
  await client?.close();
  await backends?.close();
  client = undefined;
  backends = undefined;
});

describe('ServiceDiscoveryClient over real backends', () => {
  it('spreads 300 requests exactly 100/100/100 with round robin', async () => {
    backends = await startBackends(3, { service: 'users' });
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      balancer: roundRobin(),
    });
    for (let i = 0; i < 300; i++) await answeredBy(client);
    expect(backends.counts()).toEqual({ 'users-1': 100, 'users-2': 100, 'users-3': 100 });
  });

  it('loses no request when one backend dies under concurrent traffic', async () => {
    backends = await startBackends(3, { service: 'users' });
    client = new ServiceDiscoveryClient({ registry: new StaticRegistry({ users: backends.instances() }) });
    let failed = 0;
    let sent = 0;
    const worker = async () => {
      while (sent < 600) {
        if (++sent === 200) await backends!.byId('users-2')!.kill();
        await answeredBy(client!).catch(() => failed++);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(failed).toBe(0);
    const counts = backends.counts();
    expect(counts['users-1']! + counts['users-2']! + counts['users-3']!).toBe(600);
    expect(counts['users-2']).toBeLessThan(120);
  });

  it('follows registry changes through watch: a new instance takes traffic, a removed one stops', async () => {
    backends = await startBackends(2, { service: 'users' });
    const [one, two] = backends.instances();
    const registry = new InMemoryRegistry();
    await registry.register(one!);
    client = new ServiceDiscoveryClient({ registry });
    expect(await answeredBy(client)).toBe('users-1');
    await registry.register(two!);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await answeredBy(client));
    expect(seen).toEqual(new Set(['users-1', 'users-2']));
    await registry.deregister('users', 'users-1');
    for (let i = 0; i < 4; i++) expect(await answeredBy(client)).toBe('users-2');
    await registry.close();
  });

  it('raises NoAvailableInstanceError for a service with no instances and ServiceNotFoundError for an unknown one', async () => {
    client = new ServiceDiscoveryClient({ registry: new StaticRegistry({ users: [] }) });
    await expect(client.request('users', { path: '/' })).rejects.toBeInstanceOf(NoAvailableInstanceError);
    await expect(client.request('orders', { path: '/' })).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  it('rejects bad input with a ValidationError before sending anything', async () => {
    backends = await startBackends(1, { service: 'users' });
    client = new ServiceDiscoveryClient({ registry: new StaticRegistry({ users: backends.instances() }) });
    // a path without the leading slash
    await expect(client.request('users', { path: 'users/1' })).rejects.toMatchObject({ field: 'path' });
    // a service name with a slash in it
    await expect(client.request('users/1', { path: '/' })).rejects.toBeInstanceOf(ValidationError);
    // a streaming body could not be sent again on retry
    const stream = new ReadableStream() as unknown as string;
    await expect(client.request('users', { method: 'POST', path: '/', body: stream })).rejects.toMatchObject({
      field: 'body',
    });
    // bad client options
    expect(() => new ServiceDiscoveryClient({ registry: {} as never })).toThrow(ValidationError);
    expect(
      () =>
        new ServiceDiscoveryClient({
          registry: new StaticRegistry({}),
          services: { users: { timeoutMs: -1 } },
        }),
    ).toThrow(/services\.users\.timeoutMs/);
    // options owned by the executor and the health package are checked when the client is built
    const bad = (services: Record<string, object>) => () =>
      new ServiceDiscoveryClient({ registry: new StaticRegistry({}), services });
    expect(bad({ users: { retry: { maxAttempts: 0 } } })).toThrow(ValidationError);
    expect(bad({ users: { outlierDetection: { maxEjectionPercent: 150 } } })).toThrow(
      /services\.users\.outlierDetection\.maxEjectionPercent/,
    );
    expect(bad({ users: { healthCheck: { type: 'udp' } } })).toThrow(ValidationError);
    expect(backends.counts()['users-1']).toBe(0);
  });

  it('lets a caller abort a call: the function sees the abort and nothing is retried', async () => {
    backends = await startBackends(2, { service: 'users' });
    for (const backend of backends) backend.hang();
    client = new ServiceDiscoveryClient({ registry: new StaticRegistry({ users: backends.instances() }) });
    const controller = new AbortController();
    const pending = client.request('users', { path: '/slow', signal: controller.signal });
    await expect.poll(() => backends!.counts()['users-1']! + backends!.counts()['users-2']!).toBe(1);
    controller.abort(new Error('caller gave up'));
    await expect(pending).rejects.toThrow('caller gave up');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(backends.counts()['users-1']! + backends.counts()['users-2']!).toBe(1);
  });

  it('keeps serving the last snapshot through a registry outage and reports it', async () => {
    const { createRegistryServer, HttpRegistry } = await import('@switchyard/registry');
    backends = await startBackends(2, { service: 'users' });
    let server = await createRegistryServer({ port: 0 });
    const port = server.port;
    for (const instance of backends.instances()) await server.registry.register(instance);
    const registry = new HttpRegistry({
      url: server.url,
      watchWaitMs: 200,
      backoff: { initialMs: 20, maxMs: 100 },
    });
    client = new ServiceDiscoveryClient({ registry });
    const events: string[] = [];
    client.on('registryStale', (e) => events.push(`stale ${e.service}`));
    client.on('registryRecovered', (e) => events.push(`recovered ${e.service}`));
    expect(await client.getInstances('users')).toHaveLength(2);

    await server.close(); // the registry dies
    await expect.poll(() => events, { timeout: 10_000 }).toContain('stale users');
    for (let i = 0; i < 10; i++) await answeredBy(client); // the last snapshot keeps serving
    expect(await client.getInstances('users')).toHaveLength(2);

    server = await createRegistryServer({ port }); // it comes back, empty at first
    await server.registry.register(backends.instances()[0]!);
    await expect.poll(() => events, { timeout: 10_000 }).toContain('recovered users');
    await expect
      .poll(async () => (await client!.getInstances('users')).map((i) => i.id))
      .toEqual(['users-1']);
    await client.close();
    await registry.close();
    await server.close();
  });

  it('close() leaves nothing running: a process that uses the client exits on its own', async () => {
    const script = fileURLToPath(new URL('./fixtures/exit-after-close.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    // Generous: starting tsx in a child on a loaded 2-core machine alone can take seconds.
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(timer);
    expect(signal).toBeNull(); // not killed by the guard: it exited by itself
    expect(code).toBe(0);
    expect(output).toContain('answered by users-');
  }, 60_000);
});
