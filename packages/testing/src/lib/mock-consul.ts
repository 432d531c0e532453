import { type Clock, systemClock, ValidationError } from '@switchyard/core';
import type { RequestHandler } from 'msw';
import { createConsulApi } from './consul-api.ts';
import { ConsulCatalog } from './consul-catalog.ts';
import {
  CONSUL_STATUSES,
  type ConsulHealthStatus,
  type ConsulInstanceInput,
  draftFromInput,
} from './consul-records.ts';
import { type MockFault, type MockRequest, MockTransport } from './mock-transport.ts';

export interface MockConsulOptions {
  /** Where the Consul agent would be, e.g. `http://consul.test:8500`. */
  readonly url: string;
  readonly services?: Readonly<Record<string, readonly ConsulInstanceInput[]>>;
  /** The agent's datacenter (default `dc1`) and node (default `node-1`, address `127.0.0.1`). */
  readonly datacenter?: string;
  readonly node?: string;
  readonly nodeAddress?: string;
  /** Require this ACL token on every call (403 without it). */
  readonly token?: string;
  /** Drives TTL expiry and blocking-query waits; a ManualClock makes them step by hand. */
  readonly clock?: Clock;
}

/** What `mockConsul` returns: msw handlers plus the controls a test scripts them with. */
export interface MockConsul {
  readonly handlers: RequestHandler[];
  readonly url: string;
  /** Replaces the whole catalog. */
  setServices(services: Readonly<Record<string, readonly ConsulInstanceInput[]>>): void;
  /** Replaces one service's instances (in the agent's datacenter unless an instance says otherwise). */
  setInstances(service: string, instances: readonly ConsulInstanceInput[]): void;
  /** Removes one instance; false when there was none. */
  removeInstance(service: string, id: string): boolean;
  /** Sets every check of the instance with this service ID. */
  setHealth(serviceId: string, status: ConsulHealthStatus): void;
  failNext(n: number, fault: MockFault): void;
  requests(): readonly MockRequest[];
  /** The `X-Consul-Index` a health query on `service` would answer now. */
  index(service: string): number;
  /** Moves every index back (as after a snapshot restore); blocked queries answer at once. */
  resetIndex(index?: number): void;
  /** Without a known leader, default and `consistent` reads answer 500; `stale` reads still work. */
  setLeader(known: boolean, lastContactMs?: number): void;
  /** Blocking queries waiting right now. */
  readonly blockedQueries: number;
  /** Back to the initial services, no faults, empty log, leader known. */
  reset(): void;
  /** Answers every blocked query and stops TTL timers. */
  close(): void;
}

/**
 * msw handlers for the part of Consul's HTTP API a discovery adapter uses: health queries with
 * blocking (`index` + `wait`), `passing`, `tag`, `dc`, `stale`/`consistent`; the catalog's
 * service list; agent register/deregister and TTL check updates; ACL tokens. Answers use
 * Consul's documented JSON shapes and headers (`X-Consul-Index`, `X-Consul-KnownLeader`, …).
 *
 * @example
 * const consul = mockConsul({ url: 'http://consul.test:8500', services: { users: backends.instances() } });
 * const server = setupServer(...consul.handlers);
 * consul.setHealth('users-1', 'critical'); // gone from ?passing answers
 */
export function mockConsul(options: MockConsulOptions): MockConsul {
  const transport = new MockTransport(options.url, { plainErrors: true });
  const defaults = { node: options.node ?? 'node-1', datacenter: options.datacenter ?? 'dc1' };
  const clock = options.clock ?? systemClock;
  const initial = options.services ?? {};
  const catalog = new ConsulCatalog(clock, options.nodeAddress ?? '127.0.0.1');
  let knownLeader = true;
  let lastContactMs = 0;

  const drafts = (service: string, instances: readonly ConsulInstanceInput[]) => {
    if (!Array.isArray(instances)) throw new ValidationError('instances', `expected an array for ${service}`);
    return instances.map((input) => draftFromInput(service, input, defaults));
  };
  const load = (services: Readonly<Record<string, readonly ConsulInstanceInput[]>>) => {
    // Validate everything first, so a bad entry changes nothing.
    const all = Object.entries(services).flatMap(([service, list]) => drafts(service, list));
    catalog.remove(() => true);
    for (const draft of all) catalog.upsert(draft);
  };
  load(initial);

  const api = createConsulApi(catalog, {
    ...defaults,
    token: options.token,
    knownLeader: () => knownLeader,
    lastContactMs: () => lastContactMs,
  });

  return {
    handlers: transport.handlers(api),
    url: transport.baseUrl,
    setServices: load,
    setInstances(service, instances) {
      const next = drafts(service, instances);
      catalog.remove((record) => record.Service === service);
      for (const draft of next) catalog.upsert(draft);
    },
    removeInstance: (service, id) => catalog.remove((r) => r.Service === service && r.ID === id) > 0,
    setHealth(serviceId, status) {
      if (!CONSUL_STATUSES.includes(status)) {
        throw new ValidationError('status', `expected passing, warning or critical, got ${String(status)}`);
      }
      const records = [...catalog.records()].filter((record) => record.ID === serviceId);
      if (records.length === 0) {
        throw new ValidationError(
          'serviceId',
          `no registered instance has the ID ${JSON.stringify(serviceId)}`,
        );
      }
      for (const record of records)
        for (const check of record.checks) catalog.setCheck(record, check, status);
    },
    failNext: (n, fault) => transport.failNext(n, fault),
    requests: () => transport.requests(),
    index: (service) => catalog.serviceIndex(service),
    resetIndex: (index = 1) => catalog.resetIndex(index),
    setLeader(known, contactMs = 0) {
      knownLeader = known;
      lastContactMs = contactMs;
    },
    get blockedQueries() {
      return catalog.waiters.size;
    },
    reset() {
      // Indexes keep growing across a reset, so a watching client sees a change, not a restart.
      knownLeader = true;
      lastContactMs = 0;
      transport.clear();
      load(initial);
    },
    close: () => catalog.close(),
  };
}
