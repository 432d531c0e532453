import {
  type Clock,
  type RegisterOptions,
  type Registry,
  type RegistryWriter,
  type ResolveOptions,
  type ServiceInstance,
  systemClock,
  TypedEmitter,
  ValidationError,
  validateInstance,
  validateServiceName,
} from '@switchyard/core';
import { jitteredBackoff } from './backoff.ts';
import type { HttpRegistryEvents, HttpRegistryOptions } from './http-registry-types.ts';
import { LongPollWatch } from './long-poll-watch.ts';
import { expectStatus, parseIndex, parseInstanceList, parseNameList } from './parse-answer.ts';
import {
  type FetchLike,
  type RegistryAnswer,
  type RegistryCall,
  sendRegistryCall,
  validateBaseUrl,
} from './registry-transport.ts';
import { validateTimerMs } from './timer-ms.ts';

// Time the server may take beyond `waitMs` before a long-poll counts as lost.
const LONG_POLL_MARGIN_MS = 5_000;

/**
 * Client of the registry HTTP protocol (the embedded registry server, or its msw mock).
 *
 * @example
 * const registry = new HttpRegistry({ url: 'http://127.0.0.1:4000' });
 * registry.on('registryStale', ({ service, error }) => console.warn(service, error.message));
 * const stop = registry.watch('users', (instances) => console.log(instances.length));
 * await registry.register(instance, { ttlMs: 10_000 });
 */
export class HttpRegistry extends TypedEmitter<HttpRegistryEvents> implements Registry, RegistryWriter {
  readonly #url: string;
  readonly #fetch: FetchLike | undefined;
  readonly #watchWaitMs: number;
  readonly #timeoutMs: number;
  readonly #backoff;
  readonly #clock: Clock;
  readonly #watches = new Map<string, LongPollWatch>();

  constructor(options: HttpRegistryOptions) {
    super();
    this.#url = validateBaseUrl(options.url);
    this.#fetch = options.fetch;
    this.#watchWaitMs = validateTimerMs(options.watchWaitMs ?? 30_000, 'watchWaitMs') as number;
    this.#timeoutMs = validateTimerMs(options.timeoutMs ?? 10_000, 'timeoutMs') as number;
    this.#backoff = jitteredBackoff(options.backoff);
    this.#clock = options.clock ?? systemClock;
  }

  /** The live instances. Rejects with ServiceNotFoundError, RegistryUnavailableError or RegistryProtocolError. */
  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    return (await this.#poll(validateServiceName(service), undefined, options.signal)).instances;
  }

  /**
   * Long-polls the service and calls `listener` with the first list, then with every change.
   * Listeners of one service share one poll loop; it stops when the last one unsubscribes.
   */
  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    validateServiceName(service);
    let watch = this.#watches.get(service);
    if (!watch) {
      const created: LongPollWatch = new LongPollWatch({
        service,
        poll: (index, signal) => this.#poll(service, index, signal),
        backoff: this.#backoff,
        clock: this.#clock,
        onError: (error) => this.emit('error', { service, error }),
        onStale: (error) => this.emit('registryStale', { service, error }),
        onRecovered: (staleForMs) => this.emit('registryRecovered', { service, staleForMs }),
        onIdle: () => {
          if (this.#watches.get(service) === created) this.#watches.delete(service);
        },
      });
      watch = created;
      this.#watches.set(service, watch);
    }
    return watch.add(listener);
  }

  /** Registers (or replaces) an instance; with `ttlMs` it must heartbeat to stay. */
  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<void> {
    const clean = validateInstance(instance);
    const ttlMs = validateTimerMs(options.ttlMs);
    const body = JSON.stringify(ttlMs === undefined ? clean : { ...clean, ttlMs });
    const answer = await this.#send({
      method: 'POST',
      path: '/register',
      body,
      signal: options.signal,
      service: clean.service,
      instanceId: clean.id,
    });
    expectStatus(answer, 201, clean.service, clean.id);
  }

  /** Removes an instance. Rejects with ServiceNotFoundError when the registry does not have it. */
  async deregister(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const path = instancePath(service, id);
    const answer = await this.#send({
      method: 'DELETE',
      path,
      signal: options.signal,
      service,
      instanceId: id,
    });
    expectStatus(answer, 204, service, id);
  }

  /** Renews the TTL. ServiceNotFoundError means the registry forgot the instance: register again. */
  async heartbeat(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const path = `${instancePath(service, id)}/heartbeat`;
    const answer = await this.#send({ method: 'PUT', path, signal: options.signal, service, instanceId: id });
    expectStatus(answer, 204, service, id);
  }

  /** Names of every service the registry knows. */
  async services(options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const answer = await this.#send({ method: 'GET', path: '/services', signal: options.signal });
    expectStatus(answer, 200, undefined, undefined);
    return parseNameList(answer.text);
  }

  /** Stops every watch and aborts their polls in flight. */
  async close(): Promise<void> {
    const watches = [...this.#watches.values()];
    this.#watches.clear();
    await Promise.all(watches.map((watch) => watch.stop()));
  }

  async #poll(service: string, index: number | undefined, signal: AbortSignal | undefined) {
    const query = index === undefined ? '' : `?index=${index}&waitMs=${this.#watchWaitMs}`;
    const answer = await this.#send({
      method: 'GET',
      path: `/services/${encodeURIComponent(service)}${query}`,
      signal,
      service,
      timeoutMs: index === undefined ? this.#timeoutMs : this.#watchWaitMs + LONG_POLL_MARGIN_MS,
    });
    expectStatus(answer, 200, service, undefined);
    const instances = parseInstanceList(service, answer.text, ({ index: at, entry, error }) =>
      this.emit('invalidInstance', { service, index: at, entry, reason: error.message, error }),
    );
    return {
      instances,
      index:
        index === undefined && !answer.headers.has('x-registry-index')
          ? 0
          : parseIndex(service, answer.headers),
    };
  }

  #send(call: Omit<RegistryCall, 'timeoutMs'> & { timeoutMs?: number }): Promise<RegistryAnswer> {
    return sendRegistryCall(this.#url, this.#fetch, {
      ...call,
      timeoutMs: call.timeoutMs ?? this.#timeoutMs,
    });
  }
}

function instancePath(service: string, id: string): string {
  validateServiceName(service);
  if (typeof id !== 'string' || id.length === 0) {
    throw new ValidationError('id', `expected a non-empty instance id, got ${JSON.stringify(id)}`, {
      service,
    });
  }
  return `/services/${encodeURIComponent(service)}/instances/${encodeURIComponent(id)}`;
}
