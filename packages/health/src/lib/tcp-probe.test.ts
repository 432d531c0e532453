import { createServer, type Server } from 'node:net';
import type { ServiceInstance } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthCheckError } from './health-check-error.ts';
import { tcpProbe } from './tcp-probe.ts';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function listen(): Promise<ServiceInstance> {
  server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { id: 'db-1', service: 'db', host: '127.0.0.1', port };
}

describe('tcpProbe', () => {
  it('resolves when the port accepts a connection', async () => {
    await expect(tcpProbe(await listen(), new AbortController().signal)).resolves.toBeUndefined();
  });

  it('rejects with a network HealthCheckError naming the instance when the port refuses', async () => {
    const instance = await listen();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const error = await tcpProbe(instance, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HealthCheckError);
    expect(error).toMatchObject({ failure: 'network', service: 'db', instanceId: 'db-1' });
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('rejects with the signal reason when aborted, before or during the connect', async () => {
    const instance = await listen();
    await expect(tcpProbe(instance, AbortSignal.abort(new Error('stop')))).rejects.toThrow('stop');
    const controller = new AbortController();
    const probe = tcpProbe(instance, controller.signal);
    controller.abort(new Error('late stop'));
    await expect(probe).rejects.toThrow('late stop');
  });
});
