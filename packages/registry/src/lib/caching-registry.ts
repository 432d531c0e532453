import {
  abortReason,
  type Clock,
  type Registry,
  RegistryProtocolError,
  RegistryUnavailableError,
  type ResolveOptions,
  raceAbort,
  rejectUnknownOptions,
  type ServiceInstance,
  type SwitchyardError,
  systemClock,
  TypedEmitter,
  ValidationError,
  validateServiceName,
  validateTtl,
} from '@switchyard/core';
import { LRUCache } from 'lru-cache';
import { onInnerOutage } from './inner-outage.ts';
import { pollWatch } from './poll-watch.ts';
import { validateTimerMs } from './timer-ms.ts';

export interface CachingRegistryOptions {
  /** How long a fetched list is served without asking the inner registry again. */
  readonly ttlMs: number;
  /** Services held at most (least recently used ones are dropped). Default 1000. */
  readonly maxServices?: number;
  /**
   * How old the last good list may get while the inner registry fails before resolve throws.
   * Default: no limit (serve the last good list for as long as the outage lasts).
   */
  readonly maxStalenessMs?: number;
  readonly clock?: Clock;
}

export interface CachingRegistryEvents {
  [event: string]: unknown;
  /** The inner registry failed; `service` is served from its last good list. */
  registryStale: { readonly service: string; readonly error: SwitchyardError; readonly ageMs: number };
  /** The inner registry answered again after being stale. */
  registryRecovered: { readonly service: string; readonly staleForMs: number };
}

interface Entry {
  instances: readonly ServiceInstance[];
  /** When the list was last confirmed by the inner registry. */
  fetchedAt: number;
  /** While failing: when the outage was first seen, and when to ask again. */
  staleSince: number | undefined;
  retryAt: number;
}

/**
 * A cache in front of any registry: one inner call per service per `ttlMs` however many callers
 * ask at once, a bounded number of services, and last-known-good through outages. An error
 * (unreachable registry, garbage answer) never replaces a good list; a genuine answer, empty or
 * not, always does. `close()` also closes the inner registry.
 *
 * @example
 * const registry = new CachingRegistry(new HttpRegistry({ url }), { ttlMs: 5_000, maxStalenessMs: 300_000 });
 * registry.on('registryStale', ({ service, error }) => log.warn(service, error.message));
 */
export class CachingRegistry extends TypedEmitter<CachingRegistryEvents> implements Registry {
  readonly #inner: Registry;
  readonly #ttlMs: number;
  readonly #maxStalenessMs: number;
  readonly #clock: Clock;
  readonly #cache: LRUCache<string, Entry>;
  readonly #pending = new Map<string, Promise<readonly ServiceInstance[]>>();
  readonly #unwatch = new Set<() => void>();
  /** Services served from a last good list right now (by resolve or by the inner watch). */
  readonly #stale = new Set<string>();

  constructor(inner: Registry, options: CachingRegistryOptions) {
    super();
    if (!inner || typeof inner.resolve !== 'function') {
      throw new ValidationError('inner', 'expected a Registry with a resolve() method');
    }
    this.#inner = inner;
    rejectUnknownOptions(
      options,
      ['ttlMs', 'maxServices', 'maxStalenessMs', 'clock'],
      'CachingRegistry options',
    );
    const ttlMs = validateTimerMs(options?.ttlMs);
    if (ttlMs === undefined) throw new ValidationError('ttlMs', 'required: how long a fetched list is fresh');
    this.#ttlMs = ttlMs;
    const maxServices = options.maxServices ?? 1000;
    if (!Number.isSafeInteger(maxServices) || maxServices < 1) {
      throw new ValidationError('maxServices', `expected an integer >= 1, got ${String(maxServices)}`);
    }
    this.#maxStalenessMs = validateTtl(options.maxStalenessMs, 'maxStalenessMs') ?? Number.POSITIVE_INFINITY;
    this.#clock = options.clock ?? systemClock;
    this.#cache = new LRUCache({ max: maxServices });
    // Surface the inner watch's outage reports (HttpRegistry's stale/recovered) as ours.
    const off = onInnerOutage(inner, {
      stale: (service, error) => {
        const entry = this.#cache.get(service);
        this.#markStale(service, error, entry ? this.#clock.now() - entry.fetchedAt : 0);
      },
      recovered: (service, staleForMs) => this.#markRecovered(service, staleForMs),
    });
    if (off) this.#unwatch.add(off);
  }

