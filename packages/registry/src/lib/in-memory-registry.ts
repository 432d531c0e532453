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
import { ExpiryTimer } from './expiry-timer.ts';
import { IndexWaiters } from './index-waiters.ts';
import { EMPTY, liveInstances, newServiceState, type ServiceState } from './service-state.ts';
import { validateTimerMs } from './timer-ms.ts';
import { WatcherSet } from './watcher-set.ts';

export interface InMemoryRegistryOptions {
  /** Drives TTL expiry and long-poll timeouts; inject a ManualClock in tests. */
  readonly clock?: Clock;
}

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
  readonly #expiry: ExpiryTimer;

  constructor(options: InMemoryRegistryOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#expiry = new ExpiryTimer(this.#clock, () => this.#sweep());
    // The raw index (no expiry pass): waiters are notified from inside #publish.
    this.#waiters = new IndexWaiters(this.#clock, (service) => this.#services.get(service)?.index ?? 0);
  }

  /** Adds or replaces (by id) an instance. With `ttlMs`, it expires unless heartbeats renew it. */
  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<void> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    this.registerSync(instance, options.ttlMs);
  }

  /** Synchronous `register` (the protocol handler uses it). Validates both arguments. */
  registerSync(input: ServiceInstance, ttlMs?: number): void {
    const instance = validateInstance(input);
    const ttl = validateTimerMs(ttlMs);
    const state = this.#stateOf(instance.service);
    const expiresAt = ttl === undefined ? Number.POSITIVE_INFINITY : this.#clock.now() + ttl;
    state.registrations.set(instance.id, { instance, ttlMs: ttl, expiresAt });
    this.#expiry.schedule(expiresAt);
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
      this.#expiry.schedule(registration.expiresAt);
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
    this.#expiry.stop();
    this.#watchers.clear();
    this.#waiters.releaseAll();
  }

  #stateOf(service: string): ServiceState {
    let state = this.#services.get(service);
    if (!state) {
      state = newServiceState();
      this.#services.set(service, state);
    }
    return state;
  }

  /** Recomputes the live list; only a real change bumps the index and notifies. */
  #publish(service: string, state: ServiceState): void {
    const live = liveInstances(state);
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

  /** Expires every service; returns the next deadline. */
  #sweep(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const [service, state] of this.#services) {
      this.#expire(service);
      for (const { expiresAt } of state.registrations.values()) next = Math.min(next, expiresAt);
    }
    return next;
  }
}
