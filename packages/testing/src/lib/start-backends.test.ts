import { ValidationError } from '@switchyard/core';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startBackends } from './start-backends.ts';

const agent = new Agent({ keepAliveTimeout: 1_000 });
afterAll(() => agent.close());

describe('startBackends', () => {
  it('starts n servers on loopback with validated instances named after the service', async () => {
    const backends = await startBackends(3, { service: 'users', instance: (i) => ({ zone: `z${i}` }) });
    try {
      expect(backends).toHaveLength(3);
      expect(backends.list).toEqual([...backends]);
      expect(backends.instances()).toEqual(
        backends.map((b, i) => ({
          id: `users-${i + 1}`,
          service: 'users',
          host: '127.0.0.1',
          port: b.port,
          zone: `z${i}`,
        })),
      );
      expect(new Set(backends.map((b) => b.port)).size).toBe(3);
      expect(Object.isFrozen(backends[0]!.instance)).toBe(true);
      expect(backends.byId('users-2')).toBe(backends[1]);
      for (let i = 0; i < 6; i++) {
        const res = await request(`${backends[i % 3]!.url}/x`, { dispatcher: agent });
        await res.body.dump();
      }
      expect(backends.counts()).toEqual({ 'users-1': 2, 'users-2': 2, 'users-3': 2 });
      backends.clearLogs();
      expect(backends.counts()).toEqual({ 'users-1': 0, 'users-2': 0, 'users-3': 0 });
    } finally {
      await backends.close();
    }
  });

  it('close() stops every server; reset() clears every fault', async () => {
    const backends = await startBackends(2, { service: 'orders', instance: { weight: 2 } });
    expect(backends.instances().map((i) => i.weight)).toEqual([2, 2]);
    for (const b of backends) b.failWith(503);
    backends.reset();
    const res = await request(`${backends[1]!.url}/x`, { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    await backends.close();
    for (const b of backends) {
      expect(b.listening).toBe(false);
      await expect(request(`${b.url}/x`, { dispatcher: agent })).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
    }
  });

  it('listens on the ports given', async () => {
    const first = await startBackends(1);
    const port = first[0]!.port;
    await first.close();
    const again = await startBackends(1, { ports: [port] });
    try {
      expect(again[0]!.port).toBe(port);
      expect(again[0]!.id).toBe('test-1');
    } finally {
      await again.close();
    }
  });

  it('rejects bad arguments with a ValidationError naming them', async () => {
    // Tried: zero, fractional and NaN counts, an invalid service name, a negative weight,
    // a port out of range, a negative body limit.
    await expect(startBackends(0)).rejects.toMatchObject({ name: 'ValidationError', field: 'n' });
    await expect(startBackends(1.5)).rejects.toThrow(ValidationError);
    await expect(startBackends(Number.NaN)).rejects.toThrow(ValidationError);
    await expect(startBackends(1, { service: 'no spaces' })).rejects.toMatchObject({ field: 'service' });
    await expect(startBackends(2, { instance: { weight: -1 } })).rejects.toMatchObject({ field: 'weight' });
    await expect(startBackends(2, { ports: [0, 70_000] })).rejects.toMatchObject({ field: 'ports[1]' });
    await expect(startBackends(1, { maxBodyBytes: -5 })).rejects.toMatchObject({ field: 'maxBodyBytes' });
  });

  it('an aborted signal stops the start and closes what was started', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(startBackends(2, { signal: controller.signal })).rejects.toThrow('stop');
  });
});
