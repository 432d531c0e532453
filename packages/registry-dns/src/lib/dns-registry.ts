import {
  type Registry,
  RejectionLog,
  type ResolveOptions,
  type ServiceInstance,
  SharedWatches,
  TypedEmitter,
  ValidationError,
  validateServiceName,
} from '@switchyard/core';
import type { DnsRegistryEvents } from './dns-events.ts';
import { lookupService, recordKey } from './dns-lookup.ts';
import { type DnsRegistryOptions, type ResolvedDnsOptions, resolveDnsOptions } from './dns-options.ts';
import { DnsWatch } from './dns-watch.ts';

/**
 * A read-only Registry over DNS: SRV records (priority, weight, port, target) or A/AAAA records
 * with a fixed port, from the system's or the given DNS servers. Watches re-resolve on the
 * records' TTL, clamped to [minTtlMs, maxTtlMs].
 *
 * @example
 * const registry = new DnsRegistry({
 *   mode: 'srv',
 *   servers: ['10.96.0.10'],
 *   nameFor: (service) => `_http._tcp.${service}.default.svc.cluster.local`,
 * });
 * const instances = await registry.resolve('users');
 */
export class DnsRegistry extends TypedEmitter<DnsRegistryEvents> implements Registry {
  readonly #options: ResolvedDnsOptions;
  // Shared by resolve and watch: each dropped record is reported once, however it was read.
  readonly #rejections = new RejectionLog();
  readonly #watches = new SharedWatches(
    (service) => new DnsWatch(service, this.#options, this, this.#rejections),
  );
  #closed = false;

  constructor(options: DnsRegistryOptions) {
    super();
    this.#options = resolveDnsOptions(options);
  }

  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    validateServiceName(service);
    this.#assertOpen();
    const answer = await lookupService(service, this.#options, options.signal);
    for (const entry of this.#rejections.replace(service, answer.rejected, recordKey)) {
      this.emit('invalidInstance', { service, ...entry });
    }
    return Object.freeze([...answer.instances]);
  }

  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    validateServiceName(service);
    this.#assertOpen();
    return this.#watches.watch(service, listener);
  }

  /** Stops every watch and cancels their lookups in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const watch of this.#watches.drain()) watch.close();
    this.#rejections.clear();
    this.removeAllListeners();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ValidationError('registry', 'this DnsRegistry is closed');
  }
}
