import { setMaxListeners } from 'node:events';
import {
  abortReason,
  ClientClosedError,
  type Clock,
  type Registry,
  type RegistryEvents,
  type ServiceInstance,
  ServiceNotFoundError,
  systemClock,
  TypedEmitter,
  ValidationError,
  warnListenerError,
} from '@switchyard/core';
import {
  type AttemptContext,
  assertDispatchedCall,
  type DispatchedCall,
  type ExecutorStats,
  isIdempotentMethod,
  toAttemptFn,
} from '@switchyard/resilience';
import { type AttemptFn, CallDiagnostics, diagnosticsWanted } from './call-diagnostics.ts';
import { ClientEmitter } from './client-emitter.ts';
import type { ClientEvents } from './client-events.ts';
import {
  type ServiceDiscoveryClientOptions,
  serviceOptionsFor,
  validateClientOptions,
} from './client-options.ts';
import { HostPolicy } from './host-policy.ts';
import { OriginPools } from './origin-pools.ts';
import { RequestCall } from './request-call.ts';
import type { HttpRequest, HttpResponse } from './send-request.ts';
import { type ServiceInspection, ServiceView } from './service-view.ts';
import { ServiceViews } from './service-views.ts';

/** Views kept at most (LRU beyond it): bounds memory and watches whatever names callers use. */
export const DEFAULT_MAX_SERVICES = 1_000;
/** gRPC's channel idle timeout: a service not called for 30 minutes releases its view and watch. */
export const DEFAULT_SERVICE_IDLE_MS = 30 * 60_000;

/** Options of one `callService` call. */
export interface CallOptions<T = unknown> {
  /** Affinity key for consistent-hash and Maglev services. */
  readonly hashKey?: string;
  /** Safe to send twice: allows a retry after the request may have reached an instance. */
  readonly idempotent?: boolean;
  /** Cancels the call and every attempt; nothing is retried after it aborts. */
  readonly signal?: AbortSignal;
  /** Start a second attempt on another instance after this many ms (idempotent calls only). */
  readonly hedgeAfterMs?: number;
  /**
   * Whether a value your function resolved with is a success for outlier detection (default:
   * every resolved value is). `request()` uses it to count 5xx answers against the instance.
   */
  readonly succeeded?: (value: T) => boolean;
  /**
   * Describes the call as an HTTP request to diagnostics (OpenTelemetry spans and metrics follow
   * the HTTP conventions), and lets them add headers (trace context): your function then gets a
   * third argument, the headers to send with the attempt. `statusOf` reads the answer's status.
   */
  readonly http?: {
    readonly method: string;
    readonly path: string;
    readonly statusOf?: (value: T) => number;
  };
}

/** What a call's function receives besides the instance. */
export type CallContext = AttemptContext;

/**
 * Calls services by name: finds their instances, picks one, and runs the call with retry,
 * failover, timeouts and circuit breaking.
 *
 * @example
 * const client = new ServiceDiscoveryClient({ registry: new HttpRegistry({ url }) });
 * const res = await client.request('users', { method: 'GET', path: '/users/42' });
 * const user = await res.body.json();
 * await client.close();
 */