  /** The cached list when fresh; otherwise one (shared) inner resolve, falling back to the last good list. */
  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    const { signal } = options;
    if (signal?.aborted) throw abortReason(signal);
    validateServiceName(service);
    const entry = this.#cache.get(service);
    const now = this.#clock.now();
    if (entry && now < (entry.staleSince === undefined ? entry.fetchedAt + this.#ttlMs : entry.retryAt)) {
      return this.#serve(service, entry, now);
    }
    let pending = this.#pending.get(service);
    if (!pending) {
      // The shared call is not tied to any one caller's signal: one caller giving up must not
      // fail the others. Each caller still stops waiting when its own signal aborts.
      pending = this.#refresh(service).finally(() => this.#pending.delete(service));
      this.#pending.set(service, pending);
    }
    return signal ? raceAbort(pending, signal) : pending;
  }

  /**
   * Passes the inner watch through (the inner registry keeps its own last-known-good rule) and
   * keeps the cache current from it. Without an inner watch, polls resolve every `ttlMs`.
   */
  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    validateServiceName(service);
    const unwatch = this.#inner.watch
      ? this.#inner.watch(service, (instances) => {
          this.#store(service, instances);
          listener(instances);
        })
      : pollWatch({
          resolve: () => this.resolve(service),
          listener,
          clock: this.#clock,
          intervalMs: this.#ttlMs,
        });
    this.#unwatch.add(unwatch);
    return () => {
      this.#unwatch.delete(unwatch);
      unwatch();
    };
  }

  /** Stops watches, forgets the cache and closes the inner registry. */
  async close(): Promise<void> {
    for (const unwatch of this.#unwatch) unwatch();
    this.#unwatch.clear();
    this.#cache.clear();
    await this.#inner.close?.();
  }

  async #refresh(service: string): Promise<readonly ServiceInstance[]> {
    try {
      const instances = await this.#inner.resolve(service);
      this.#store(service, instances);
      return instances;
    } catch (error) {
      const entry = this.#cache.get(service);
      const outage = error instanceof RegistryUnavailableError || error instanceof RegistryProtocolError;
      if (!outage) this.#cache.delete(service); // a genuine answer (e.g. not found) replaces the list
      if (!entry || !outage) throw error;
      const now = this.#clock.now();
      entry.retryAt = now + this.#ttlMs;
      entry.staleSince ??= now;
      this.#markStale(service, error, now - entry.fetchedAt);
      if (now - entry.fetchedAt > this.#maxStalenessMs) throw error;
      return entry.instances;
    }
  }

  #serve(service: string, entry: Entry, now: number): readonly ServiceInstance[] {
    if (now - entry.fetchedAt > this.#maxStalenessMs) {
      throw new RegistryUnavailableError(
        `last good list is ${now - entry.fetchedAt} ms old, over maxStalenessMs ${this.#maxStalenessMs}`,
        { service },
      );
    }
    return entry.instances;
  }

  #store(service: string, instances: readonly ServiceInstance[]): void {
    const now = this.#clock.now();
    const staleSince = this.#cache.get(service)?.staleSince;
    if (staleSince !== undefined) this.#markRecovered(service, now - staleSince);
    this.#cache.set(service, { instances, fetchedAt: now, staleSince: undefined, retryAt: 0 });
  }

  #markStale(service: string, error: SwitchyardError, ageMs: number): void {
    if (this.#stale.has(service)) return;
    this.#stale.add(service);
    this.emit('registryStale', { service, error, ageMs });
  }

  #markRecovered(service: string, staleForMs: number): void {
    if (this.#stale.delete(service)) this.emit('registryRecovered', { service, staleForMs });
  }
}
