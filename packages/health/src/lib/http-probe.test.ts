import { createServer, type Server } from 'node:http';
import type { ServiceInstance } from '@switchyard/core';
import { Agent } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HealthCheckError } from './health-check-error.ts';
import { type HttpProbeOptions, httpProbe } from './http-probe.ts';

let server: Server | undefined;
const agent = new Agent();
afterAll(() => agent.close());
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function serve(status: number, body: string): Promise<ServiceInstance> {
  server = createServer((_req, res) => {
    res.statusCode = status;
    res.end(body);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { id: 'web-1', service: 'web', host: '127.0.0.1', port };
}

const is2xx = (status: number) => status >= 200 && status < 300;
const options = (extra: Partial<HttpProbeOptions> = {}): HttpProbeOptions => ({
  path: '/health',
  dispatcher: agent,
  expectedStatus: is2xx,
  maxBodyBytes: 1024,
  ...extra,
});

describe('httpProbe', () => {
  it('resolves on an expected status', async () => {
    await expect(
      httpProbe(await serve(200, 'ok'), options(), new AbortController().signal),
    ).resolves.toBeUndefined();
  });

  it('rejects with failure "status" and the code on an unexpected status', async () => {
    const error = await httpProbe(await serve(503, 'down'), options(), new AbortController().signal).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HealthCheckError);
    expect(error).toMatchObject({ failure: 'status', statusCode: 503, instanceId: 'web-1' });
  });

  it('looks for expectedBody only within maxBodyBytes', async () => {
    const instance = await serve(200, `${'x'.repeat(2000)}ready`);
    const signal = new AbortController().signal;
    await expect(httpProbe(instance, options({ expectedBody: 'xxx' }), signal)).resolves.toBeUndefined();
    const error = await httpProbe(instance, options({ expectedBody: 'ready' }), signal).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ failure: 'body', statusCode: 200 });
    await expect(
      httpProbe(instance, options({ expectedBody: 'ready', maxBodyBytes: 4096 }), signal),
    ).resolves.toBeUndefined();
  });

  it('rejects with the signal reason when aborted', async () => {
    const instance = await serve(200, 'ok');
    await expect(httpProbe(instance, options(), AbortSignal.abort(new Error('cancelled')))).rejects.toThrow(
      'cancelled',
    );
  });
});
