import {
  type Registry,
  type ResolveOptions,
  type ServiceInstance,
  ServiceNotFoundError,
  SharedWatches,
  TypedEmitter,
  ValidationError,
  validateServiceName,
} from '@switchyard/core';
import type { KubernetesRegistryEvents } from './kubernetes-events.ts';
import { KubernetesHttp, ResourceExpired } from './kubernetes-http.ts';
import {
  type KubernetesRegistryOptions,
  type ResolvedKubernetesOptions,
  resolveKubernetesOptions,
} from './kubernetes-options.ts';
import { RejectionReporter } from './rejection-reporter.ts';
import { instancesFromSlices } from './slice-instances.ts';
import { listSlices } from './slice-list.ts';
import { SliceWatch } from './slice-watch.ts';

const neverAborted = new AbortController().signal;

/**
 * A Registry over Kubernetes EndpointSlices (`discovery.k8s.io/v1`): `resolve` lists the
 * slices labelled `kubernetes.io/service-name=<service>` in the namespace; `watch` lists them
 * once, then follows them with a watch (bookmarks, 410 → relist, a watchdog for silent
 * streams). Slices are merged and endpoints de-duplicated; ready endpoints are served, and
 * serving-but-terminating ones only while nothing is ready.
 *
 * @example
 * // In a pod whose service account may get/list/watch endpointslices:
 * const registry = new KubernetesRegistry({ port: 'http' });
 * const client = new ServiceDiscoveryClient({ registry });
 */
export class KubernetesRegistry extends TypedEmitter<KubernetesRegistryEvents> implements Registry {
  readonly #options: ResolvedKubernetesOptions;
  readonly #http: KubernetesHttp;
  readonly #reporter = new RejectionReporter((service, entry) =>
    this.emit('invalidInstance', { service, ...entry }),
  );
  readonly #watches = new SharedWatches(
    (service) => new SliceWatch(service, this.#options, this.#http, this, this.#reporter),
  );
  #closed = false;

  constructor(options: KubernetesRegistryOptions = {}) {
    super();
    this.#options = resolveKubernetesOptions(options);
    this.#http = new KubernetesHttp(this.#options);
  }

  /** The namespace whose Services this registry reads. */
  get namespace(): string {
    return this.#options.namespace;
  }

  /**
   * Lists the Service's slices now. A Service without any slice is unknown
   * (ServiceNotFoundError); one whose slices hold no usable endpoint resolves to `[]`.
   */
  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    validateServiceName(service);
    this.#assertOpen();
    const signal = options.signal ?? neverAborted;
    let state: Awaited<ReturnType<typeof listSlices>> | undefined;
    for (let attempt = 0; !state; attempt++) {
      try {
        state = await listSlices(this.#http, this.#options, service, signal);
      } catch (error) {
        // An expired `continue` token: list again from the start, once.
        if (!(error instanceof ResourceExpired) || attempt > 0) throw unwrap(error, service);
      }
    }
    if (state.slices.size === 0) throw new ServiceNotFoundError(service);
    const { instances, rejected } = instancesFromSlices(service, state.slices.values(), {
      port: this.#options.port,
      maxEndpoints: this.#options.maxEndpoints,
    });
    this.#reporter.report(service, rejected);
    return Object.freeze(instances);
  }

  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    validateServiceName(service);
    this.#assertOpen();
    return this.#watches.watch(service, listener);
  }

  /** Stops every watch, aborts requests in flight and closes the connection pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const watch of this.#watches.drain()) watch.close();
    this.removeAllListeners();
    await this.#http.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ValidationError('registry', 'this KubernetesRegistry is closed');
  }
}

function unwrap(error: unknown, service: string): unknown {
  return error instanceof ResourceExpired ? new ServiceNotFoundError(service, { cause: error }) : error;
}
