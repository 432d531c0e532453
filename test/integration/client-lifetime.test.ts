import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpStatusError, ServiceDiscoveryClient } from '@switchyard/client';
import { AllAttemptsFailedError, ClientClosedError } from '@switchyard/core';
import { StaticRegistry } from '@switchyard/registry';
import { afterEach, describe, expect, it, vi } from 'vitest';

const eventually = { timeout: 10_000, interval: 10 };
const servers: Server[] = [];
let client: ServiceDiscoveryClient | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function clientFor(server: Server, options: Record<string, unknown> = {}): ServiceDiscoveryClient {
  const { port } = server.address() as AddressInfo;
  const registry = new StaticRegistry({
    users: [{ id: 'users-1', service: 'users', host: '127.0.0.1', port }],
  });
  client = new ServiceDiscoveryClient({ registry, outlierDetection: false, ...options });
  return client;
}

const connections = (server: Server) =>
  new Promise<number>((resolve, reject) =>
    server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
  );

describe('client lifetime', () => {
  it('close() aborts calls to a hanging backend with ClientClosedError and leaves no socket', async () => {
    let arrived = 0;
    // Tried: a backend that accepts every request and never answers.
    const server = await serve(() => {
      arrived++;
    });
    const c = clientFor(server);
    const request = c.request('users', { path: '/hang' });
    let seen: AbortSignal | undefined;
    const call = c.callService('users', (_instance, { signal }) => {
      seen = signal;
      return new Promise((resolve) => setTimeout(resolve, 60_000).unref());
    });
    await vi.waitFor(() => expect(arrived).toBe(1), eventually);
    await c.close();
    await expect(request).rejects.toBeInstanceOf(ClientClosedError);
    await expect(call).rejects.toBeInstanceOf(ClientClosedError);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(ClientClosedError);
    await vi.waitFor(async () => expect(await connections(server)).toBe(0), eventually);
  });

  it("close() ends a call whose caller brought a signal of its own, and that signal's listener is removed", async () => {
    const server = await serve(() => {});
    const c = clientFor(server);
    const own = new AbortController();
    const call = c.request('users', { path: '/hang', signal: own.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await c.close();
    await expect(call).rejects.toBeInstanceOf(ClientClosedError);
    expect(own.signal.aborted).toBe(false);
  });

  it('a 503 with an endless body is read up to 64 KiB, then the connection is destroyed', async () => {
    let written = 0;
    let closed = false;
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const server = await serve((req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) written += chunk.length;
      };
      res.on('drain', pump);
      req.socket.on('close', () => {
        closed = true;
      });
      pump();
    });
    const c = clientFor(server, { retry: false });
    const failed = await c.request('users', { path: '/' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(AllAttemptsFailedError);
    const error = (failed as AllAttemptsFailedError).cause;
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).statusCode).toBe(503);
    expect((error as HttpStatusError).body.length).toBe(64 * 1024);
    await vi.waitFor(() => expect(closed).toBe(true), eventually);
    const after = written;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(written).toBe(after); // nothing more is read or sent
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });
});
