import {
  type Clock,
  RegistryUnavailableError,
  type ServiceInstance,
  ServiceNotFoundError,
  type TimerHandle,
  type TypedEmitter,
} from '@switchyard/core';
import { type Etcd3, EtcdLeaseInvalidError, type Lease } from 'etcd3';
import { callEtcd } from './call-etcd.ts';
import type { EtcdRegistryEvents } from './etcd-events.ts';
import { retryDelay } from './retry-delay.ts';

interface RegistrationContext {
  readonly client: Etcd3;
  readonly clock: Clock;
  readonly events: TypedEmitter<EtcdRegistryEvents>;
  readonly leaseCheckMs: number | undefined;
  readonly requestTimeoutMs: number;
}

/**
 * One instance written under `key` and bound to a lease of its own, kept alive by etcd3's
 * keepalive stream. A lost lease (etcd3's `lost` event, or a periodic TTL query that finds it
 * gone while the stream still looks open) is replaced: a new lease is granted and the key
 * written again, with backoff until it works or the registration is closed.
 */
export class LeaseRegistration {
  #instance: ServiceInstance;
  #ttlSeconds: number;
  #lease: Lease | undefined;
  #leaseId: string | undefined;
  /** The lease whose grant and put succeeded: only its loss matters. */
  #granted: Lease | undefined;
  #healthy = false;
  #closed = false;
  #establishing: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #attempt = 0;

  constructor(
    readonly key: string,
    instance: ServiceInstance,
    ttlMs: number,
    readonly context: RegistrationContext,
  ) {
    this.#instance = instance;
    this.#ttlSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
  }

  /** The lease currently holding the key (etcd's decimal id), once granted. */
  get leaseId(): string | undefined {
    return this.#leaseId;
  }

  /** Grants a lease and writes the key. Concurrent calls share one attempt. */
  establish(signal?: AbortSignal): Promise<void> {
    this.#establishing ??= this.#grantAndPut().finally(() => {
      this.#establishing = undefined;
    });
    return callEtcd(this.#instance.service, signal, 'register', () => this.#establishing as Promise<void>);
  }

  /** Writes a changed instance; a changed TTL moves the key to a new lease. */
  async update(instance: ServiceInstance, ttlMs: number, signal?: AbortSignal): Promise<void> {
    this.#instance = instance;
    const ttlSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    if (this.#healthy && this.#lease && ttlSeconds === this.#ttlSeconds) {
      const lease = this.#lease;
      await callEtcd(instance.service, signal, 'put', () =>
        lease.put(this.key).value(JSON.stringify(instance)).exec(),
      );
      return;
    }
    this.#ttlSeconds = ttlSeconds;
    await this.establish(signal);
  }

  /**
   * Renews the lease now and checks that the key is still ours. Rejects with
   * ServiceNotFoundError when the lease or the key is gone, so the caller registers again.
   */
  async heartbeat(signal?: AbortSignal): Promise<void> {
    const { service, id } = this.#instance;
    const lease = this.#lease;
    if (this.#closed || !this.#healthy || !lease) throw new ServiceNotFoundError(service, { instanceId: id });
    try {
      await callEtcd(
        service,
        signal,
        'keepalive',
        () => lease.keepaliveOnce(),
        this.context.requestTimeoutMs,
      );
    } catch (error) {
      if (error instanceof RegistryUnavailableError && error.cause instanceof EtcdLeaseInvalidError) {
        this.#onLost(lease, error.cause);
        throw new ServiceNotFoundError(service, { instanceId: id, cause: error.cause });
      }
      throw error;
    }
    const current = await callEtcd(service, signal, 'get', () => this.context.client.get(this.key).exec());
    if (current.kvs[0]?.lease !== this.#leaseId) {
      throw new ServiceNotFoundError(service, { instanceId: id });
    }
  }

  /** Stops keepalives; revokes the lease (deleting the key at once) when `revoke` is set. */
  async close(revoke: boolean): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    const lease = this.#lease;
    this.#lease = undefined;
    if (!lease) return;
    if (revoke) await callEtcd(this.#instance.service, undefined, 'revoke', () => lease.revoke());
    else lease.release();
  }

  async #grantAndPut(): Promise<void> {
    const previous = this.#lease;
    const lease = this.context.client.lease(this.#ttlSeconds);
    lease.on('lost', (error) => this.#onLost(lease, error));
    this.#lease = lease;
    try {
      const id = await lease.grant();
      await lease.put(this.key).value(JSON.stringify(this.#instance)).exec();
      if (this.#closed) {
        await lease.revoke().catch(() => undefined);
        return;
      }
      this.#leaseId = id;
      this.#granted = lease;
      this.#healthy = true;
      this.#attempt = 0;
      this.#scheduleCheck();
    } catch (error) {
      lease.release();
      if (this.#lease === lease) this.#lease = previous;
      throw error;
    }
    // The key now lives on the new lease; the old one holds nothing worth keeping.
    if (previous && previous !== lease) await previous.revoke().catch(() => undefined);
  }

  #onLost(lease: Lease, error: Error): void {
    // Only the established lease matters: a failed grant is reported to its caller instead.
    if (lease !== this.#granted || lease !== this.#lease || !this.#healthy || this.#closed) return;
    this.#healthy = false;
    lease.release();
    const { service, id } = this.#instance;
    this.context.events.emit('leaseLost', { service, id, error });
    this.#recover();
  }

  #recover(): void {
    if (this.#closed) return;
    this.establish().then(
      () => {
        if (!this.#closed) {
          this.context.events.emit('reregistered', {
            service: this.#instance.service,
            id: this.#instance.id,
          });
        }
      },
      (error: Error) => {
        if (this.#closed) return;
        this.context.events.emit('error', {
          service: this.#instance.service,
          operation: 'reregister',
          error,
        });
        this.#clearTimer();
        this.#timer = this.context.clock.setTimeout(() => this.#recover(), retryDelay(this.#attempt++));
      },
    );
  }

  #scheduleCheck(): void {
    this.#clearTimer();
    const every = this.context.leaseCheckMs ?? Math.max(500, (this.#ttlSeconds * 1000) / 3);
    this.#timer = this.context.clock.setTimeout(() => void this.#check(), every);
  }

  async #check(): Promise<void> {
    const lease = this.#lease;
    const id = this.#leaseId;
    if (this.#closed || !this.#healthy || !lease || id === undefined) return;
    try {
      const answer = await this.context.client.leaseClient.leaseTimeToLive({ ID: id });
      // TTL -1: etcd no longer knows the lease, whatever the keepalive stream looked like.
      // (0 can be a live lease rounded down under load; an expired one turns -1 within moments.)
      if (Number(answer.TTL) < 0) this.#onLost(lease, new EtcdLeaseInvalidError(id));
    } catch {
      // Unreachable etcd is the keepalive stream's business; it declares the lease lost itself.
    }
    if (this.#healthy && lease === this.#lease) this.#scheduleCheck();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.context.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
