import type { ServiceInstance } from './service-instance.ts';
import type { WatchFanout } from './watch-fanout.ts';

/** What a registry runs per watched service: its loop, and the fan-out it publishes to. */
export interface WatchSource {
  readonly fanout: WatchFanout;
  /** Stops the loop (timers, requests, streams); may be async. */
  close(): unknown;
}

/**
 * One watch source per service, shared by all of its listeners: started by the first `watch`,
 * closed when the last listener unsubscribes. This is the bookkeeping behind `Registry.watch`
 * for adapters whose source is costly (a blocking query, an etcd stream, a DNS timer).
 *
 * @example
 * readonly #watches = new SharedWatches((service) => new ConsulWatch(service, this.#options, this));
 * watch(service, listener) {
 *   return this.#watches.watch(service, listener);
 * }
 */
export class SharedWatches<S extends WatchSource> {
  readonly #sources = new Map<string, S>();
  readonly #start: (service: string) => S;

  constructor(start: (service: string) => S) {
    this.#start = start;
  }

  /** Attaches `listener` to the service's source (starting it when needed); returns the unsubscribe. */
  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    let source = this.#sources.get(service);
    if (!source) {
      source = this.#start(service);
      this.#sources.set(service, source);
    }
    const owned = source;
    owned.fanout.add(listener);
    return () => {
      owned.fanout.remove(listener);
      // A source replaced after close() or a restart is not ours to stop.
      if (owned.fanout.size === 0 && this.#sources.get(service) === owned) {
        this.#sources.delete(service);
        void owned.close();
      }
    };
  }

  /** Forgets every source and returns them, for the owner's `close()` to stop (and await). */
  drain(): S[] {
    const sources = [...this.#sources.values()];
    this.#sources.clear();
    return sources;
  }
}
