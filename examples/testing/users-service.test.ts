// A test file to copy: your service (./profile-service.ts) tested with a mocked registry (msw)
// and real loopback backends standing in for the `users` instances, with scripted failures.
import { NoAvailableInstanceError } from '@switchyard/core';
import { type Backends, createTestClient, startBackends, type TestClient } from '@switchyard/testing';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadProfile } from './profile-service.ts';

// One msw server per file. The kit returns handlers; the test owns the server's lifecycle.
const server = setupServer();
let users: Backends;
let kit: TestClient;

beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' }); // any request nobody mocked fails the test
  // Three instances of `users`, each a real HTTP server on 127.0.0.1 answering like the real service.
  users = await startBackends(3, {
    service: 'users',
    handler: (req, res, backend) => {
      const id = req.url?.split('/').pop() ?? '';
      res.writeHead(id === 'ghost' ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, name: `user ${id}`, instance: backend.id }));
    },
  });
});

beforeEach(() => {
  // A client wired to a mocked registry that lists the three instances.
  kit = createTestClient({ services: { users: users.instances() } });
  server.use(...kit.handlers);
});

afterEach(async () => {
  await kit.close();
  server.resetHandlers();
  users.reset(); // clear scripted faults between tests
  users.clearLogs(); // and the request counts
});

afterAll(async () => {
  server.close();
  await users.close();
});

describe('loadProfile', () => {
  it('builds the profile from the users service', async () => {
    const profile = await loadProfile(kit.client, '42');
    expect(profile).toMatchObject({ id: '42', displayName: 'USER 42' });
  });

  it('survives instances answering 503 (the client retries on another instance)', async () => {
    users[0]!.failWith(503); // users-1 and users-2 answer 503 until reset()
    users[1]!.failWith(503);
    for (let i = 0; i < 3; i++) expect((await loadProfile(kit.client, '7')).servedBy).toBe('users-3');
    // Round robin did try them; each 503 was retried elsewhere.
    expect(users[0]!.requests + users[1]!.requests).toBeGreaterThan(0);
  });

  it('survives an instance that is down', async () => {
    await users[0]!.down();
    try {
      for (let i = 0; i < 6; i++)
        expect((await loadProfile(kit.client, String(i))).servedBy).not.toBe('users-1');
    } finally {
      await users[0]!.up();
    }
  });

  it('survives a registry blip (a transient 503 from the registry is retried)', async () => {
    kit.registry.failNext(2, { status: 503 });
    expect((await loadProfile(kit.client, '9')).id).toBe('9');
  });

  it('follows the registry: setInstances moves the traffic', async () => {
    await loadProfile(kit.client, '1'); // the client now watches the registry
    const moved = new Promise<void>((resolve) => {
      kit.client.on('instancesChanged', ({ instances }) => {
        if (instances.length === 1) resolve();
      });
    });
    kit.registry.setInstances('users', [users[2]!.instance]);
    await moved;
    expect((await loadProfile(kit.client, '1')).servedBy).toBe('users-3');
  });

  it('reports "no instance" when the service has none', async () => {
    kit.registry.setInstances('users', []);
    await expect(loadProfile(kit.client, '1')).rejects.toBeInstanceOf(NoAvailableInstanceError);
  });

  it('passes a 404 through as "no user"', async () => {
    await expect(loadProfile(kit.client, 'ghost')).rejects.toThrow('no user ghost');
  });
});