export class ServiceDiscoveryClient {
  readonly #options: ServiceDiscoveryClientOptions;
  readonly #views: ServiceViews;
  readonly #events: TypedEmitter<ClientEvents> = new ClientEmitter(this, {
    // A throwing listener is reported to `listenerError` listeners, or as a process warning.
    onListenerError: (error, event) => {
      if (event === 'listenerError' || !this.#events.hasListeners('listenerError')) {
        warnListenerError(error, event);
      } else {
        this.#events.emit('listenerError', { event, error });
      }
    },
  });
  readonly #pools: OriginPools;
  readonly #clock: Clock;
  readonly #unforward: () => void;
  /** Aborted by close(): ends the waits for a service's first list. */
  readonly #lifetime = new AbortController();
  /**
   * Calls waiting for a first list or observed by diagnostics; the executors count the others.
   * close() aborts them through their executors and waits until none is left, so a call adds
   * no listener to any signal.
   */
  #calls = 0;
  #drained: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: ServiceDiscoveryClientOptions) {
    validateClientOptions(options);
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#pools = new OriginPools(options); // throws for a tls option whose certificates do not load
    this.#unforward = forwardRegistryEvents(options.registry, this.#events);
    // Every wait for a first list listens here: no listener cap warning.
    setMaxListeners(0, this.#lifetime.signal);
    const hosts = new HostPolicy(options);
    this.#views = new ServiceViews({
      clock: this.#clock,
      maxServices: options.maxServices ?? DEFAULT_MAX_SERVICES,
      idleMs: options.serviceIdleMs ?? DEFAULT_SERVICE_IDLE_MS,
      create: (service) =>
        new ServiceView(service, serviceOptionsFor(this.#options, service), {
          registry: this.#options.registry,
          clock: this.#clock,
          events: this.#events,
          refreshMs: this.#options.refreshMs ?? 5_000,
          veto: (instance) => hosts.check(instance.host),
          zone: options.zone,
        }),
    });
  }

  /**
   * Runs `fn` against an instance of `service`. Failed attempts move to another instance when
   * that is safe (see `CallOptions.idempotent`); the last error is thrown when none is left.
   */
  callService<T>(
    service: string,
    fn: (instance: ServiceInstance, context: CallContext, headers?: Record<string, string>) => Promise<T>,
    options: CallOptions<T> = {},
  ): Promise<T> {
    return this.#run(service, fn, options, undefined);
  }

  /**
   * `callService` in callback form, for integrations that live in callbacks (the fetch
   * interceptor's undici handlers): `call.attempt(instance, attempt, headers)` starts each
   * attempt and ends it with `attempt.resolve(value)` or `attempt.reject(error)`; the call's
   * outcome goes to `call.resolve` or `call.reject`, exactly once. Same picks, retries, breakers
   * and budget as `callService`, without a promise per call or attempt.
   */
  dispatchCall<T>(service: string, call: DispatchedCall<T>, options: CallOptions<T> = {}): void {
    assertDispatchedCall(call);
    this.#dispatch(service, call, options, undefined);
  }

  /** A dispatched call (`dispatchCall`, `request`): straight to the executor when it can. */
  #dispatch<T>(
    service: string,
    call: DispatchedCall<T>,
    options: CallOptions<T>,
    request: HttpRequest | undefined,
  ): void {
    let view: ServiceView;
    try {
      view = this.#checkedView(service, call.attempt, options);
    } catch (error) {
      call.reject(error);
      return;
    }
    if (!view.hasInstances || diagnosticsWanted()) {
      this.#runWaiting(view, toAttemptFn(call), options, request).then(
        (value) => call.resolve(value),
        (error: unknown) => call.reject(error),
      );
      return;
    }
    view.refreshIfDue();
    view.dispatch(call, options, options.hashKey);
  }

  /**
   * Sends an HTTP request to an instance of `service` over a pooled undici connection.
   * GET, HEAD, OPTIONS, PUT and DELETE are idempotent unless `idempotent: false`; 429, 502,
   * 503 and 504 answers are retried on another instance and, if all attempts get one, the call
   * rejects with `AllAttemptsFailedError` whose `cause` is the last `HttpStatusError`. The
   * caller reads (or dumps) the returned body.
   */
  request(service: string, request: HttpRequest): Promise<HttpResponse> {
    const method = request.method ?? 'GET';
    const idempotent = request.idempotent ?? isIdempotentMethod(method);
    const options: CallOptions<HttpResponse> = {
      hashKey: request.hashKey,
      idempotent,
      signal: request.signal,
      hedgeAfterMs: request.hedgeAfterMs,
      succeeded: isNotServerError,
    };
    // A dispatched call: the caller's promise is the only one, settled by undici's callback.
    return new Promise<HttpResponse>((resolve, reject) => {
      this.#dispatch(service, new RequestCall(this.#pools, request, resolve, reject), options, request);
    });
  }

  /** The instances calls to `service` are balanced over now (discovered, up, healthy). */
  async getInstances(
    service: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<readonly ServiceInstance[]> {
    const view = this.#view(service);
    if (view.hasInstances) view.refreshIfDue();
    else {
      view.inflight++; // a view someone waits on is not released
      try {
        await this.#ready(view, options.signal);
      } finally {
        view.inflight--;
      }
    }
    return view.snapshot.instances;
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof ClientEvents & string>(
    event: K,
    listener: (payload: ClientEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * What the client knows of each service it has a view of, now: the balancer, panic mode,
   * and every discovered instance with its health, ejection, breaker state and load. Cheap
   * and synchronous (a dashboard polls it); nothing is resolved.
   */
  inspect(): ServiceInspection[] {
    return [...this.#views.entries()].map(([, view]) => view.inspect());
  }

  /** Counters per service: calls, attempts, retries, failures, and per-instance load. */
  stats(): Record<string, ServiceStats> {
    const result: Record<string, ServiceStats> = {};
    for (const [name, view] of this.#views.entries()) {
      result[name] = {
        ...view.stats(),
        instances: Object.fromEntries(
          view.snapshot.instances.map((instance) => {
            const load = view.load.of(instance);
            return [instance.id, { inflight: load.inflight, completed: load.completed, failed: load.failed }];
          }),
        ),
      };
    }
    return result;
  }

  /**
   * Aborts every call in flight (their signals fire with `ClientClosedError` as the reason),
   * waits until they have settled, then stops watches, health checks and timers and closes
   * every connection. Later calls reject with `ClientClosedError`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const reason = new ClientClosedError();
    this.#lifetime.abort(reason);
    const executors = [...this.#views.entries()].map(([, view]) => view.executor);
    for (const executor of executors) executor.close(reason);
    if (this.#calls > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    await Promise.all(executors.map((executor) => executor.idle()));
    const views = this.#views.drain();
    await Promise.all(views.map((view) => view.close()));
    await this.#pools.close();
    this.#unforward();
    this.#events.removeAllListeners();
  }

  /**
   * A call to a service whose view has instances and no diagnostics subscriber goes straight to
   * the view's executor: no async frame of its own (the executor counts it for close()).
   */
  #run<T>(
    service: string,
    fn: AttemptFn<T>,
    options: CallOptions<T>,
    request: HttpRequest | undefined,
  ): Promise<T> {
    let view: ServiceView;
    try {
      view = this.#checkedView(service, fn, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!view.hasInstances || diagnosticsWanted()) return this.#runWaiting(view, fn, options, request);
    view.refreshIfDue();
    return view.execute(fn, options, options.hashKey);
  }

  #checkedView<T>(service: string, fn: unknown, options: CallOptions<T>): ServiceView {
    if (this.#closed) throw new ClientClosedError(service);
    if (typeof fn !== 'function')
      throw new ValidationError('fn', 'expected a function (instance, context) => Promise');
    const view = this.#view(service);
    const { signal, hashKey } = options;
    if (signal?.aborted) throw abortReason(signal);
    if (view.balancer.requiresHashKey && (typeof hashKey !== 'string' || hashKey.length === 0)) {
      throw new ValidationError(
        'hashKey',
        `${service} uses ${view.balancer.name}: every call needs a hashKey`,
        {
          service,
        },
      );
    }
    return view;
  }

  /** A call that waits for the service's first list, or that diagnostics observe. */
  async #runWaiting<T>(
    view: ServiceView,
    fn: AttemptFn<T>,
    options: CallOptions<T>,
    request: HttpRequest | undefined,
  ): Promise<T> {
    const kind = callKind(options, request);
    const diagnostics = diagnosticsWanted()
      ? new CallDiagnostics({ client: this, service: view.service, ...kind }, () => this.#clock.now())
      : undefined;
    const status = kind.kind !== 'request' ? undefined : (options.http?.statusOf ?? statusOf);
    const run = diagnostics ? diagnostics.wrap(fn, options.succeeded, status) : fn;
    view.inflight++;
    this.#calls++;
    try {
      if (!view.hasInstances) await this.#ready(view, this.#untilClosed(options.signal));
      else view.refreshIfDue();
      const value = await view.execute(run, options, options.hashKey);
      diagnostics?.end();
      return value;
    } catch (error) {
      diagnostics?.end(error);
      throw error;
    } finally {
      view.inflight--;
      if (--this.#calls === 0) this.#drained?.();
    }
  }

  /** The caller's signal, also aborted by close(). */
  #untilClosed(signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined ? this.#lifetime.signal : AbortSignal.any([signal, this.#lifetime.signal]);
  }

  /** Waits for a view's first list; a service the registry does not know is released at once. */
  async #ready(view: ServiceView, signal: AbortSignal | undefined): Promise<void> {
    try {
      await view.ready(signal);
    } catch (error) {
      if (error instanceof ServiceNotFoundError && !view.hasInstances) this.#views.release(view, true);
      throw error;
    }
  }

  #view(service: string): ServiceView {
    if (this.#closed) throw new ClientClosedError(service);
    return this.#views.use(service);
  }
}

export interface ServiceStats extends ExecutorStats {
  readonly instances: Record<string, { inflight: number; completed: number; failed: number }>;
}

/**
 * Registries that report core's `RegistryEvents` (by extending TypedEmitter) have them
 * forwarded, so `client.on('registryStale', …)` works whatever the source.
 */
function forwardRegistryEvents(registry: Registry, events: TypedEmitter<ClientEvents>): () => void {
  if (!(registry instanceof TypedEmitter)) return () => {};
  const source = registry as TypedEmitter<RegistryEvents>;
  const offs = [
    source.on('registryStale', (event) => events.emit('registryStale', event)),
    source.on('registryRecovered', (event) => events.emit('registryRecovered', event)),
    source.on('invalidInstance', (event) => events.emit('invalidInstance', event)),
  ];
  return () => {
    for (const off of offs) off();
  };
}

/** For outlier detection, a 5xx answer counts against the instance that gave it. */
const isNotServerError = (response: HttpResponse): boolean => response.statusCode < 500;
const statusOf = (value: unknown): number => (value as HttpResponse).statusCode;

/** What diagnostics say of a call's kind. */
type CallKind =
  | { readonly kind: 'call' }
  | { readonly kind: 'request'; readonly method: string; readonly path: string };

/** What diagnostics say of a call: built only when they are wanted, not on every call. */
function callKind<T>(options: CallOptions<T>, request: HttpRequest | undefined): CallKind {
  if (request !== undefined) return { kind: 'request', method: request.method ?? 'GET', path: request.path };
  const http = options.http;
  return http ? { kind: 'request', method: http.method, path: http.path } : { kind: 'call' };
}
