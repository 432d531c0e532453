import { ServiceDiscoveryClient } from '@switchyard/client';
import type { RegistryEvents } from '@switchyard/core';
import { ConsulRegistry } from '@switchyard/registry-consul';
import { mockConsul } from '@switchyard/testing';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

const URL_ = 'http://consul-events.test:8500';
const good = [
  { id: 'users-1', host: '10.0.0.1', port: 8080 },
  { id: 'users-2', host: '10.0.0.2', port: 8081 },
];
const consul = mockConsul({ url: URL_ });
const server = setupServer(...consul.handlers);
// Polls without a time assertion: only a bound for a slow machine.
const eventually = { timeout: 10_000, interval: 20 };

let client: ServiceDiscoveryClient | undefined;

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(async () => {
  await client?.close();
  client = undefined;
  server.resetHandlers();
  consul.reset();
});
afterAll(() => {
  consul.close();
  server.close();
});

/** Core's payload; the Consul adapter adds the entry's `index` and `id`, which the client passes on. */
type InvalidInstance = RegistryEvents['invalidInstance'] & { readonly id?: string; readonly index?: number };

function start(): { client: ServiceDiscoveryClient; invalid: InvalidInstance[] } {
  // Short blocking queries, so that close() never waits on a long one.
  const registry = new ConsulRegistry({ url: URL_, waitMs: 1_000 });
  client = new ServiceDiscoveryClient({ registry, outlierDetection: false });
  const invalid: InvalidInstance[] = [];
  client.on('invalidInstance', (event) => invalid.push(event as InvalidInstance));
  return { client, invalid };
}

const ids = (list: readonly { id: string }[]) => list.map((i) => i.id).sort();

describe('registry events through ServiceDiscoveryClient (Consul adapter)', () => {
  it('a malformed Consul entry reaches the client as invalidInstance; the good ones are served', async () => {
    // Tried: an entry with port 0, which breaks the instance contract.
    consul.setInstances('users', [...good, { id: 'broken', host: '10.0.0.9', port: 0 }]);
    const { client, invalid } = start();

    expect(ids(await client.getInstances('users'))).toEqual(['node-1:users-1', 'node-1:users-2']);
    await vi.waitFor(() => expect(invalid.length).toBeGreaterThan(0), eventually);
    for (const event of invalid) {
      expect(event).toMatchObject({ service: 'users', id: 'broken', reason: expect.stringMatching(/port/) });
      expect(event.entry).toMatchObject({ Service: { ID: 'broken', Port: 0 } });
    }
  });

  it('an entry that turns malformed during a watch is reported, and the rest keeps serving', async () => {
    consul.setInstances('users', good);
    const { client, invalid } = start();
    expect(ids(await client.getInstances('users'))).toEqual(['node-1:users-1', 'node-1:users-2']);
    expect(invalid).toEqual([]);

    // Tried: a new entry with weight 0 (an instance's weight must be > 0).
    const zero = { id: 'zero-weight', host: '10.0.0.9', port: 9000, weights: { Passing: 0, Warning: 1 } };
    consul.setInstances('users', [...good, zero]);
    await vi.waitFor(() => expect(invalid.map((e) => e.id)).toContain('zero-weight'), eventually);
    expect(invalid.every((e) => e.service === 'users' && typeof e.reason === 'string')).toBe(true);
    expect(ids(await client.getInstances('users'))).toEqual(['node-1:users-1', 'node-1:users-2']);
  });
});
