import {
  type Clock,
  type ServiceInstance,
  ValidationError,
  validateInstance,
  validateServiceName,
} from '@switchyard/core';
import { createRegistryHandler, InMemoryRegistry, type RegistryHandlerOptions } from '@switchyard/registry';
import type { RequestHandler } from 'msw';
import { type MockFault, type MockRequest, MockTransport } from './mock-transport.ts';

export interface MockRegistryOptions {
  /** Where the registry would be, e.g. `http://registry.test`. */
  readonly url: string;
  /** The initial instances, by service. A service listed with `[]` is known and empty. */
  readonly services?: Readonly<Record<string, readonly ServiceInstance[]>>;
  /** Drives TTL expiry and long-poll waits of registrations made through the protocol. */
  readonly clock?: Clock;
  /** Long-poll limits and body size, as for the real server. */
  readonly protocol?: RegistryHandlerOptions;
}

/** What `mockRegistry` returns: msw handlers plus the controls a test scripts them with. */
export interface MockRegistry {
  readonly handlers: RequestHandler[];
  readonly url: string;
  /** The store behind the mock, e.g. to register with a TTL or to watch it directly. */
  readonly store: InMemoryRegistry;
  /** Replaces the service's instances at once; watching clients see the new list within one poll. */
  setInstances(service: string, instances: readonly ServiceInstance[]): void;
  /** Removes one instance; false when it was not registered. */
  removeInstance(service: string, id: string): boolean;
  failNext(n: number, fault: MockFault): void;
  requests(): readonly MockRequest[];
  /** Back to the initial instances (services added since are emptied), no faults, empty log. */
  reset(): void;
  /** Answers pending long-polls and stops the store's timers. */
  close(): Promise<void>;
}

// Makes a service known with no instances (the store learns services from registrations only);
// out of service, so it is never resolved.
const PLACEHOLDER = {
  id: '~placeholder',
  host: 'placeholder.invalid',
  port: 1,
  status: 'out_of_service',
} as const;

/**
 * msw handlers that speak the Switchyard registry protocol, answered by the very handler the
 * embedded server uses (`createRegistryHandler` over an `InMemoryRegistry`), so the mock and
 * the server cannot disagree: same validation, same errors, same long-poll watch.
 *
 * @example
 * const registry = mockRegistry({ url: 'http://registry.test', services: { users: backends.instances() } });
 * const server = setupServer(...registry.handlers);
 * registry.failNext(2, { status: 503 });
 * registry.setInstances('users', [newInstance]);
 */
export function mockRegistry(options: MockRegistryOptions): MockRegistry {
  const transport = new MockTransport(options.url);
  const store = new InMemoryRegistry(options.clock ? { clock: options.clock } : {});
  const handle = createRegistryHandler(store, options.protocol);
  const initial = Object.entries(options.services ?? {});
  const ids = new Map<string, Set<string>>();

  const setInstances = (service: string, instances: readonly ServiceInstance[]) => {
    validateServiceName(service);
    if (!Array.isArray(instances)) throw new ValidationError('instances', `expected an array for ${service}`);
    // Validate everything before touching the store, so a bad entry changes nothing.
    const clean = instances.map((instance) => validateInstance(instance));
    const wrong = clean.find((instance) => instance.service !== service);
    if (wrong) {
      throw new ValidationError(
        'service',
        `instance ${wrong.id} belongs to ${wrong.service}, not ${service}`,
        {
          service,
          instanceId: wrong.id,
        },
      );
    }
    const known = ids.get(service) ?? new Set<string>();
    if (store.has(service)) for (const live of store.resolveSync(service)) known.add(live.id);
    if (clean.length === 0 && !store.has(service)) {
      store.registerSync(validateInstance({ ...PLACEHOLDER, service }), undefined);
    }
    // New ones first, then removals: a watcher never sees an empty list in between.
    for (const instance of clean) store.registerSync(instance, undefined);
    const keep = new Set(clean.map((instance) => instance.id));
    if (clean.length > 0) known.add(PLACEHOLDER.id); // not needed any more, if it was there
    for (const id of known) if (!keep.has(id)) remove(service, id);
    ids.set(service, keep);
  };

  const remove = (service: string, id: string): boolean => {
    const had =
      ids.get(service)?.delete(id) ||
      (store.has(service) && store.resolveSync(service).some((i) => i.id === id));
    // InMemoryRegistry.deregister changes the store synchronously; only its result is a promise.
    store.deregister(service, id).catch(() => undefined);
    return Boolean(had) && id !== PLACEHOLDER.id;
  };

  const load = () => {
    for (const [service, instances] of initial) setInstances(service, instances);
  };
  load();

  return {
    handlers: transport.handlers(handle),
    url: transport.baseUrl,
    store,
    setInstances,
    removeInstance: (service, id) => remove(validateServiceName(service), id),
    failNext: (n, fault) => transport.failNext(n, fault),
    requests: () => transport.requests(),
    reset() {
      transport.clear();
      const listed = new Set(initial.map(([service]) => service));
      for (const service of store.services()) if (!listed.has(service)) setInstances(service, []);
      load();
    },
    close: () => store.close(),
  };
}
