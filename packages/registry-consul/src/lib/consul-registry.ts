import {
  type RegisterOptions,
  type Registry,
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
import { rejectionKey } from './consul-entry.ts';
import type { ConsulRegistryEvents } from './consul-events.ts';
import { consulRequest, statusError } from './consul-http.ts';
import {
  type ConsulRegistryOptions,
  type ResolvedConsulOptions,
  resolveConsulOptions,
} from './consul-options.ts';
import { ConsulWatch } from './consul-watch.ts';
import { queryHealth } from './health-query.ts';

// Consul 1.x answers a pass for an unknown check with 404; older agents with 500 and this text.
const UNKNOWN_CHECK = /unknown check|does not have associated TTL/i;

/**
 * A Registry over Consul's HTTP API: `resolve` and `watch` read the passing instances of
 * `/v1/health/service/<name>` (watch with blocking queries); `register` adds the instance to
 * the local agent with a TTL check `service:<id>` that `heartbeat` passes.
 *
 * @example
 * const registry = new ConsulRegistry({ url: 'http://127.0.0.1:8500', token: process.env.CONSUL_HTTP_TOKEN });
 * await registry.register({ id: 'users-1', service: 'users', host: '10.0.0.7', port: 8080 }, { ttlMs: 10_000 });
 * setInterval(() => registry.heartbeat('users', 'users-1'), 3_000).unref();
 * const stop = registry.watch('users', (instances) => console.log(instances.length));
 */
export class ConsulRegistry extends TypedEmitter<ConsulRegistryEvents> implements Registry, RegistryWriter {
  readonly #options: ResolvedConsulOptions;
  // Shared by resolve and watch: each bad entry is reported once, however it was read.
  readonly #rejections = new RejectionLog();
  readonly #watches = new SharedWatches(
    (service) => new ConsulWatch(service, this.#options, this, this.#rejections),
  );
  #closed = false;

  constructor(options: ConsulRegistryOptions) {
    super();
    this.#options = resolveConsulOptions(options);
  }

  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    validateServiceName(service);
    this.#assertOpen();
    const answer = await queryHealth(this.#options, service, { index: 0, signal: options.signal });
    for (const entry of this.#rejections.replace(service, answer.rejected, rejectionKey)) {
      this.emit('invalidInstance', { service, ...entry });
    }
    return Object.freeze([...answer.instances]);
  }

  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    validateServiceName(service);
    this.#assertOpen();
    return this.#watches.watch(service, listener);
  }

  /**
   * Registers with the local agent: `Weights.Passing` is the weight rounded (at least 1, as
   * Consul requires), `Meta` the metadata plus `zone` and `secure`, and a TTL check
   * `service:<id>` that starts passing and must be renewed by `heartbeat` within `ttlMs`.
   */
  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<void> {
    const clean = validateInstance(instance);
    this.#assertOpen();
    const context = { service: clean.service, instanceId: clean.id };
    const ttlMs = validateTtl(options.ttlMs ?? this.#options.defaultTtlMs, 'ttlMs', context) as number;
    // The keys this adapter adds when reading (consul.node…) are not the instance's own.
    const meta: Record<string, string> = Object.fromEntries(
      Object.entries(clean.metadata ?? {}).filter(([key]) => !key.startsWith('consul.')),
    );
    if (clean.zone !== undefined) meta.zone = clean.zone;
    if (clean.secure) meta.secure = 'true';
    const body = {
      ID: clean.id,
      Name: clean.service,
      Address: clean.host,
      Port: clean.port,
      Tags: this.#options.tag ? [this.#options.tag] : [],
      Meta: meta,
      Weights: { Passing: Math.max(1, Math.round(clean.weight ?? 1)), Warning: 1 },
      Check: {
        CheckID: `service:${clean.id}`,
        Name: `${clean.service} TTL`,
        TTL: `${Math.ceil(ttlMs)}ms`,
        Status: clean.status === undefined || clean.status === 'up' ? 'passing' : 'critical',
        DeregisterCriticalServiceAfter: `${Math.ceil(this.#options.deregisterCriticalAfterMs)}ms`,
      },
    };
    const answer = await this.#put('/v1/agent/service/register', clean.service, options.signal, body);
    if (answer.status !== 200) throw statusError(answer, 'service register', clean.service);
  }

  /** Removes the instance from the local agent. An unknown id is a no-op. */
  async deregister(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    validateServiceName(service);
    validateInstanceId(id);
    this.#assertOpen();
    const answer = await this.#put(
      `/v1/agent/service/deregister/${encodeURIComponent(id)}`,
      service,
      options.signal,
    );
    if (answer.status !== 200 && answer.status !== 404)
      throw statusError(answer, 'service deregister', service);
  }

  /** Passes the TTL check; rejects with ServiceNotFoundError when the agent no longer knows it. */
  async heartbeat(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    validateServiceName(service);
    validateInstanceId(id);
    this.#assertOpen();
    const answer = await this.#put(
      `/v1/agent/check/pass/${encodeURIComponent(`service:${id}`)}`,
      service,
      options.signal,
    );
    if (answer.status === 200) return;
    if (answer.status === 404 || (answer.status === 500 && UNKNOWN_CHECK.test(answer.text))) {
      throw new ServiceNotFoundError(service, { instanceId: id });
    }
    throw statusError(answer, 'check pass', service);
  }

  /** Stops every watch and aborts their queries in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const watch of this.#watches.drain()) watch.close();
    this.#rejections.clear();
    this.removeAllListeners();
  }

  #put(path: string, service: string, signal: AbortSignal | undefined, body?: unknown) {
    return consulRequest(this.#options, 'PUT', path, {
      timeoutMs: this.#options.requestTimeoutMs,
      signal,
      service,
      ...(body === undefined ? {} : { body }),
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new ValidationError('registry', 'this ConsulRegistry is closed');
  }
}
