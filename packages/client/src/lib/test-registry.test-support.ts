import { type Registry, type ServiceInstance, ServiceNotFoundError, WatchFanout } from '@switchyard/core';

/**
 * A registry the test drives by hand: `push` sets a service's list (delivered to watchers at
 * once, as real adapters do), `watching` counts open watches. Lists are raw, unvalidated
 * values: what a buggy or hostile registry could hand out.
 */
export class PushRegistry implements Registry {
  readonly #lists = new Map<string, readonly unknown[]>();
  readonly #fanouts = new Map<string, WatchFanout>();
  resolves = 0;

  push(service: string, list: readonly unknown[]): void {
    this.#lists.set(service, list);
    this.#fanouts.get(service)?.publish(list as ServiceInstance[]);
  }

  async resolve(
    service: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<readonly ServiceInstance[]> {
    this.resolves++;
    options.signal?.throwIfAborted();
    const list = this.#lists.get(service);
    if (!list) throw new ServiceNotFoundError(service);
    return list as ServiceInstance[];
  }

  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    let fanout = this.#fanouts.get(service);
    if (!fanout) {
      fanout = new WatchFanout();
      this.#fanouts.set(service, fanout);
      const list = this.#lists.get(service);
      if (list) fanout.publish(list as ServiceInstance[]);
    }
    const owned = fanout;
    owned.add(listener);
    return () => {
      owned.remove(listener);
      if (owned.size === 0) this.#fanouts.delete(service);
    };
  }

  /** Services with at least one open watch. */
  get watching(): number {
    return this.#fanouts.size;
  }
}

/** A resolve-only view of `registry` (no watch): the client's polling path. */
export function resolveOnly(registry: Registry): Registry {
  return { resolve: (service, options) => registry.resolve(service, options) };
}

export const instance = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id,
  service: 'users',
  host: '127.0.0.1',
  port: 8000 + Number(id.replace(/\D/g, '') || 0),
  ...extra,
});
