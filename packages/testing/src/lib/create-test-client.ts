import {
  ServiceDiscoveryClient,
  type ServiceDiscoveryClientOptions,
  type ServiceOptions,
} from '@switchyard/client';
import type { ServiceInstance } from '@switchyard/core';
import { HttpRegistry } from '@switchyard/registry';
import type { RequestHandler } from 'msw';
import { type MockRegistry, mockRegistry } from './mock-registry.ts';
import { RetryingRegistry } from './retrying-registry.ts';

export interface TestClientOptions extends Omit<ServiceDiscoveryClientOptions, 'registry' | 'services'> {
  /** Where the mocked registry lives (default `http://registry.test`). */
  readonly url?: string;
  /**
   * By service: an array is that service's instances in the mocked registry; an object is the
   * client's per-service options (as in ServiceDiscoveryClientOptions.services).
   */
  readonly services?: Readonly<Record<string, readonly ServiceInstance[] | ServiceOptions>>;
  /** Instances of the mocked registry, by service (added to the arrays in `services`). */
  readonly instances?: Readonly<Record<string, readonly ServiceInstance[]>>;
  /** Use this mock instead of creating one (then `url` and `instances` are ignored). */
  readonly registry?: MockRegistry;
  /** Retries of a failed resolve when the registry is unavailable (default 3; 0 = none). */
  readonly registryRetries?: number;
  /** How long one long-poll of the watch may wait (default 5 s). */
  readonly watchWaitMs?: number;
}

export interface TestClient {
  readonly client: ServiceDiscoveryClient;
  /** The mocked registry and its controls (`setInstances`, `failNext`, `requests`…). */
  readonly registry: MockRegistry;
  /** The registry client the ServiceDiscoveryClient uses (events: `registryStale`, `registryRecovered`…). */
  readonly httpRegistry: HttpRegistry;
  /** Give these to msw's `setupServer` (or `server.use`). */
  readonly handlers: RequestHandler[];
  /** Closes the client, its registry client and the mock. */
  close(): Promise<void>;
}

/**
 * A ServiceDiscoveryClient wired to a mocked registry, with test-friendly timing: retries
 * back off 1–10 ms, the watch retries after 5–50 ms, and a transient registry fault on the
 * first resolve is retried. Every client option can still be given.
 *
 * @example
 * const { client, registry, handlers, close } = createTestClient({ instances: { users: backends.instances() } });
 * server.use(...handlers);
 * registry.failNext(1, { status: 503 });
 * await client.request('users', { method: 'GET', path: '/users/42' }); // absorbed
 */
export function createTestClient(options: TestClientOptions = {}): TestClient {
  const {
    url,
    services,
    instances,
    registry: given,
    registryRetries,
    watchWaitMs,
    ...clientOptions
  } = options;
  const lists: Record<string, readonly ServiceInstance[]> = { ...instances };
  const perService: Record<string, ServiceOptions> = {};
  for (const [name, value] of Object.entries(services ?? {})) {
    if (Array.isArray(value))
      lists[name] = [...(lists[name] ?? []), ...(value as readonly ServiceInstance[])];
    else perService[name] = value as ServiceOptions;
  }
  const registry = given ?? mockRegistry({ url: url ?? 'http://registry.test', services: lists });
  const httpRegistry = new HttpRegistry({
    url: registry.url,
    watchWaitMs: watchWaitMs ?? 5_000,
    timeoutMs: 5_000,
    backoff: { initialMs: 5, maxMs: 50 },
  });
  const client = new ServiceDiscoveryClient({
    retry: { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 10 } },
    ...clientOptions,
    services: perService,
    registry: new RetryingRegistry(httpRegistry, { retries: registryRetries ?? 3 }),
  });
  return {
    client,
    registry,
    httpRegistry,
    handlers: registry.handlers,
    async close() {
      await client.close();
      await httpRegistry.close();
      if (!given) await registry.close();
    },
  };
}
