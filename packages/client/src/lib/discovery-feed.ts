import {
  ClientClosedError,
  type Clock,
  type Registry,
  raceAbort,
  type ServiceInstance,
  type TypedEmitter,
} from '@switchyard/core';
import type { ClientEvents } from './client-events.ts';

export interface DiscoveryFeedOptions {
  readonly registry: Registry;
  readonly clock: Clock;
  readonly events: TypedEmitter<ClientEvents>;
  /** For registries without watch: how long a resolved list is served before a refresh. */
  readonly refreshMs: number;
}

/**
 * Brings one service's instance lists from the registry to `onList`: by watch when the
 * registry has it, otherwise by resolve refreshed in the background. An error never replaces a
 * list: the last good one keeps serving (and `registryStale` says so).
 */
export class DiscoveryFeed {
  readonly #service: string;
  readonly #options: DiscoveryFeedOptions;
  readonly #onList: (instances: readonly ServiceInstance[]) => void;
  #unwatch: (() => void) | undefined;
  #ready: Promise<void> | undefined;
  /** Instances in the last list delivered; -1 until one was. */
  #lastCount = -1;
  #resolvedAt = Number.NEGATIVE_INFINITY;
  #refreshing = false;
  #stale = false;
  #closed = false;
  /** Aborts the shared first resolve when the feed closes: no caller's signal owns it. */
  readonly #lifetime = new AbortController();

  constructor(
    service: string,
    options: DiscoveryFeedOptions,
    onList: (instances: readonly ServiceInstance[]) => void,
  ) {
    this.#service = service;
    this.#options = options;
    this.#onList = onList;
  }

  /** Whether a first list has been delivered. */
  get hasList(): boolean {
    return this.#lastCount >= 0;
  }

  /**
   * Resolves once the first list is delivered; rejects with the registry's error if that fails.
   * The first resolve is shared by every caller waiting for it and bound to none of their
   * signals (CachingRegistry's pattern): each caller's signal ends only its own wait.
   */
  ready(signal?: AbortSignal): Promise<void> {
    if (this.hasList) return Promise.resolve();
    if (this.#closed) return Promise.reject(new ClientClosedError(this.#service));
    if (!this.#ready) {
      this.#ready = this.#start().catch((error: unknown) => {
        this.#ready = undefined; // the next call asks the registry again
        throw error;
      });
      this.#ready.catch(() => {}); // a caller that left must not leave an unhandled rejection
    }
    return raceAbort(this.#ready, signal);
  }

  /** Registries without watch: refresh in the background once the list is older than refreshMs. */
  refreshIfDue(): void {
    const { registry, clock, refreshMs, events } = this.#options;
    if (registry.watch || this.#refreshing || clock.now() - this.#resolvedAt < refreshMs) return;
    this.#refreshing = true;
    const service = this.#service;
    registry.resolve(service).then(
      (instances) => {
        this.#refreshing = false;
        this.#resolvedAt = clock.now();
        if (this.#stale) {
          this.#stale = false;
          events.emit('registryRecovered', { service });
        }
        this.#deliver(instances);
      },
      (error: unknown) => {
        // Keep the last good list; try again after another refresh period.
        this.#refreshing = false;
        this.#resolvedAt = clock.now();
        if (!this.#stale) {
          this.#stale = true;
          events.emit('registryStale', { service, error });
        }
      },
    );
  }

  close(): void {
    this.#closed = true;
    this.#lifetime.abort(new ClientClosedError(this.#service));
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  async #start(): Promise<void> {
    const { registry, clock } = this.#options;
    if (registry.watch && !this.#unwatch) {
      this.#unwatch = registry.watch(this.#service, (instances) => this.#deliver(instances));
    }
    // Resolve even when the watch answered at once: only resolve tells an unknown service
    // (ServiceNotFoundError) from one with no instances.
    try {
      const instances = await registry.resolve(this.#service, { signal: this.#lifetime.signal });
      if (this.#closed) throw new ClientClosedError(this.#service);
      this.#resolvedAt = clock.now();
      if (!this.hasList) this.#deliver(instances);
    } catch (error) {
      if (this.#lastCount > 0) return; // the watch already brought instances
      this.#lastCount = -1;
      throw error;
    }
  }

  #deliver(instances: readonly ServiceInstance[]): void {
    if (this.#closed) return;
    this.#lastCount = instances.length;
    this.#onList(instances);
  }
}
