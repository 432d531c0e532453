import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AllAttemptsFailedError, type ServiceInstance, TimeoutError } from '@switchyard/core';
import type { AbortListener, AttemptAbortTarget, AttemptContext } from '@switchyard/resilience';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OriginPools } from './origin-pools.ts';
import { type HttpResponse, sendRequestTo } from './send-request.ts';
import { ServiceDiscoveryClient } from './service-discovery-client.ts';
import { PushRegistry } from './test-registry.test-support.ts';
import { ResponseBodyClass } from './undici-body.ts';

const eventually = { timeout: 10_000, interval: 10 };
const servers: Server[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A backend that holds every request (never answers) and notes when its socket closes. */
async function hangingBackend(): Promise<{
  instance: ServiceInstance;
  arrived: () => number;
  closed: () => number;
}> {
  let arrived = 0;
  let closed = 0;
  const server = createServer((req: IncomingMessage, _res: ServerResponse) => {
    arrived++;
    req.socket.once('close', () => closed++);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    instance: { id: 'users-1', service: 'users', host: '127.0.0.1', port },
    arrived: () => arrived,
    closed: () => closed,
  };
}

function clientFor(instance: ServiceInstance, options: Record<string, unknown> = {}): ServiceDiscoveryClient {
  const registry = new PushRegistry();
  registry.push('users', [instance]);
  const client = new ServiceDiscoveryClient({ registry, outlierDetection: false, retry: false, ...options });
  cleanups.push(() => client.close());
  return client;
}

/** The smallest abort target: what the executor's attempt scope offers. */
class Target implements AttemptAbortTarget {
  aborted = false;
  reason: unknown;
  readonly #listeners = new Set<AbortListener>();
  addEventListener(_type: 'abort', listener: AbortListener): void {
    this.#listeners.add(listener);
  }
  removeEventListener(_type: 'abort', listener: AbortListener): void {
    this.#listeners.delete(listener);
  }
  abort(reason: unknown): void {
    this.aborted = true;
    this.reason = reason;
    for (const listener of this.#listeners) {
      if (typeof listener === 'function') listener();
      else listener.handleEvent();
    }
  }
  get listening(): number {
    return this.#listeners.size;
  }
}

describe('sendRequestTo: aborts through ctx.abortTarget, no AbortSignal per attempt', () => {
  it.each([
    ['the dispatch handler', ResponseBodyClass],
    ['pool.request() (no body class)', null],
  ])('through %s: never reads ctx.signal; aborting the target aborts the request and closes its socket', async (_name, Body) => {
    const backend = await hangingBackend();
    const pools = new OriginPools();
    cleanups.push(() => pools.close());
    const target = new Target();
    const context: AttemptContext = {
      attempt: 1,
      get signal(): AbortSignal {
        throw new Error('ctx.signal was read: an AbortController per attempt');
      },
      abortTarget: target,
    };
    const sent = new Promise<HttpResponse>((resolve, reject) =>
      sendRequestTo(pools, backend.instance, { path: '/' }, context, { resolve, reject }, Body),
    );
    await vi.waitFor(() => expect(backend.arrived()).toBe(1), eventually);
    const reason = new Error('attempt over');
    target.abort(reason);
    await expect(sent).rejects.toBe(reason);
    await vi.waitFor(() => expect(backend.closed()).toBe(1), eventually);
    expect(target.listening).toBe(0); // nothing listens on the target any more
  });

  it('client.request: an attempt timeout aborts the undici request (its socket closes)', async () => {
    const backend = await hangingBackend();
    const client = clientFor(backend.instance, { timeoutMs: 300 });
    const error = await client.request('users', { path: '/' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllAttemptsFailedError);
    expect((error as AllAttemptsFailedError).cause).toBeInstanceOf(TimeoutError);
    await vi.waitFor(() => expect(backend.closed()).toBe(1), eventually);
  });

  it("client.request: the caller's abort aborts the undici request with its reason (its socket closes)", async () => {
    const backend = await hangingBackend();
    const client = clientFor(backend.instance);
    const caller = new AbortController();
    const sent = client.request('users', { path: '/', signal: caller.signal });
    await vi.waitFor(() => expect(backend.arrived()).toBe(1), eventually);
    const reason = new Error('caller gave up');
    caller.abort(reason);
    await expect(sent).rejects.toBe(reason);
    await vi.waitFor(() => expect(backend.closed()).toBe(1), eventually);
  });

  it('client.request with a hedge: the losing attempt is aborted and its socket closes', async () => {
    const slow = await hangingBackend();
    const fast = createServer((_req, res) => res.end('fast'));
    servers.push(fast);
    await new Promise<void>((resolve) => fast.listen(0, '127.0.0.1', resolve));
    const registry = new PushRegistry();
    registry.push('users', [
      slow.instance,
      { id: 'users-2', service: 'users', host: '127.0.0.1', port: (fast.address() as AddressInfo).port },
    ]);
    const client = new ServiceDiscoveryClient({ registry, outlierDetection: false });
    cleanups.push(() => client.close());
    let hedges = 0;
    client.on('hedge', () => hedges++);
    // Round robin: a call that starts on the backend that never answers is hedged.
    for (let i = 0; i < 2; i++) {
      const answer = await client.request('users', { path: '/', hedgeAfterMs: 20 });
      expect(answer.instance.id).toBe('users-2');
      expect(await answer.body.text()).toBe('fast');
    }
    expect(hedges).toBeGreaterThanOrEqual(1);
    expect(slow.arrived()).toBe(hedges);
    await vi.waitFor(() => expect(slow.closed()).toBe(hedges), eventually);
  });

  it('client.request with the default attempt timeout creates no AbortController for a call that succeeds', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = clientFor(
      { id: 'users-1', service: 'users', host: '127.0.0.1', port },
      { outlierDetection: undefined, retry: undefined }, // the defaults: outlier detection on
    );
    expect(await (await client.request('users', { path: '/' })).body.text()).toBe('ok'); // warm
    const Original = globalThis.AbortController;
    let created = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        created++;
      }
    };
    try {
      for (let i = 0; i < 5; i++)
        expect(await (await client.request('users', { path: '/' })).body.text()).toBe('ok');
    } finally {
      globalThis.AbortController = Original;
    }
    expect(created).toBe(0);
  });
});
