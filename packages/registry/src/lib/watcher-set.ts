import type { ServiceInstance } from '@switchyard/core';

type Listener = (instances: readonly ServiceInstance[]) => void;

/**
 * Watch listeners by service, with in-order delivery: a listener that registers or watches from
 * inside its callback queues new deliveries behind the current ones instead of nesting them, so
 * every listener sees the lists in the order they were published.
 */
export class WatcherSet {
  readonly #byService = new Map<string, Set<Listener>>();
  readonly #queue: Array<{ listener: Listener; service: string; instances: readonly ServiceInstance[] }> = [];
  #draining = false;

  /** Adds a listener and delivers `current` to it; returns the unsubscribe function. */
  add(service: string, listener: Listener, current: readonly ServiceInstance[]): () => void {
    // Wrap so that the same function watching twice gets two independent subscriptions.
    const entry: Listener = (instances) => listener(instances);
    let set = this.#byService.get(service);
    if (!set) {
      set = new Set();
      this.#byService.set(service, set);
    }
    set.add(entry);
    this.#queue.push({ listener: entry, service, instances: current });
    this.#drain();
    return () => {
      const listeners = this.#byService.get(service);
      listeners?.delete(entry);
      if (listeners?.size === 0) this.#byService.delete(service);
    };
  }

  /** Whether anyone watches the service (so a change need not build a list nobody reads). */
  listening(service: string): boolean {
    return this.#byService.has(service);
  }

  notify(service: string, instances: readonly ServiceInstance[]): void {
    const set = this.#byService.get(service);
    if (!set) return;
    for (const listener of set) this.#queue.push({ listener, service, instances });
    this.#drain();
  }

  clear(): void {
    this.#byService.clear();
    this.#queue.length = 0;
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let item = this.#queue.shift(); item; item = this.#queue.shift()) {
        // Skip deliveries to listeners that unsubscribed while queued.
        if (!this.#byService.get(item.service)?.has(item.listener)) continue;
        try {
          item.listener(item.instances);
        } catch (error) {
          // A faulty listener must not stop the registry nor the other listeners; surface it.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}
