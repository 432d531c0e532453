import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AllAttemptsFailedError,
  NotRetriedError,
  type ServiceInstance,
  TimeoutError,
} from '@switchyard/core';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createExecutor } from './executor.ts';
import type { AttemptContext } from './executor-types.ts';
import { FakeSource } from './fake-source.test-support.ts';

// Real sockets on 127.0.0.1: one backend per fault, each counting the requests it received.

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
interface Backend {
  readonly instance: ServiceInstance;
  readonly server: Server;
  received: number;
  closedEarly: number;
}

const backends = new Map<string, Backend>();
let refusedPort = 0;
const agent = new Agent({ keepAliveTimeout: 1_000, connections: 16 });

async function start(id: string, handler: Handler): Promise<void> {
  const backend = { received: 0, closedEarly: 0 } as Backend;
  const server = createServer((req, res) => {
    backend.received++;
    res.on('close', () => {
      if (!res.writableFinished) backend.closedEarly++;
    });
    req.resume();
    req.on('end', () => handler(req, res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  Object.assign(backend, { server, instance: { id, service: 'orders', host: '127.0.0.1', port } });
  backends.set(id, backend);
}

const backend = (id: string) => backends.get(id)!;
const sourceOf = (...ids: string[]) =>
  new FakeSource(ids.map((id) => (id === 'refused' ? refusedInstance() : backend(id).instance)));
const refusedInstance = (): ServiceInstance => ({
  id: 'refused',
  service: 'orders',
  host: '127.0.0.1',
  port: refusedPort,
});

/** What a client does per attempt: undici request, 5xx and 429 surface as errors with a status. */
function call(method: 'GET' | 'POST') {
  return async (instance: ServiceInstance, { signal }: AttemptContext): Promise<string> => {
    const response = await request(`http://${instance.host}:${instance.port}/orders`, {
      method,
      signal,
      dispatcher: agent,
      ...(method === 'POST' ? { body: '{"item":42}', headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await response.body.text();
    if (response.statusCode >= 500 || response.statusCode === 429) {
      throw Object.assign(new Error(`status ${response.statusCode}`), {
        statusCode: response.statusCode,
        headers: response.headers,
      });
    }
    return text;
  };
}

beforeAll(async () => {
  await start('ok-1', (_req, res) => res.end('ok-1'));
  await start('ok-2', (_req, res) => res.end('ok-2'));
  await start('reset', (_req, res) => {
    // Headers and half a body, then the connection dies: the request was certainly processed.
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
    setTimeout(() => res.socket?.destroy(), 5).unref();
  });
  await start('unavailable', (_req, res) => res.writeHead(503, { 'retry-after': '0' }).end('busy'));
  await start('hang', () => undefined);
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  refusedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

afterAll(async () => {
  await agent.close();
  for (const { server } of backends.values()) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

beforeEach(() => {
  for (const b of backends.values()) {
    b.received = 0;
    b.closedEarly = 0;
  }
});

const executor = () =>
  createExecutor({ service: 'orders', timeoutMs: 2_000, retry: { backoff: { initialMs: 0, maxMs: 0 } } });

describe('executor over real HTTP', () => {
  it('a refused port is skipped even for a POST: the request never left', async () => {
    const result = await executor().execute(sourceOf('refused', 'ok-1'), call('POST'));
    expect(result).toBe('ok-1');
    expect(backend('ok-1').received).toBe(1);
  });

  it('a POST that reached a backend which then reset is not sent again', async () => {
    const ex = executor();
    const error = await ex.execute(sourceOf('reset', 'ok-1', 'ok-2'), call('POST')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotRetriedError);
    expect(error).toMatchObject({ instanceId: 'reset' });
    expect((error as NotRetriedError).message).toMatch(/not retried.*reached instance reset.*not idempotent/);
    expect(backend('reset').received).toBe(1);
    expect(backend('ok-1').received + backend('ok-2').received).toBe(0);
  });

  it('the same reset on a GET fails over to another backend', async () => {
    const result = await executor().execute(sourceOf('reset', 'ok-1'), call('GET'), { idempotent: true });
    expect(result).toBe('ok-1');
    expect(backend('reset').received).toBe(1);
  });

  it('a 503 is retried on the other backend', async () => {
    const ex = executor();
    const result = await ex.execute(sourceOf('unavailable', 'ok-2'), call('GET'), { idempotent: true });
    expect(result).toBe('ok-2');
    expect(backend('unavailable').received).toBe(1);
    expect(ex.stats()).toMatchObject({ attempts: 2, retries: 1 });
  });

  it('a hanging backend times out, its request is aborted, and the call succeeds elsewhere', async () => {
    const ex = createExecutor({
      service: 'orders',
      timeoutMs: 1_000,
      retry: { backoff: { initialMs: 0, maxMs: 0 } },
    });
    const timeouts: unknown[] = [];
    ex.events.on('timeout', (event) => timeouts.push(event.instanceId));
    const result = await ex.execute(sourceOf('hang', 'ok-1'), call('GET'), { idempotent: true });
    expect(result).toBe('ok-1');
    expect(timeouts).toEqual(['hang']);
    await expect.poll(() => backend('hang').closedEarly).toBe(1);
  });

  it('undici takes ctx.abortTarget as its signal: the hanging request is aborted', async () => {
    const ex = createExecutor({ service: 'orders', timeoutMs: 500, retry: { backoff: { initialMs: 0 } } });
    const viaTarget = async (instance: ServiceInstance, ctx: AttemptContext): Promise<string> => {
      const response = await request(`http://${instance.host}:${instance.port}/orders`, {
        signal: ctx.abortTarget as never, // undici accepts anything with addEventListener('abort')
        dispatcher: agent,
      });
      return response.body.text();
    };
    const result = await ex.execute(sourceOf('hang', 'ok-1'), viaTarget, { idempotent: true });
    expect(result).toBe('ok-1');
    await expect.poll(() => backend('hang').closedEarly).toBe(1);
  });

  it('a hanging POST times out as NotRetriedError wrapping the TimeoutError', async () => {
    const ex = createExecutor({ service: 'orders', timeoutMs: 500 });
    const error = await ex.execute(sourceOf('hang', 'ok-1'), call('POST')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotRetriedError);
    expect((error as NotRetriedError).cause).toBeInstanceOf(TimeoutError);
    expect(backend('ok-1').received).toBe(0);
  });

  it('when every attempt is refused, the error names the service, the attempts and the instances', async () => {
    const error = await executor()
      .execute(new FakeSource([refusedInstance()]), call('GET'), { idempotent: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllAttemptsFailedError);
    const failed = error as AllAttemptsFailedError;
    expect(failed).toMatchObject({ service: 'orders', instancesTried: ['refused'] });
    expect(failed.attempts.map((a) => [a.attempt, a.instanceId])).toEqual([
      [1, 'refused'],
      [2, 'refused'],
      [3, 'refused'],
    ]);
    expect(failed.cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(failed.cause).toBe(failed.attempts[2]!.error);
    expect(failed.message).toMatch(/orders: all 3 attempts failed .*refused.*ECONNREFUSED/);
  });

  it('3,000 idempotent calls, 64 in flight, over 3 backends with one refusing: none fails', async () => {
    const ex = createExecutor({
      service: 'orders',
      retry: { backoff: { initialMs: 0, maxMs: 0 } },
      circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 },
    });
    const source = sourceOf('ok-1', 'refused', 'ok-2');
    const results: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < 3_000) {
        next++;
        results.push(await ex.execute(source, call('GET'), { idempotent: true }));
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    expect(results).toHaveLength(3_000);
    expect(results.filter((r) => r !== 'ok-1' && r !== 'ok-2')).toEqual([]);
    expect(ex.isOpen('refused')).toBe(true);
    expect(backend('ok-1').received + backend('ok-2').received).toBe(3_000);
    expect(ex.stats()).toMatchObject({ calls: 3_000, successes: 3_000, failures: 0 });
  }, 60_000);
});
