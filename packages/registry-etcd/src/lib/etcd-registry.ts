import {
  type RegisterOptions,
  type Registry,
  RegistryProtocolError,
  type RegistryWriter,
  RejectionLog,
  type ResolveOptions,
  type ServiceInstance,
  ServiceNotFoundError,
  SharedWatches,
  TypedEmitter,
  ValidationError,
  validateInstance,
  validateInstanceId,
  validateServiceName,
  validateTtl,
} from '@switchyard/core';
import { Etcd3 } from 'etcd3';
import { callEtcd } from './call-etcd.ts';
import { decodeEntry } from './decode-entry.ts';
import type { EtcdRegistryEvents } from './etcd-events.ts';
import { type EtcdRegistryOptions, type ResolvedEtcdOptions, resolveEtcdOptions } from './etcd-options.ts';
import { LeaseRegistration } from './lease-registration.ts';
import { ServiceWatch } from './service-watch.ts';

/**
 * A Registry backed by etcd v3. Instances are JSON values under `<prefix><service>/<id>`;
 * `register` binds each to a lease of its own, kept alive and replaced when lost; `watch`
 * follows the service's prefix, resuming from the last applied revision after a disconnect.
 *
 * @example
 * const registry = new EtcdRegistry({ hosts: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'] });
 * await registry.register({ id: 'users-1', service: 'users', host: '10.0.0.7', port: 8080 }, { ttlMs: 10_000 });
 * const stop = registry.watch('users', (instances) => console.log(instances.length));
 * registry.on('invalidInstance', ({ key, reason }) => console.warn(key, reason));
 */
export class EtcdRegistry extends TypedEmitter<EtcdRegistryEvents> implements Registry, RegistryWriter {
  readonly #options: ResolvedEtcdOptions;
  readonly #client: Etcd3;
  // Shared by resolve and watch: each bad key is reported once, however it was read.
  readonly #rejections = new RejectionLog();
  readonly #watches = new SharedWatches(
    (service) =>
      new ServiceWatch(service, this.keyOf(service, ''), {
        client: this.#client,
        clock: this.#options.clock,
        events: this,
        maxInstances: this.#options.maxInstances,
        rejections: this.#rejections,
      }),
  );
  readonly #registrations = new Map<string, LeaseRegistration>();
  #closed = false;

  constructor(options: EtcdRegistryOptions) {
    super();
    this.#options = resolveEtcdOptions(options);
    this.#client = new Etcd3(this.#options.client);
  }

  /** The key an instance of `service` with `id` is stored under. */
  keyOf(service: string, id: string): string {
    return `${this.#options.prefix}${service}/${id}`;
  }

  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    validateServiceName(service);
    this.#assertOpen();
    const servicePrefix = this.keyOf(service, '');
    const max = this.#options.maxInstances;
    // One key more than allowed is enough to know the answer is too big, without reading it all.
    const answer = await callEtcd(service, options.signal, 'get', () =>
      this.#client
        .getAll()
        .prefix(servicePrefix)
        .limit(max + 1)
        .exec(),
    );
    if (answer.kvs.length > max) throw tooManyKeys(service, servicePrefix, max);
    if (answer.kvs.length === 0) throw new ServiceNotFoundError(service);
    const instances: ServiceInstance[] = [];
    const rejected: EtcdRegistryEvents['invalidInstance'][] = [];
    for (const kv of answer.kvs) {
      const key = kv.key.toString();
      const decoded = decodeEntry(service, key.slice(servicePrefix.length), kv.value.toString());
      if (decoded.ok) instances.push(decoded.instance);
      else rejected.push({ service, key, reason: decoded.reason, error: decoded.error });
    }
    for (const event of this.#rejections.replace(service, rejected, (entry) => entry.key)) {
      this.emit('invalidInstance', event);
    }
    return Object.freeze(instances);
  }

  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    validateServiceName(service);
    this.#assertOpen();
    return this.#watches.watch(service, listener);
  }

  /**
   * Writes `instance` under a new lease of `ttlMs` (rounded up to whole seconds). Registering
   * the same service and id again updates the value in place.
   */
  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<void> {
    const clean = validateInstance(instance);
    this.#assertOpen();
    const context = { service: clean.service, instanceId: clean.id };
    const ttlMs = validateTtl(options.ttlMs ?? this.#options.defaultTtlMs, 'ttlMs', context) as number;
    const key = this.keyOf(clean.service, clean.id);
    const existing = this.#registrations.get(key);
    if (existing) return existing.update(clean, ttlMs, options.signal);
    const registration = new LeaseRegistration(key, clean, ttlMs, {
      client: this.#client,
      clock: this.#options.clock,
      events: this,
      leaseCheckMs: this.#options.leaseCheckMs,
      requestTimeoutMs: this.#options.requestTimeoutMs,
    });
    this.#registrations.set(key, registration);
    try {
      await registration.establish(options.signal);
    } catch (error) {
      if (this.#registrations.get(key) === registration) this.#registrations.delete(key);
      await registration.close(false);
      throw error;
    }
  }

  /** Removes the instance (revoking its lease when this registry owns it). Unknown ids are a no-op. */
  async deregister(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    validateServiceName(service);
    validateInstanceId(id);
    this.#assertOpen();
    const key = this.keyOf(service, id);
    const registration = this.#registrations.get(key);
    this.#registrations.delete(key);
    if (registration) await registration.close(true);
    await callEtcd(service, options.signal, 'delete', () => this.#client.delete().key(key).exec());
  }

  /** Renews the lease at once; rejects with ServiceNotFoundError when this registry holds no live registration. */
  async heartbeat(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    validateServiceName(service);
    validateInstanceId(id);
    this.#assertOpen();
    const registration = this.#registrations.get(this.keyOf(service, id));
    if (!registration) throw new ServiceNotFoundError(service, { instanceId: id });
    await registration.heartbeat(options.signal);
  }

  /** Lease id holding a registration, for diagnostics and tests. */
  leaseOf(service: string, id: string): string | undefined {
    return this.#registrations.get(this.keyOf(service, id))?.leaseId;
  }

  /** Stops every watch, revokes (or releases) owned leases, and closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const watches = this.#watches.drain();
    const registrations = [...this.#registrations.values()];
    this.#registrations.clear();
    await Promise.allSettled([
      ...watches.map((watch) => watch.close()),
      ...registrations.map((registration) => registration.close(this.#options.revokeOnClose)),
    ]);
    this.#client.close();
    this.#rejections.clear();
    this.removeAllListeners();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ValidationError('registry', 'this EtcdRegistry is closed');
  }
}

/** The error for a service holding more keys than `maxInstances`. */
export function tooManyKeys(service: string, prefix: string, max: number): RegistryProtocolError {
  return new RegistryProtocolError(`more than maxInstances (${max}) keys under ${prefix}`, { service });
}
