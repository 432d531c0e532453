import {
  abortReason,
  type Clock,
  isUp,
  type RegisterOptions,
  type Registry,
  type RegistryWriter,
  type ResolveOptions,
  rejectUnknownOptions,
  type ServiceInstance,
  ServiceNotFoundError,
  sameInstances,
  systemClock,
  validateInstance,
  validateServiceName,
} from '@switchyard/core';
import { DeadlineHeap } from './deadline-heap.ts';
import { ExpiryTimer } from './expiry-timer.ts';
import { IndexWaiters } from './index-waiters.ts';
import { RegistrationConflictError } from './registry-errors.ts';
import {
  EMPTY,
  liveInstances,
  newServiceState,
  type Registration,
  type ServiceState,
} from './service-state.ts';
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
  // Every TTL deadline, earliest first; stale entries (renewed, replaced, removed) are dropped as
  // they surface, so expiry costs O(log n) per registration instead of a scan of the service.
  readonly #deadlines = new DeadlineHeap<Registration>();
  #registrations = 0;

  constructor(options: InMemoryRegistryOptions = {}) {
    rejectUnknownOptions(options, ['clock'], 'InMemoryRegistry options');
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

  /**
   * Synchronous `register` (the protocol handler uses it). Validates both arguments. `owner` is
   * an opaque digest of the registrant's key: while the registration lives, only the same owner
   * may replace, renew or remove it (RegistrationConflictError otherwise). Without `owner` the
   * caller is this process, which is trusted: it may replace anything, and the owner stays.
   */
  registerSync(input: ServiceInstance, ttlMs?: number, owner?: string): void {
    const instance = validateInstance(input);
    const ttl = validateTimerMs(ttlMs);
    this.#expireDue();
    const created = !this.#services.has(instance.service);
    const state = this.#stateOf(instance.service);
    const old = state.registrations.get(instance.id);
    if (old && owner !== undefined && old.owner !== owner) {
      throw new RegistrationConflictError(instance.service, instance.id);
    }
    const expiresAt = ttl === undefined ? Number.POSITIVE_INFINITY : this.#clock.now() + ttl;
    const registration: Registration = {
      service: instance.service,
      instance,
      ttlMs: ttl,
      expiresAt,
      queuedAt: expiresAt,
      owner: owner ?? old?.owner ?? '',
    };
    state.registrations.set(instance.id, registration);
    if (!old) this.#registrations++;
    this.#queue(registration);
    const changed = old
      ? !sameInstances([old.instance], [instance]) && (isUp(old.instance) || isUp(instance))
      : isUp(instance);
    if (created || changed) this.#publish(instance.service, state);
  }

  /** Removes an instance. Throws ServiceNotFoundError when it is not registered. */
  async deregister(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    this.deregisterSync(service, id);
  }

  /** Synchronous `deregister`; with `owner`, refuses (RegistrationConflictError) another owner's instance. */
  deregisterSync(service: string, id: string, owner?: string): void {
    this.#expireDue();
    const state = this.#services.get(service);
    const registration = state?.registrations.get(id);
    if (!state || !registration) throw new ServiceNotFoundError(service, { instanceId: id });
    if (owner !== undefined && registration.owner !== owner) throw new RegistrationConflictError(service, id);
    this.#remove(state, registration);
  }

  /** Renews an instance's TTL. Throws ServiceNotFoundError when it expired or was never registered. */
  async heartbeat(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    this.heartbeatSync(service, id);
  }

  /** Synchronous `heartbeat`; with `owner`, refuses (RegistrationConflictError) another owner's instance. */
  heartbeatSync(service: string, id: string, owner?: string): void {
    this.#expireDue();
    const registration = this.#services.get(service)?.registrations.get(id);
    if (!registration) throw new ServiceNotFoundError(service, { instanceId: id });
    if (owner !== undefined && registration.owner !== owner) throw new RegistrationConflictError(service, id);
    // Only the deadline moves; its heap entry catches up lazily when it surfaces.
    if (registration.ttlMs !== undefined) registration.expiresAt = this.#clock.now() + registration.ttlMs;
  }

  /** The live `up` instances. Unknown service → ServiceNotFoundError; known but empty → `[]`. */
  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    return this.resolveSync(service);
  }

  /** Synchronous `resolve`. */
  resolveSync(service: string): readonly ServiceInstance[] {
    this.#expireDue();
    const state = this.#services.get(service);
    if (!state) throw new ServiceNotFoundError(service);
    return liveInstances(state);
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
    this.#expireDue();
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
    this.#expireDue();
    return this.#waiters.wait(service, index, options);
  }

  /** Calls `listener` with the current list now, then with every new list, in order, until unsubscribed. */
  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    validateServiceName(service);
    this.#expireDue();
    const state = this.#services.get(service);
    return this.#watchers.add(service, listener, state ? liveInstances(state) : EMPTY);
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

  #remove(state: ServiceState, registration: Registration): void {
    state.registrations.delete(registration.instance.id);
    this.#registrations--;
    if (isUp(registration.instance)) this.#publish(registration.service, state);
  }

  /** Bumps the index and tells listeners; the list itself is built only when someone reads it. */
  #publish(service: string, state: ServiceState): void {
    state.live = undefined;
    state.index++;
    if (this.#watchers.listening(service)) this.#watchers.notify(service, liveInstances(state));
    this.#waiters.notify(service);
  }

  #queue(registration: Registration): void {
    if (registration.expiresAt === Number.POSITIVE_INFINITY) return;
    // Replaced and removed registrations leave entries behind: rebuild once they outnumber the
    // live ones, which keeps the heap O(registrations) at O(1) amortised cost.
    if (this.#deadlines.size > 2 * this.#registrations + 1024) this.#rebuildDeadlines();
    this.#deadlines.push(registration.expiresAt, registration);
    this.#expiry.schedule(registration.expiresAt);
  }

  #rebuildDeadlines(): void {
    const live: Array<{ at: number; item: Registration }> = [];
    for (const state of this.#services.values()) {
      for (const registration of state.registrations.values()) {
        if (registration.expiresAt === Number.POSITIVE_INFINITY) continue;
        registration.queuedAt = registration.expiresAt;
        live.push({ at: registration.expiresAt, item: registration });
      }
    }
    this.#deadlines.rebuild(live);
  }

  /** Drops every registration whose deadline passed (reads never see an expired instance). */
  #expireDue(): void {
    const now = this.#clock.now();
    for (let top = this.#deadlines.peek(); top && top.at <= now; top = this.#deadlines.peek()) {
      this.#deadlines.pop();
      const registration = top.item;
      const state = this.#services.get(registration.service);
      const current = state?.registrations.get(registration.instance.id);
      // Stale entry: the registration was replaced or removed, or already re-queued.
      if (!state || current !== registration || registration.queuedAt !== top.at) continue;
      if (registration.expiresAt > now) {
        // Renewed by heartbeats since it was queued: queue its new deadline.
        registration.queuedAt = registration.expiresAt;
        this.#deadlines.push(registration.expiresAt, registration);
      } else {
        this.#remove(state, registration);
      }
    }
  }

  /** Expires what is due; returns the next deadline. */
  #sweep(): number {
    this.#expireDue();
    return this.#deadlines.peek()?.at ?? Number.POSITIVE_INFINITY;
  }
}
