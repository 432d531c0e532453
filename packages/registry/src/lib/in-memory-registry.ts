import {
  abortReason,
  type Clock,
  type RegisterOptions,
  type Registry,
  type RegistryWriter,
  type ResolveOptions,
  type ServiceInstance,
  ServiceNotFoundError,
  sameInstances,
  systemClock,
  validateInstance,
  validateServiceName,
} from '@switchyard/core';
import { IndexWaiters } from './index-waiters.ts';
import { validateTtl } from './ttl.ts';
import { WatcherSet } from './watcher-set.ts';

export interface InMemoryRegistryOptions {
  /** Drives TTL expiry and long-poll timeouts; inject a ManualClock in tests. */
  readonly clock?: Clock;
}

interface Registration {
  readonly instance: ServiceInstance;
  readonly ttlMs: number | undefined;
  expiresAt: number;
}

interface ServiceState {
  readonly registrations: Map<string, Registration>;
  /** The live `up` list, frozen; replaced (never mutated) on each change. */
  live: readonly ServiceInstance[];
  /** Grows by one each time `live` changes. */
  index: number;
}

const EMPTY: readonly ServiceInstance[] = Object.freeze([]);

/**
 * A registry held in this process: the store behind the embedded registry server, and a
 * handy registry for tests. A service becomes known with its first registration and stays
 * known after its last instance leaves (resolve then answers `[]`), so its `index` never
 * goes backwards and long-polls and watchers keep a consistent view.
 *
 * @example
 * const registry = new InMemoryRegistry();
 * await registry.register({ id: 'users-1', service: 'users', host: '127.0.0.1', port: 8080 }, { ttlMs: 10_000 });
 * await registry.resolve('users'); // [users-1]
 */
export class InMemoryRegistry implements Registry, RegistryWriter {
  readonly #clock: Clock;
  readonly #services = new Map<string, ServiceState>();
  readonly #watchers = new WatcherSet();
  readonly #waiters: IndexWaiters;
  #sweepTimer: ReturnType<Clock['setTimeout']> | undefined;
  #sweepAt = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(options: InMemoryRegistryOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    // The raw index (no expiry pass): waiters are notified from inside #publish.
    this.#waiters = new IndexWaiters(this.#clock, (service) => this.#services.get(service)?.index ?? 0);
  }

  /** Adds or replaces (by id) an instance. With `ttlMs`, it expires unless heartbeats renew it. */
  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<void> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    this.registerSync(validateInstance(instance), validateTtl(options.ttlMs));
  }

  /** Synchronous core of `register` for already validated input (the protocol handler uses it). */
  registerSync(instance: ServiceInstance, ttlMs: number | undefined): void {
    const state = this.#stateOf(instance.service, true);
    const expiresAt = ttlMs === undefined ? Number.POSITIVE_INFINITY : this.#clock.now() + ttlMs;
    state.registrations.set(instance.id, { instance, ttlMs, expiresAt });
    this.#scheduleSweep(expiresAt);
    this.#publish(instance.service, state);
  }

  /** Removes an instance. Throws ServiceNotFoundError when it is not registered. */
  async deregister(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    const state = this.#services.get(service);
    if (!state?.registrations.delete(id)) throw new ServiceNotFoundError(service, { instanceId: id });
    this.#publish(service, state);
  }

  /** Renews an instance's TTL. Throws ServiceNotFoundError when it expired or was never registered. */
  async heartbeat(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    this.#expire(service);
    const registration = this.#services.get(service)?.registrations.get(id);
    if (!registration) throw new ServiceNotFoundError(service, { instanceId: id });
    if (registration.ttlMs !== undefined) {
      registration.expiresAt = this.#clock.now() + registration.ttlMs;
      this.#scheduleSweep(registration.expiresAt);
    }
  }

  /** The live `up` instances. Unknown service → ServiceNotFoundError; known but empty → `[]`. */
  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    return this.resolveSync(service);
  }

  /** Synchronous `resolve`. */
  resolveSync(service: string): readonly ServiceInstance[] {
    this.#expire(service);
    const state = this.#services.get(service);
    if (!state) throw new ServiceNotFoundError(service);
    return state.live;
  }

  /** Whether the service was ever registered. */
  has(service: string): boolean {
    return this.#services.has(service);
  }

  /** Names of every known service, sorted. */
  services(): string[] {
    return [...this.#services.keys()].sort();
  }

  /** The service's change counter: 0 while unknown, then grows by one on every change of its list. */
  indexOf(service: string): number {
    this.#expire(service);
    return this.#services.get(service)?.index ?? 0;
  }

  /**
   * Resolves with the service's index as soon as it differs from `index` (a restarted registry
   * can be behind the caller), or after `timeoutMs` with the unchanged index. Rejects with the
   * signal's reason when it aborts. The long-poll watch is built on this.
   */
  waitForChange(
    service: string,
    index: number,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<number> {
    this.#expire(service);
    return this.#waiters.wait(service, index, options);
  }

  /** Calls `listener` with the current list now, then with every new list, in order, until unsubscribed. */
  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    validateServiceName(service);
    this.#expire(service);
    return this.#watchers.add(service, listener, this.#services.get(service)?.live ?? EMPTY);
  }

  /** Stops the expiry timer, drops watchers and ends pending waits. Registered data stays readable. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweepTimer) this.#clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#watchers.clear();
    this.#waiters.releaseAll();
  }

  #stateOf(service: string, create: boolean): ServiceState {
    let state = this.#services.get(service);
    if (!state && create) {
      state = { registrations: new Map(), live: EMPTY, index: 0 };
      this.#services.set(service, state);
    }
    return state as ServiceState;
  }

  /** Recomputes the live list; only a real change bumps the index and notifies. */
  #publish(service: string, state: ServiceState): void {
    const live: ServiceInstance[] = [];
    for (const { instance } of state.registrations.values()) {
      if (instance.status === undefined || instance.status === 'up') live.push(instance);
    }
    if (state.index > 0 && sameInstances(state.live, live)) return;
    state.live = Object.freeze(live);
    state.index++;
    this.#watchers.notify(service, state.live);
    this.#waiters.notify(service);
  }

  /** Drops the service's expired registrations now (reads never see an expired instance). */
  #expire(service: string): void {
    const state = this.#services.get(service);
    if (!state) return;
    const now = this.#clock.now();
    let changed = false;
    for (const [id, registration] of state.registrations) {
      if (registration.expiresAt <= now) {
        state.registrations.delete(id);
        changed = true;
      }
    }
    if (changed) this.#publish(service, state);
  }

  // One timer for the whole registry, set for the earliest deadline; heartbeats only push
  // deadlines later, so an early wake-up just sweeps and re-arms.
  #scheduleSweep(at: number): void {
    if (this.#closed || at === Number.POSITIVE_INFINITY || at >= this.#sweepAt) return;
    if (this.#sweepTimer) this.#clock.clearTimeout(this.#sweepTimer);
    this.#sweepAt = at;
    this.#sweepTimer = this.#clock.setTimeout(() => this.#sweep(), Math.max(0, at - this.#clock.now()));
  }

  #sweep(): void {
    this.#sweepTimer = undefined;
    this.#sweepAt = Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    for (const [service, state] of this.#services) {
      this.#expire(service);
      for (const { expiresAt } of state.registrations.values()) next = Math.min(next, expiresAt);
    }
    this.#scheduleSweep(next);
  }
}
