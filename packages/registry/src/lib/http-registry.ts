import {
  type Clock,
  type RegisterOptions,
  type Registry,
  type RegistryWriter,
  type ResolveOptions,
  type ServiceInstance,
  type SwitchyardError,
  systemClock,
  TypedEmitter,
  type ValidationError,
  validateInstance,
  validateServiceName,
} from '@switchyard/core';
import { type BackoffOptions, jitteredBackoff } from './backoff.ts';
import { LongPollWatch } from './long-poll-watch.ts';
import { expectStatus, parseIndex, parseInstanceList, parseNameList } from './parse-answer.ts';
import {
  type FetchLike,
  type RegistryAnswer,
  type RegistryCall,
  sendRegistryCall,
  validateBaseUrl,
} from './registry-transport.ts';
import { validateTtl } from './ttl.ts';

export interface HttpRegistryOptions {
  /** Base URL of the registry server, e.g. `http://127.0.0.1:8500`. */
  readonly url: string;
  /** Default: the global `fetch`, looked up per request (so msw can intercept it). */
  readonly fetch?: FetchLike;
  /** How long one long-poll may wait on the server. Default 30 s. */
  readonly watchWaitMs?: number;
  /** Per-request timeout for everything but the long-poll. Default 10 s. */
  readonly timeoutMs?: number;
  /** Retry pacing of the watch loop after errors. */
  readonly backoff?: BackoffOptions;
  /** For backoff sleeps and staleness durations. */
  readonly clock?: Clock;
}

/** Events of the HTTP registry; the client turns `stale`/`recovered` into `registryStale`/… */
export interface HttpRegistryEvents {
  [event: string]: unknown;
  /** A watch request failed; the watch keeps its last list and retries. */
  error: { readonly service: string; readonly error: SwitchyardError };
  /** A watch lost contact: its listener keeps the last list until `recovered`. */
  stale: { readonly service: string; readonly error: SwitchyardError };
  recovered: { readonly service: string; readonly staleForMs: number };
  /** An entry of an answer failed validation and was dropped; the rest were used. */
  invalidInstance: {
    readonly service: string;
    readonly index: number;
    readonly entry: unknown;
    readonly error: ValidationError;
  };
}

// Time the server may take beyond `waitMs` before a long-poll counts as lost.
const LONG_POLL_MARGIN_MS = 5_000;

/**
 * Client of the registry HTTP protocol (the embedded registry server, or its msw mock).
 *
 * @example
 * const registry = new HttpRegistry({ url: 'http://127.0.0.1:4000' });
 * registry.on('stale', ({ service, error }) => console.warn(service, error.message));
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
    this.#watchWaitMs = validateTtl(options.watchWaitMs ?? 30_000, 'watchWaitMs') as number;
    this.#timeoutMs = validateTtl(options.timeoutMs ?? 10_000, 'timeoutMs') as number;
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
        onStale: (error) => this.emit('stale', { service, error }),
        onRecovered: (staleForMs) => this.emit('recovered', { service, staleForMs }),
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
    const ttlMs = validateTtl(options.ttlMs);
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
    const path = `/services/${encodeURIComponent(service)}/instances/${encodeURIComponent(id)}`;
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
    const path = `/services/${encodeURIComponent(service)}/instances/${encodeURIComponent(id)}/heartbeat`;
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
      this.emit('invalidInstance', { service, index: at, entry, error }),
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
